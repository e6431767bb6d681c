"""Django admin: the row history, read-only (staff with the view permission; superusers)."""
from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from config.models import RowHistory


@admin.register(RowHistory)
class RowHistoryAdmin(admin.ModelAdmin):
    """A row's history: filter by table, search `=<row id>`; written only by database triggers."""

    list_display = ("at", "table_name", "row_id", "operation", "actor")
    list_filter = ("table_name", "operation")
    search_fields = ("=row_id",)
    date_hierarchy = "at"
    fields = ("table_name", "row_id", "operation", "at", "actor", "before", "after")
    # One join for the page rather than a query per row.
    list_select_related = ("actor",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RowHistory | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RowHistory | None = None) -> bool:
        return False
