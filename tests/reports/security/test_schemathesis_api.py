"""API robustness (SECURITY.md promise 11): Schemathesis against /api/schema/, every role.

The schema is fetched from the running app (in-process, through WSGI) by a signed-in user, and
every operation in it is fuzzed. Each generated request is sent once per kind of caller:
anonymous, each member role of the demo protocol, a member of another protocol, staff without a
membership and the demo admin (superuser, on no protocol). Every answer must be free of server
errors and match the schema (status code, content type, body); an anonymous caller must never
get a 2xx outside the token endpoint.

The database is the demo's (`seed_demo`, a few reports) plus one object of each kind that the
scope matrix plants, and generated path ids are mixed with the ids of those real objects so the
fuzzing reaches past the 404s.

The suite runs a modest budget: Schemathesis's explicit examples and 10 generated requests per
operation, each sent as every caller (about a minute). A full run adds the coverage phase (about
2,300 boundary and negative requests over all operations, ×7 callers: 8 minutes here) and more
generated examples:
    SCHEMATHESIS_PHASES=examples,coverage,fuzzing SCHEMATHESIS_MAX_EXAMPLES=100 SCHEMATHESIS_SEED=random \
        .venv/bin/pytest -p no:cacheprovider tests/reports/security/test_schemathesis_api.py
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.demo.seed import DEMO_IRB, DEMO_MEMBERS
from reports.models import Job, Protocol, Role, Study
from tests.reports.factories import MembershipFactory, ProtocolFactory, UserFactory
from tests.security_matrix import OBJECT_MAKERS

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
PHASES = os.environ.get("SCHEMATHESIS_PHASES", "examples,fuzzing").split(",")
# A fixed seed keeps the suite's run repeatable; SCHEMATHESIS_SEED=random explores new inputs.
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261201")
DEMO_REPORTS = "12"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The only operation an anonymous caller may use.
PUBLIC_OPERATIONS = {"auth_token_obtain"}
CANARY = {"accession": "FUZZACC0001", "text": "FINDINGS: fuzzing canary nodule in the left apex."}


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]

    @property
    def anonymous(self) -> bool:
        return not self.headers


def _token_caller(name: str, user: Any) -> Caller:
    token, _ = Token.objects.get_or_create(user=user)
    return Caller(name, {"Authorization": f"Token {token.key}"})


@pytest.fixture
def demo_world(settings, tmp_path, monkeypatch) -> dict[str, Any]:
    """The demo data, a second protocol, and one planted object of each kind per API path id."""
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("DEMO_PASSWORD", "schemathesis-demo")
    call_command("seed_demo", "--reports", DEMO_REPORTS, stdout=io.StringIO())
    User = UserFactory._meta.model
    demo = Protocol.objects.get(irb_number=DEMO_IRB)
    other = ProtocolFactory()
    callers = [Caller("anonymous", {})]
    callers += [_token_caller(name, User.objects.get(username=name)) for name in (*DEMO_MEMBERS, "admin")]
    callers.append(
        _token_caller("other-protocol", MembershipFactory(protocol=other, role=Role.DATA_SCIENTIST).user)
    )
    callers.append(_token_caller("staff", UserFactory(username="fuzz-staff", is_staff=True)))
    planted = {kind: OBJECT_MAKERS[kind](demo, CANARY) for kind in ("cohort", "training_job", "deployment", "job")}
    other_study = OBJECT_MAKERS["study"](other, {"accession": "FUZZACC0002", "text": CANARY["text"]})
    ids = {
        "study_id": sorted(Study.objects.filter(protocol=demo).values_list("pk", flat=True)[:5]) + [other_study.pk],
        "protocol_id": [demo.pk, other.pk],
        "cohort_id": [planted["cohort"].pk],
        "training_job_id": [planted["training_job"].pk],
        "deployment_id": [planted["deployment"].pk],
        "id": list(Job.objects.values_list("pk", flat=True)[:3]),
    }
    return {"callers": callers, "ids": ids, "reader": User.objects.get(username="radiologist")}


@pytest.fixture
def wsgi_app():
    """Django's WSGI app on the test's own database connection.

    The handler closes the connection after each request, which would end the test's
    transaction; Django's test client unhooks the same signal handlers for the same reason.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield get_wsgi_application()
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(db, demo_world, wsgi_app):
    reader = _token_caller("reader", demo_world["reader"])
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, headers=reader.headers)
    schema.config.phases.update(phases=PHASES)
    if SEED != "random":
        schema.config.seed = int(SEED)
    known_ids = demo_world["ids"]

    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> st.SearchStrategy:
        # Random ids nearly always miss, so most of the time point each id at a real object.
        if not path_parameters:
            return st.just(path_parameters)
        choices = {
            name: st.sampled_from([value, *known_ids[name]]) if known_ids.get(name) else st.just(value)
            for name, value in path_parameters.items()
        }
        return st.fixed_dictionaries(choices)

    return schema


