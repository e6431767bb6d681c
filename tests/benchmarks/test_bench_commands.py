"""The benchmarks run from their thin commands on tiny data, and leave the job results clean."""
from __future__ import annotations

import pytest
from django.core.management import call_command

from annotation.models import Confirmation
from reports.models import Protocol, ProtocolStatus, Study

pytestmark = pytest.mark.django_db


def test_bench_import_imports_reimports_and_updates(capsys):
    call_command("bench_import", "--count", "12", "--format", "jsonl")

    out = capsys.readouterr().out
    assert "created 12" in out
    assert "unchanged 12" in out
    assert "updated 12" in out
    assert Study.objects.count() == 12


def test_bench_confirm_times_requests_and_closes_its_protocol(capsys):
    call_command("bench_confirm", "--studies", "8", "--iterations", "3")

    out = capsys.readouterr().out
    assert "confirm-and-next over 3 requests, 8 studies" in out
    assert "queries per confirm-and-next" in out
    assert not Study.objects.exists()
    assert not Confirmation.objects.exists()
    assert Protocol.objects.get().status == ProtocolStatus.CLOSED

