"""The demo's seeding steps, run in order by `manage.py seed_demo`.

`make run` calls the command on every start, so every step is idempotent: users, protocol and
memberships are looked up before they are created, only reports whose accession is missing are
imported, and soft labels are computed only for reports that have none. A second run changes
nothing.

A step is a function of the shared `DemoRun`; to add one (say, demo confirmations), write the
function and add it to STEPS.

The reports come from `annotation.engine.synthetic.generate_reports`: the project writes its own
text (normal studies, findings, negations, hedges), so no real patient data ever ships with it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import CommandError
from django.utils import timezone

from reports.models import Membership, Protocol, ProtocolStatus, Role, Study
from reports.services.access import membership_grant, membership_revoke, protocol_save

DEMO_IRB = "IRB-DEMO-0001"
DEMO_ACCESSION_PREFIX = "DEMO"
# Who is on the demo protocol, in which role. `admin` manages protocols and is on none;
# `outsider` is on none either, so it must see no study at all.
DEMO_MEMBERS = {
    "curator": Role.CURATOR,
    "radiologist": Role.RADIOLOGIST,
    "scientist": Role.DATA_SCIENTIST,
}
DEMO_USERNAMES = ("admin", "curator", "radiologist", "scientist", "outsider")
PASSWORD_FILE = "demo_password"
# The demo's X-ray room had a software update this many days ago; the demo model's outputs
# drift after it (config/demo/monitoring.py), so the Monitoring page shows a change and its cause.
OLD_SOFTWARE, NEW_SOFTWARE = "VA10", "VB20"
SOFTWARE_UPDATE_DAYS_AGO = 120


@dataclass
class DemoRun:
    """What the steps share: the command's options, and what earlier steps made."""

    reports: int
    seed: int
    labels: bool
    say: Callable[[str], None]
    password: str = ""
    password_source: str = ""
    users: dict[str, AbstractBaseUser] = field(default_factory=dict)
    protocol: Protocol | None = None
    imported: int = 0

    @property
    def admin(self) -> AbstractBaseUser:
        return self.users["admin"]

    @property
    def demo_protocol(self) -> Protocol:
        assert self.protocol is not None, "seed_protocol runs before the steps that need it"
        return self.protocol


@dataclass(frozen=True)
class DemoStudy:
    accession: str
    patient: str
    study_date: dt.date
    modality: str
    text: str
    software_version: str = OLD_SOFTWARE

    def as_row(self) -> dict[str, Any]:
        return {
            "accession": self.accession,
            "patient": self.patient,
            "modality": self.modality,
            "body_part": "CHEST",
            "study_date": self.study_date.isoformat(),
            "text": self.text,
            "manufacturer": "Acme Imaging",
            "model": "DR-500",
            "station": "CXR-1",
            "software_version": self.software_version,
        }


