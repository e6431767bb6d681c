"""seed_demo: the data `make run` starts with, idempotent, with the access the README promises."""
from __future__ import annotations

import datetime as dt
import io
import stat

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotation.models import SoftLabel
from config.demo.seed import DEMO_IRB, demo_studies
from reports.models import AccessEvent, Membership, Patient, Protocol, Report, Role, Study

pytestmark = pytest.mark.django_db

REPORTS = "24"


@pytest.fixture(autouse=True)
def _private_var_dir(settings, tmp_path, monkeypatch):
    settings.VAR_DIR = tmp_path
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


def _seed(*extra: str) -> None:
    call_command("seed_demo", "--reports", REPORTS, *extra, stdout=io.StringIO())


def _snapshot() -> dict[str, object]:
    User = get_user_model()
    return {
        "users": list(User.objects.order_by("username").values_list("username", "password", "is_staff", "is_superuser")),
        "protocols": list(Protocol.objects.values_list("irb_number", "status", "approved_on", "expires_on")),
        "memberships": list(Membership.objects.order_by("id").values_list("user__username", "role", "valid_to", "revoked_at")),
        "patients": Patient.objects.count(),
        "studies": list(Study.objects.order_by("accession").values_list("accession", "study_date", "patient__pseudonym")),
        "reports": list(Report.objects.order_by("id").values_list("text_sha256", "revision")),
        "soft_labels": SoftLabel.objects.count(),
        "audit_rows": AccessEvent.objects.count(),
    }


def test_seeding_twice_changes_nothing(monkeypatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password-1")
    _seed()
    first = _snapshot()
    _seed()

    assert _snapshot() == first
    assert len(first["studies"]) == int(REPORTS)
    assert first["soft_labels"] > 0


def test_every_demo_user_signs_in_with_demo_password(monkeypatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "first-password")
    _seed()
    monkeypatch.setenv("DEMO_PASSWORD", "second-password")
    _seed()

    for user in get_user_model().objects.all():
        assert user.check_password("second-password"), user.username
        assert not user.check_password("first-password"), user.username
    assert get_user_model().objects.count() == 5


def test_a_generated_password_is_kept_private_and_reused(settings) -> None:
    _seed()
    path = settings.VAR_DIR / "demo_password"
    password = path.read_text().strip()
    _seed()

    assert len(password) >= 12
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == password
    assert get_user_model().objects.get(username="radiologist").check_password(password)


def test_members_see_the_demo_studies_and_outsider_and_admin_see_none() -> None:
    _seed()
    User = get_user_model()
    users = {user.username: user for user in User.objects.all()}
    protocol = Protocol.objects.get(irb_number=DEMO_IRB)

    assert protocol.is_active_on(protocol.approved_on)
    # Radiologist and curator both read each study, so agreement and adjudication have data.
    assert protocol.readers_per_study == 2
    roles = dict(Membership.objects.filter(protocol=protocol).values_list("user__username", "role"))
    assert roles == {"curator": Role.CURATOR, "radiologist": Role.RADIOLOGIST, "scientist": Role.DATA_SCIENTIST}
    for username in ("curator", "radiologist", "scientist"):
        assert Study.objects.visible_to(users[username]).count() == int(REPORTS)
    assert not Membership.objects.filter(user__username__in=["outsider", "admin"]).exists()
    assert Study.objects.visible_to(users["outsider"]).count() == 0
    assert Study.objects.visible_to(users["admin"]).count() == 0
    assert users["admin"].is_staff
    assert users["admin"].is_superuser
    assert not users["radiologist"].is_staff


def test_a_run_interrupted_before_labelling_is_completed_by_the_next() -> None:
    _seed("--no-labels")
    assert not SoftLabel.objects.exists()
    _seed()

    labelled = Report.objects.filter(soft_labels__isnull=False).distinct().count()
    assert labelled >= int(REPORTS) * 0.9


def test_access_changes_are_audited_once() -> None:
    _seed()
    _seed()

    assert AccessEvent.objects.filter(action="access.grant").count() == 3
    assert AccessEvent.objects.filter(action="protocol.change").count() == 1


def test_demo_reports_hold_normal_studies_findings_negations_and_hedges() -> None:
    studies = demo_studies(count=300, seed=0, today=dt.date(2026, 1, 1))
    texts = [study.text.lower() for study in studies]

    assert len(set(texts)) > 250
    assert 100 < len({study.patient for study in studies}) < 300
    assert any(" no " in text or "without" in text for text in texts)
    assert any("may " in text or "possible" in text or "cannot be excluded" in text for text in texts)
    assert any("effusion" in text or "pneumothorax" in text or "consolidation" in text for text in texts)
