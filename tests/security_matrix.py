"""The scope matrix: every named route of config.urls and who may reach it (SECURITY.md promise 3).

tests/reports/security/test_scope_matrix.py walks the URL resolver and fails on any route that
has no entry here, so a new route cannot ship without saying who may use it. To add a route,
add one line to ROUTES; when its URL takes an id of something other than a study or protocol,
also add a maker to OBJECT_MAKERS.

Route fields:
- audience: "member" (members of the object's protocol; everyone else 404), "staff" (admins;
  everyone else 404), "user" (any signed-in user, data filtered to their protocols) or
  "public" (no sign-in needed, e.g. the login page).
- object: which planted object the URL's int parameters point to (a key of OBJECT_MAKERS), or
  None for URLs without ids.
- ok: what an allowed user gets, per method; any method not listed must not succeed (no 2xx).
- roles: the member roles the route is for (default: every role); members with other roles get 404.
- shows_canary: the allowed user's GET shows the planted report text or accession, which proves
  the leak check would notice it anywhere else.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reports.apps import IMPORT_JOB
from reports.models import Protocol, Role

# Who reads, who adjudicates (annotation.selectors.queue READ_ROLES / ADJUDICATE_ROLES).
READERS = (Role.RADIOLOGIST, Role.CURATOR)
CURATORS = (Role.CURATOR,)


@dataclass(frozen=True)
class Route:
    audience: str
    object: str | None = None
    ok: dict[str, int] = field(default_factory=lambda: {"GET": 200})
    roles: tuple[str, ...] = tuple(Role.values)
    shows_canary: bool = False


# Namespaces covered by their own framework's checks rather than this matrix.
IGNORED_NAMESPACES = {"admin"}

ROUTES: dict[str, Route] = {
    # accounts
    "login": Route("public", ok={"GET": 200, "POST": 200}),
    "logout": Route("public", ok={"POST": 302}),
    # reports pages
    "reports:home": Route("user"),
    "reports:study-list": Route("user", ok={"GET": 200, "POST": 302}, shows_canary=True),
    "reports:study-detail": Route("member", object="study", shows_canary=True),
    "reports:protocol-list": Route("staff"),
    "reports:protocol-members": Route("staff", object="protocol", ok={"GET": 200, "POST": 400}),
    "reports:membership-end-date": Route("staff", object="membership", ok={"POST": 302}),
    "reports:membership-revoke": Route("staff", object="membership", ok={"POST": 302}),
    "reports:audit-log": Route("staff"),
    # reports API
    "api-auth-token": Route("public", ok={"POST": 400}),
    "api-study-list": Route("user", shows_canary=True),
    "api-study-detail": Route("member", object="study", shows_canary=True),
    "api-protocol-list": Route("user"),
    "api-schema": Route("user"),
    # imports and jobs. The upload page has no id: its audience is the importing roles of any
    # protocol, and everyone else gets 404. An empty API POST is a 400 for any signed-in user.
    "reports:import-new": Route("member", ok={"GET": 200, "POST": 400}, roles=(Role.CURATOR, Role.DATA_SCIENTIST)),
    "reports:job-detail": Route("member", object="job"),
    "api-import-create": Route("user", ok={"POST": 400}),
    "api-job-detail": Route("member", object="job"),
    # annotation pages (issue 4). The read page shows the report text but not the accession, so
    # shows_canary stays off there; the leak check still looks for the text in every answer.
    # A POST without form data is refused with 400 and the page, never saved.
    "annotation:protocol-labels": Route("member", object="protocol"),  # POST (relabel) is curator / data scientist only: see tests/annotation
    "annotation:read-next": Route("member", object="protocol", ok={"GET": 302}, roles=READERS),
    "annotation:read-study": Route("member", object="study", roles=READERS),
    "annotation:read-confirm": Route("member", object="study", ok={"POST": 400}, roles=READERS),
    "annotation:read-skip": Route("member", object="study", ok={"POST": 302}, roles=READERS),
    # Only the reader who confirmed may undo; the planted confirmation is another reader's, so
    # every user here, members included, must get 404 (the owner's 302 is tested in tests/annotation/confirm).
    "annotation:read-undo": Route("member", object="confirmation", ok={}, roles=READERS),
    "annotation:agreement": Route("member", object="protocol"),
    "annotation:adjudication-queue": Route("member", object="protocol", roles=CURATORS),
    "annotation:adjudication-study": Route("member", object="study", ok={"GET": 200, "POST": 400}, roles=CURATORS),
    # annotation API. queue/next takes the protocol as ?protocol=, which the matrix cannot fill:
    # without it every signed-in user gets 400; its scope is tested in tests/annotation/confirm.
    "api-queue-next": Route("user", ok={"GET": 400}),
    # GET for every member; POST (a read) is for READERS only, which one Route cannot say: the
    # matrix checks that nobody's empty POST succeeds, tests/annotation/confirm the roles.
    "api-study-confirmations": Route("member", object="study"),
}


def _study(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.reports.factories import ReportFactory, StudyFactory

    return ReportFactory(study=StudyFactory(protocol=protocol, accession=canary["accession"]), text=canary["text"]).study


def _protocol(protocol: Protocol, canary: dict[str, str]) -> Any:
    return protocol


def _membership(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.reports.factories import MembershipFactory

    return MembershipFactory(protocol=protocol)


def _confirmation(protocol: Protocol, canary: dict[str, str]) -> Any:
    """A current read of another study in `protocol`, by a reader none of the matrix's users is.

    Also leaves one more open study: read-next leases the planted study to the first reading
    role it serves, and the second (radiologist, then curator) must find a study of its own.
    """
    from annotation.models import Confirmation
    from reports.models import ReviewState
    from tests.reports.factories import MembershipFactory, ReportFactory, StudyFactory

    reader = MembershipFactory(protocol=protocol, role=Role.RADIOLOGIST).user
    study = ReportFactory(
        study=StudyFactory(protocol=protocol, version=1, reads_done=1, review_state=ReviewState.DONE)
    ).study
    ReportFactory(study=StudyFactory(protocol=protocol))
    return Confirmation.objects.create(study=study, reader=reader, study_version=1)


def _job(protocol: Protocol, canary: dict[str, str]) -> Any:
    from reports.models import Job

    return Job.objects.create(kind=IMPORT_JOB, protocol=protocol)


# object name -> maker(protocol, canary) returning a saved object that belongs to `protocol`.
OBJECT_MAKERS: dict[str, Callable[[Protocol, dict[str, str]], Any]] = {
    "study": _study,
    "protocol": _protocol,
    "membership": _membership,
    "confirmation": _confirmation,
    "job": _job,
}
