from __future__ import annotations

import datetime as dt
import hashlib

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from reports.models import Membership, Patient, Protocol, ProtocolStatus, Report, Role, Study


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class ProtocolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Protocol

    irb_number = factory.Sequence(lambda n: f"IRB-{2026000 + n}")
    title = factory.Sequence(lambda n: f"Chest X-ray labelling {n}")
    principal_investigator = "Dr. Ada Rivera"
    status = ProtocolStatus.APPROVED
    approved_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=365))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    protocol = factory.SubFactory(ProtocolFactory)
    role = Role.RADIOLOGIST
    valid_from = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=1))


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    protocol = factory.SubFactory(ProtocolFactory)
    pseudonym = factory.Sequence(lambda n: f"P{n:06d}")


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    protocol = factory.SubFactory(ProtocolFactory)
    patient = factory.SubFactory(PatientFactory, protocol=factory.SelfAttribute("..protocol"))
    accession = factory.Sequence(lambda n: f"ACC{n:08d}")
    modality = "CR"
    body_part = "CHEST"
    study_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=3))


REPORT_TEXT = (
    "INDICATION: Cough.\n\nFINDINGS: The heart size is normal. There is a small left pleural effusion. "
    "No pneumothorax.\n\nIMPRESSION: Small left pleural effusion."
)


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    study = factory.SubFactory(StudyFactory)
    text = REPORT_TEXT
    text_sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.text.encode()).hexdigest())
    sections = factory.LazyAttribute(lambda o: [["findings", 0, len(o.text)]])
    signed_at = factory.LazyFunction(timezone.now)
