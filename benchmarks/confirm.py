"""The confirm-and-next benchmark on a protocol of N synthetic studies (issue 4: p95 < 50 ms).

    python manage.py bench_confirm --studies 100000 --iterations 300

Creates a temporary protocol (bulk inserts), signs a reader in, and times the real htmx request
a reader's Enter key sends: POST /read/<id>/confirm/ answered with the next study's panel
(confirm transaction + queue choice under lease + page render + audit rows), in process through
the whole middleware stack, so it is server time without the network. Afterwards the studies,
labels and confirmations are deleted; the protocol and the user stay (closed, inactive) because
the append-only audit log refers to them.
"""
from __future__ import annotations

import hashlib
import random
import re
import secrets
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotation.engine.sections import split_sections
from annotation.models import (
    Confirmation,
    ConfirmationLabel,
    Label,
    LabelSchema,
    QueueLease,
    SoftLabel,
)
from annotation.selectors.queue import queue_candidates
from reports.models import Membership, Protocol, ProtocolStatus, Report, Role, Study

LABELS = [
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Lesion", "Lung Opacity", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
    "Fracture", "Support Devices",
]
# (text, [(label, phrase, value, modifiers)]): offsets are found in the text, as the engine would.
TEMPLATES = [
    (
        "INDICATION: Shortness of breath.\n\nFINDINGS: Heart size is enlarged. There is a small left pleural "
        "effusion. No pneumothorax.\n\nIMPRESSION: Cardiomegaly with small left pleural effusion.",
        [("Cardiomegaly", "Cardiomegaly", "positive", []), ("Pleural Effusion", "pleural effusion", "positive", []),
         ("Pneumothorax", "pneumothorax", "negative", ["NEGATED_EXISTENCE"])],
    ),
    (
        "INDICATION: Fever.\n\nFINDINGS: Patchy opacity in the right lower lobe, possibly pneumonia. "
        "No pleural effusion.\n\nIMPRESSION: Possible right lower lobe pneumonia.",
        [("Lung Opacity", "opacity", "positive", []), ("Pneumonia", "pneumonia", "uncertain", ["POSSIBLE_EXISTENCE"]),
         ("Pleural Effusion", "pleural effusion", "negative", ["NEGATED_EXISTENCE"])],
    ),
    (
        "FINDINGS: Endotracheal tube in place. Small apical pneumothorax cannot be excluded.\n\n"
        "IMPRESSION: Support devices as above; possible small pneumothorax.",
        [("Support Devices", "Endotracheal tube", "positive", []),
         ("Pneumothorax", "pneumothorax", "uncertain", ["POSSIBLE_EXISTENCE"])],
    ),
]
_PANEL = re.compile(r'id="read-panel"[^>]*data-study="(\d+)" data-version="(\d+)"')


def bench_confirm(
    *, studies: int, iterations: int, write: Callable[[str], None], seed: int = 0, keep: bool = False
) -> None:
    """Populate, time `iterations` confirm-and-next requests, print median and p95, clean up."""
    _ConfirmBench(write).run(studies=studies, iterations=iterations, seed=seed, keep=keep)