def demo_password() -> tuple[str, str]:
    """The demo password and where it came from: $DEMO_PASSWORD, else one kept in var/.

    A generated password is written once (mode 0600) so every later `make run` prints and
    accepts the same one.
    """
    from_env = os.environ.get("DEMO_PASSWORD", "")
    if from_env:
        return from_env, "DEMO_PASSWORD"
    path = Path(settings.VAR_DIR) / PASSWORD_FILE
    if path.exists() and path.read_text().strip():
        return path.read_text().strip(), str(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password, f"{path} (generated)"


def demo_studies(*, count: int, seed: int, today: dt.date) -> list[DemoStudy]:
    """Synthetic studies: about 1.6 studies a patient, spread over the last 18 months."""
    from annotation.engine.synthetic import generate_reports

    texts = generate_reports(count, seed=seed)
    rng = random.Random(seed)
    patients = max(1, round(count / 1.6))
    studies = []
    for index, text in enumerate(texts):
        # Drawn in this order whatever else a study gets, so the demo's texts, patients and
        # dates stay what they were before the studies carried equipment.
        patient = f"DEMO-P{rng.randrange(patients) + 1:05d}"
        days_ago = rng.randrange(540)
        studies.append(
            DemoStudy(
                accession=f"{DEMO_ACCESSION_PREFIX}{index + 1:06d}",
                patient=patient,
                study_date=today - dt.timedelta(days=days_ago),
                modality=rng.choice(("CR", "DX")),
                text=text,
                software_version=NEW_SOFTWARE if days_ago < SOFTWARE_UPDATE_DAYS_AGO else OLD_SOFTWARE,
            )
        )
    return studies


def seed_users(run: DemoRun) -> None:
    run.password, run.password_source = demo_password()
    run.users = {name: _user(name, run.password) for name in DEMO_USERNAMES}


def seed_protocol(run: DemoRun) -> None:
    today = timezone.localdate()
    protocol = Protocol.objects.filter(irb_number=DEMO_IRB).first()
    if protocol is not None and protocol.is_active_on(today):
        run.protocol = protocol
        return
    if protocol is None:
        protocol = Protocol(
            irb_number=DEMO_IRB,
            title="Chest X-ray soft labels (demo, synthetic reports)",
            principal_investigator="Dr. Demo Investigator",
            # Two readers per study (radiologist and curator), so the demo shows agreement,
            # disagreements and the adjudication queue.
            readers_per_study=2,
        )
    # New, or a demo left unused until it expired: (re)approve it for a year from today.
    protocol.status = ProtocolStatus.APPROVED
    protocol.approved_on = today - dt.timedelta(days=1)
    protocol.expires_on = today + dt.timedelta(days=365)
    run.protocol = protocol_save(actor=run.admin, protocol=protocol, channel="command")


def seed_memberships(run: DemoRun) -> None:
    today = timezone.localdate()
    for username, role in DEMO_MEMBERS.items():
        user = run.users[username]
        live = Membership.objects.filter(
            user=user, protocol=run.demo_protocol, revoked_at__isnull=True
        ).first()
        if live is not None and live.is_active_on(today):
            continue
        if live is not None:
            # An expired demo membership: end it for the record and grant a fresh one.
            membership_revoke(actor=run.admin, membership=live, channel="command")
        membership_grant(
            actor=run.admin,
            protocol=run.demo_protocol,
            user=user,
            role=role,
            valid_from=today - dt.timedelta(days=1),
            valid_to=today + dt.timedelta(days=365),
            channel="command",
        )


def seed_reports(run: DemoRun) -> None:
    """Import the synthetic reports whose accession is not there yet."""
    if run.reports == 0:
        return
    existing = set(
        Study.objects.filter(
            protocol=run.demo_protocol, accession__startswith=DEMO_ACCESSION_PREFIX
        ).values_list("accession", flat=True)
    )
    wanted = demo_studies(count=run.reports, seed=run.seed, today=timezone.localdate())
    missing = [study for study in wanted if study.accession not in existing]
    if not missing:
        return
    import_demo_rows(
        actor=run.admin, protocol=run.demo_protocol, rows=[study.as_row() for study in missing]
    )
    run.imported = len(missing)


def seed_soft_labels(run: DemoRun) -> None:
    """Soft-label after an import, or when an earlier run stopped before labelling."""
    if not run.labels:
        return
    # Imported here: the engine loads spaCy, which only this step needs.
    from annotation.models import SoftLabel
    from annotation.services.relabel import relabel_start
    from annotation.tasks import relabel_protocol_task
    from reports.models import JobStatus

    protocol = run.demo_protocol
    if run.imported or not SoftLabel.objects.filter(report__study__protocol=protocol).exists():
        # The import queued a relabel job (annotation's import listener); run it here rather than
        # wait for the worker `make run` starts next, so the demo opens labelled. The worker's
        # later delivery of the same job finds it finished and does nothing.
        job = relabel_start(protocol=protocol, actor=None, enqueue=lambda job_id: None)
        if job.status != JobStatus.QUEUED:
            run.say(f"Soft labels: relabel job {job.pk} is already {job.status}.")
            return
        started = time.monotonic()
        relabel_protocol_task(job.pk)
        seconds = time.monotonic() - started
        job.refresh_from_db()
        counts = job.result or {}
        run.say(
            f"Soft labels: {counts.get('written', 0)} written for {counts.get('reports', 0)} reports "
            f"in {seconds:.1f} s (job {job.pk} {job.status})."
        )


def seed_confirmations(run: DemoRun) -> None:
    """A third of the studies read by both readers (config/demo/confirmations.py)."""
    from config.demo.confirmations import seed_confirmations as seed

    seed(run)


def seed_images(run: DemoRun) -> None:
    """A chest CT phantom for a dozen studies, so the reading screen shows images (config/demo/images.py)."""
    from config.demo.images import seed_images as seed

    seed(run)


def seed_monitoring(run: DemoRun) -> None:
    """A deployed model with outputs, agreement charts and an alert (config/demo/monitoring.py)."""
    from config.demo.monitoring import seed_monitoring as seed

    seed(run)


# The order matters: each step may use what the ones before it made.
STEPS: tuple[Callable[[DemoRun], None], ...] = (
    seed_users,
    seed_protocol,
    seed_memberships,
    seed_reports,
    seed_soft_labels,
    seed_confirmations,
    seed_images,
    seed_monitoring,
)


def import_demo_rows(
    *, actor: AbstractBaseUser, protocol: Protocol, rows: list[dict[str, Any]]
) -> None:
    """Import rows through the service an uploaded file goes through, so demo data is real data."""
    from reports.services.imports import ImportRejected, report_import

    with tempfile.TemporaryDirectory(prefix="radlabel-demo-") as folder:
        path = Path(folder) / "demo.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        try:
            report_import(protocol=protocol, path=path, fmt="jsonl", actor=actor, channel="command")
        except ImportRejected as rejected:
            problems = "; ".join(str(error) for error in rejected.errors[:5])
            raise CommandError(
                f"The demo reports were refused by the importer: {problems}"
            ) from None


def _user(username: str, password: str) -> AbstractBaseUser:
    is_admin = username == "admin"
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={
            "is_staff": is_admin,
            "is_superuser": is_admin,
            "email": f"{username}@example.org",
        },
    )
    # Checked before set, so an unchanged password is not rehashed (a rerun changes nothing),
    # while a new DEMO_PASSWORD takes effect on the next run.
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    if is_admin and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user
