"""Factories for annotation models: minimal valid defaults (STYLE.md §7)."""
from __future__ import annotations

import factory

from annotation.models import Label, LabelSchema, LabelValue, Phrase, PhraseKind, SoftLabel
from tests.reports.factories import ReportFactory


class LabelSchemaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabelSchema
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"schema-{n}")
    builtin = False


class LabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Label

    schema = factory.SubFactory(LabelSchemaFactory)
    name = factory.Sequence(lambda n: f"Finding {n}")
    order = factory.Sequence(lambda n: n)
    color = "#1f77b4"


class PhraseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phrase

    label = factory.SubFactory(LabelFactory)
    text = factory.Sequence(lambda n: f"phrase{n}")
    kind = PhraseKind.MENTION
    enabled = True
    order = factory.Sequence(lambda n: n)
    precision = None


class SoftLabelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SoftLabel

    report = factory.SubFactory(ReportFactory)
    label = factory.SubFactory(LabelFactory)
    value = LabelValue.POSITIVE
    p = 0.9
    engine_version = "test"
    phrase_set_hash = "0" * 64
    evidence = factory.LazyFunction(list)
