"""Seed the demo: five users, one approved protocol and a few hundred synthetic chest X-ray reports.

`make run` calls this on every start, so it is idempotent: users, protocol and memberships are
looked up before they are created, only reports whose accession is missing are imported, and soft
labels are computed only for reports that have none. A second run changes nothing.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from reports.models import Membership, Protocol, ProtocolStatus, Role, Study
from reports.services.access import membership_grant, membership_revoke, protocol_save

DEMO_IRB = "IRB-DEMO-0001"
DEMO_ACCESSION_PREFIX = "DEMO"
# Who is on the demo protocol, in which role. `admin` manages protocols and is on none;
# `outsider` is on none either, so it must see no study at all.
DEMO_MEMBERS = {"curator": Role.CURATOR, "radiologist": Role.RADIOLOGIST, "scientist": Role.DATA_SCIENTIST}
DEMO_USERNAMES = ("admin", "curator", "radiologist", "scientist", "outsider")
PASSWORD_FILE = "demo_password"


@dataclass(frozen=True)
class DemoStudy:
    accession: str
    patient: str
    study_date: dt.date
    modality: str
    text: str

    def as_row(self) -> dict[str, Any]:
        return {
            "accession": self.accession,
            "patient": self.patient,
            "modality": self.modality,
            "body_part": "CHEST",
            "study_date": self.study_date.isoformat(),
            "text": self.text,
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
    return [
        DemoStudy(
            accession=f"{DEMO_ACCESSION_PREFIX}{index + 1:06d}",
            patient=f"DEMO-P{rng.randrange(patients) + 1:05d}",
            study_date=today - dt.timedelta(days=rng.randrange(540)),
            modality=rng.choice(("CR", "DX")),
            text=text,
        )
        for index, text in enumerate(texts)
    ]


class Command(BaseCommand):
    help = "Create the demo users, protocol and synthetic reports (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reports", type=int, default=300, help="How many synthetic reports (default 300).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the report generator (default 0).")
        parser.add_argument("--no-labels", action="store_true", help="Skip computing soft labels.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reports"] < 0:
            raise CommandError("--reports must be 0 or more.")
        password, source = demo_password()
        users = {name: self._user(name, password) for name in DEMO_USERNAMES}
        admin = users["admin"]
        protocol = self._protocol(admin)
        for username, role in DEMO_MEMBERS.items():
            self._membership(admin, protocol, users[username], role)

        imported = self._import_missing(admin, protocol, count=options["reports"], seed=options["seed"])
        if not options["no_labels"]:
            self._label(protocol, imported=imported)

        studies = Study.objects.filter(protocol=protocol).count()
        self.stdout.write(
            f"Demo protocol {DEMO_IRB}: {studies} studies ({imported} imported now). "
            f"Users: {', '.join(DEMO_USERNAMES)}; password from {source}."
        )

    def _user(self, username: str, password: str) -> AbstractBaseUser:
        is_admin = username == "admin"
        user, created = get_user_model().objects.get_or_create(
            username=username,
            defaults={"is_staff": is_admin, "is_superuser": is_admin, "email": f"{username}@example.org"},
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

    def _protocol(self, admin: AbstractBaseUser) -> Protocol:
        today = timezone.localdate()
        protocol = Protocol.objects.filter(irb_number=DEMO_IRB).first()
        if protocol is not None and protocol.is_active_on(today):
            return protocol
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
        return protocol_save(actor=admin, protocol=protocol, channel="command")

    def _membership(self, admin: AbstractBaseUser, protocol: Protocol, user: AbstractBaseUser, role: str) -> None:
        today = timezone.localdate()
        live = Membership.objects.filter(user=user, protocol=protocol, revoked_at__isnull=True).first()
        if live is not None and live.is_active_on(today):
            return
        if live is not None:
            # An expired demo membership: end it for the record and grant a fresh one.
            membership_revoke(actor=admin, membership=live, channel="command")
        membership_grant(
            actor=admin, protocol=protocol, user=user, role=role,
            valid_from=today - dt.timedelta(days=1), valid_to=today + dt.timedelta(days=365), channel="command",
        )

    def _import_missing(self, admin: AbstractBaseUser, protocol: Protocol, *, count: int, seed: int) -> int:
        if count == 0:
            return 0
        existing = set(
            Study.objects.filter(protocol=protocol, accession__startswith=DEMO_ACCESSION_PREFIX).values_list(
                "accession", flat=True
            )
        )
        wanted = demo_studies(count=count, seed=seed, today=timezone.localdate())
        missing = [study for study in wanted if study.accession not in existing]
        if not missing:
            return 0
        import_demo_rows(actor=admin, protocol=protocol, rows=[study.as_row() for study in missing])
        return len(missing)

    def _label(self, protocol: Protocol, *, imported: int) -> None:
        """Soft-label after an import, or when an earlier run stopped before labelling."""
        # Imported here: the engine loads spaCy, which only this step needs.
        from annotation.models import SoftLabel
        from annotation.services.relabel import relabel_protocol

        if imported or not SoftLabel.objects.filter(report__study__protocol=protocol).exists():
            counts = relabel_protocol(protocol=protocol)
            self.stdout.write(
                f"Soft labels: {counts['written']} written for {counts['reports']} reports in {counts['seconds']} s."
            )


def import_demo_rows(*, actor: AbstractBaseUser, protocol: Protocol, rows: list[dict[str, Any]]) -> None:
    """Import rows through the service an uploaded file goes through, so demo data is real data."""
    from reports.services.imports import ImportRejected, report_import

    with tempfile.TemporaryDirectory(prefix="radlabel-demo-") as folder:
        path = Path(folder) / "demo.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        try:
            report_import(protocol=protocol, path=path, fmt="jsonl", actor=actor, channel="command")
        except ImportRejected as rejected:
            problems = "; ".join(str(error) for error in rejected.errors[:5])
            raise CommandError(f"The demo reports were refused by the importer: {problems}") from None
