"""SECURITY.md promise 10: two clients saving the same study at once, over real HTTP.

Each round both clients post the version they both saw, released together by a barrier: exactly
one 201 and one 409 (stale version), never a 500, never a lost or duplicated write.
50 rounds in the suite; CONFIRM_RACE_ROUNDS=1000 runs the promise's full count:

    CONFIRM_RACE_ROUNDS=1000 DATABASE_URL=postgres://... pytest tests/annotation/confirm/test_race.py
"""
from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request

import pytest
from rest_framework.authtoken.models import Token

from annotation.models import Confirmation
from reports.models import AccessEvent, AuditAction, Study

ROUNDS = int(os.environ.get("CONFIRM_RACE_ROUNDS", "50"))


def _post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.mark.django_db(transaction=True)
def test_two_clients_racing_on_one_study_never_lose_a_write(live_server, protocol, radiologist, reader2, make_study):
    protocol.readers_per_study = 2
    protocol.save()
    study = make_study()
    tokens = [Token.objects.create(user=radiologist).key, Token.objects.create(user=reader2).key]
    url = f"{live_server.url}/api/v1/studies/{study.pk}/confirmations/"
    outcomes: list[list[int]] = []
    for round_ in range(ROUNDS):
        version = Study.objects.get(pk=study.pk).version
        barrier = threading.Barrier(2)
        statuses: list[int] = [0, 0]
        bodies: list[dict] = [{}, {}]

        # This round's barrier, slots and version are bound as defaults, not read from the loop.
        def worker(
            index: int, barrier=barrier, statuses=statuses, bodies=bodies, version=version
        ) -> None:
            barrier.wait()
            body = {"labels": {"Pneumothorax": "negative"}, "version": version}
            statuses[index], bodies[index] = _post(url, tokens[index], body)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes.append(sorted(statuses))
        assert sorted(statuses) == [201, 409], f"round {round_}: {statuses} {bodies}"
        loser = bodies[statuses.index(409)]
        assert loser["reason"] == "stale_version"
        assert loser["version"] == version + 1
    assert outcomes == [[201, 409]] * ROUNDS
    study.refresh_from_db()
    confirmations = Confirmation.objects.filter(study=study)
    assert study.version == ROUNDS
    assert sorted(confirmations.values_list("study_version", flat=True)) == list(range(1, ROUNDS + 1))
    assert confirmations.filter(is_current=True).count() == 2
    assert AccessEvent.objects.filter(action=AuditAction.LABEL_CONFIRM, object_id=str(study.pk)).count() == ROUNDS