class _ConfirmBench:
    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def run(self, *, studies: int, iterations: int, seed: int, keep: bool) -> None:
        rng = random.Random(seed)
        tag = secrets.token_hex(4)
        started = time.perf_counter()
        protocol, reader = self._populate(studies=studies, rng=rng, tag=tag)
        self.write(f"populated {studies} studies in {time.perf_counter() - started:.1f}s ({connection.vendor})")
        try:
            if connection.vendor == "postgresql":
                self._explain(protocol, reader)
            timings = self._measure(protocol=protocol, reader=reader, iterations=iterations)
        finally:
            if not keep:
                self._cleanup(protocol, reader)
        timings.sort()
        p95 = timings[max(0, int(round(0.95 * len(timings))) - 1)]
        self.write(
            f"confirm-and-next over {len(timings)} requests, {studies} studies: "
            f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
        )

    def _populate(self, *, studies: int, rng: random.Random, tag: str) -> tuple[Protocol, Any]:
        today = timezone.localdate()
        with transaction.atomic():
            schema = LabelSchema.objects.create(name=f"bench-confirm-{tag}")
            labels = {
                name: Label.objects.create(schema=schema, name=name, order=i) for i, name in enumerate(LABELS)
            }
            protocol = Protocol.objects.create(
                irb_number=f"BENCH-{tag}", title="confirm-and-next benchmark", principal_investigator="bench",
                status=ProtocolStatus.APPROVED, approved_on=today, label_schema=schema,
            )
            reader = get_user_model().objects.create_user(username=f"bench-reader-{tag}")
            Membership.objects.create(user=reader, protocol=protocol, role=Role.RADIOLOGIST, valid_from=today)
        batch = 5000
        for offset in range(0, studies, batch):
            with transaction.atomic():
                size = min(batch, studies - offset)
                made = Study.objects.bulk_create(
                    Study(protocol=protocol, accession=f"B{offset + i:08d}", modality="CR", informativeness=rng.random())
                    for i in range(size)
                )
                if connection.vendor != "postgresql":  # bulk_create returns no ids on older SQLite
                    made = list(Study.objects.filter(protocol=protocol).order_by("-id")[:size])
                choices = [TEMPLATES[rng.randrange(len(TEMPLATES))] for _ in made]
                reports = Report.objects.bulk_create(
                    Report(study=study, text=text, text_sha256=hashlib.sha256(text.encode()).hexdigest(), sections=[[sec.name, sec.start, sec.end] for sec in split_sections(text)])
                    for study, (text, _) in zip(made, choices, strict=True)
                )
                if connection.vendor != "postgresql":
                    by_study = dict(Report.objects.filter(study__in=made).values_list("study_id", "pk"))
                    reports = [Report(pk=by_study[s.pk], study=s) for s in made]
                SoftLabel.objects.bulk_create(
                    SoftLabel(
                        report=report, label=labels[name], value=value,
                        p={"positive": 0.9, "negative": 0.1, "uncertain": 0.5}[value] * rng.uniform(0.8, 1.0),
                        engine_version="bench", phrase_set_hash="0" * 64,
                        evidence=[{"start": text.index(phrase), "end": text.index(phrase) + len(phrase), "phrase": phrase.lower(),
                                   "modifiers": mods, "section": "findings"}],
                    )
                    for report, (text, spans) in zip(reports, choices, strict=True)
                    for name, phrase, value, mods in spans
                )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE reports_study; ANALYZE reports_report; ANALYZE annotation_softlabel")
        return protocol, reader

    def _explain(self, protocol: Protocol, reader: Any) -> None:
        with transaction.atomic():
            qs = queue_candidates(protocol=protocol, reader=reader).select_for_update(skip_locked=True, of=("self",))
            sql = qs[:1].explain(analyze=True)
        self.write("queue query plan:\n  " + sql.replace("\n", "\n  "))

    def _measure(self, *, protocol: Protocol, reader: Any, iterations: int) -> list[float]:
        client = Client(HTTP_HOST="localhost")
        client.force_login(reader)
        response = client.get(reverse("annotation:read-next", args=[protocol.pk]), follow=True)
        match = _PANEL.search(response.content.decode())
        if match is None:
            raise RuntimeError(f"no study in the first page (status {response.status_code})")
        timings = []
        match = self._count_queries(client, match)
        for _ in range(iterations):
            study_id, version = match.groups()
            url = reverse("annotation:read-confirm", args=[int(study_id)])
            began = time.perf_counter()
            response = client.post(url, {"version": version, "shown_at": ""}, HTTP_HX_REQUEST="true")
            timings.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"confirm answered {response.status_code}")
            match = _PANEL.search(response.content.decode())
            if match is None:
                break
        return timings

    def _count_queries(self, client: Client, match: re.Match[str]) -> re.Match[str] | None:
        """Count the statements of one confirm-and-next (not timed: capturing costs time too)."""
        study_id, version = match.groups()
        with CaptureQueriesContext(connection) as captured:
            response = client.post(
                reverse("annotation:read-confirm", args=[int(study_id)]), {"version": version, "shown_at": ""}, HTTP_HX_REQUEST="true"
            )
        self.write(f"queries per confirm-and-next: {len(captured.captured_queries)} (status {response.status_code})")
        return _PANEL.search(response.content.decode())

    def _cleanup(self, protocol: Protocol, reader: Any) -> None:
        with transaction.atomic():
            ConfirmationLabel.objects.filter(confirmation__study__protocol=protocol).delete()
            Confirmation.objects.filter(study__protocol=protocol).delete()
            QueueLease.objects.filter(study__protocol=protocol).delete()
            SoftLabel.objects.filter(report__study__protocol=protocol)._raw_delete(connection.alias)
            Report.objects.filter(study__protocol=protocol)._raw_delete(connection.alias)
            Study.objects.filter(protocol=protocol)._raw_delete(connection.alias)
            schema = protocol.label_schema
            Protocol.objects.filter(pk=protocol.pk).update(status=ProtocolStatus.CLOSED, label_schema=None)
            schema.delete()
            Membership.objects.filter(protocol=protocol).delete()
            get_user_model().objects.filter(pk=reader.pk).update(is_active=False)
