"""Admin for label schemas, labels and phrases. Soft labels stay out: they sit next to report text."""
from __future__ import annotations

from django.contrib import admin

from annotation.models import Label, LabelSchema, Phrase


class LabelInline(admin.TabularInline):
    model = Label
    fields = ("name", "order", "color")
    extra = 0
    show_change_link = True


class PhraseInline(admin.TabularInline):
    model = Phrase
    fields = ("text", "kind", "enabled", "order", "precision")
    extra = 1


@admin.register(LabelSchema)
class LabelSchemaAdmin(admin.ModelAdmin):
    list_display = ("name", "builtin", "updated_at")
    list_filter = ("builtin",)
    search_fields = ("name", "description")
    readonly_fields = ("created_at", "updated_at")
    inlines = [LabelInline]


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ("name", "schema", "order", "color")
    list_filter = ("schema",)
    search_fields = ("name", "phrases__text")
    list_select_related = ("schema",)
    inlines = [PhraseInline]


@admin.register(Phrase)
class PhraseAdmin(admin.ModelAdmin):
    list_display = ("text", "label", "kind", "enabled", "order", "precision")
    list_filter = ("kind", "enabled", "label__schema")
    list_editable = ("enabled",)
    search_fields = ("text", "label__name")
    list_select_related = ("label", "label__schema")