lazy_schema = schemathesis.pytest.from_fixture("api_schema")


@lazy_schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_for_every_caller(case, demo_world) -> None:
    for caller in demo_world["callers"]:
        # DRF's throttles count in the cache: fuzzed token sign-ins must not throttle the next caller.
        cache.clear()
        response = case.call(headers=caller.headers)
        case.validate_response(response, checks=CHECKS)
        if caller.anonymous and case.operation.definition.raw.get("operationId") not in PUBLIC_OPERATIONS:
            assert response.status_code >= 400, (
                f"{case.operation.label} answered {response.status_code} without authentication"
            )



@pytest.mark.django_db
def test_an_unmatched_api_url_answers_json_404_and_a_page_url_the_page(client_for, radiologist) -> None:
    client = client_for(radiologist)
    api = client.get("/api/v1/studies/not-a-number/")
    page = client.get("/no-such-page/")

    assert api.status_code == 404
    assert api.json() == {"detail": "Not found."}
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_request_django_refuses_before_the_view_answers_json_under_api(client_for, curator) -> None:
    # More form fields than DATA_UPLOAD_MAX_NUMBER_FIELDS: Django refuses it with a 400 of its own.
    fields = {f"field{i}": "x" for i in range(1100)}
    response = client_for(curator).post("/api/v1/imports/", fields)

    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}


@pytest.mark.django_db
def test_the_schema_documents_the_errors_drf_answers_around_every_view(client_for, radiologist) -> None:
    schema = client_for(radiologist).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = [(path, op) for path, methods in schema["paths"].items() for op in methods.values()]

    assert operations
    for path, operation in operations:
        codes = set(operation["responses"])
        if operation.get("security"):
            assert {"401", "403"} <= codes, (path, codes)
        if "{" in path:
            assert "404" in codes, (path, codes)
        if "requestBody" in operation:
            assert {"400", "415"} <= codes, (path, codes)


HUGE = 2**70  # beyond any database integer: Django's own pk lookups answer "no row", FK lookups used to crash


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/training/jobs/{HUGE}/",
        f"/api/v1/training/jobs/{HUGE}/predictions/",
        f"/api/v1/cohorts/?protocol={HUGE}",
        f"/api/v1/studies/{HUGE}/",
        f"/api/v1/studies/{HUGE}/confirmations/",
        f"/api/v1/cohorts/{HUGE}/",
        f"/api/v1/deployments/{HUGE}/alerts/",
        f"/api/v1/jobs/{HUGE}/",
        f"/api/v1/protocols/{HUGE}/phrases/",
        f"/api/v1/queue/next/?protocol={HUGE}",
    ],
)
def test_an_id_beyond_64_bits_is_not_found_not_a_server_error(client_for, scientist, url) -> None:
    response = client_for(scientist).get(url)
    # A filter that matches nothing is an empty list; an id in the path, 404.
    assert response.status_code in (200, 400, 404), response.content


@pytest.mark.django_db
def test_a_deployment_of_a_training_job_id_beyond_64_bits_is_refused(client_for, scientist, protocol) -> None:
    body = {"protocol": protocol.pk, "name": "huge", "model": {"training_job": HUGE}, "labels": ["Edema"]}
    response = client_for(scientist).post("/api/v1/deployments/", body, content_type="application/json")
    assert response.status_code == 400, response.content
