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
- denied: member roles that get 403 instead of 404 (they are on the protocol in another role).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reports.apps import IMPORT_JOB
from reports.models import Protocol, Role

# Who reads, who adjudicates (annotation.permissions READ_ROLES / ADJUDICATE_ROLES).
READERS = (Role.RADIOLOGIST, Role.CURATOR)
CURATORS = (Role.CURATOR,)
# Who builds and exports cohorts (annotation.permissions EXPORT_ROLES), and the members who may not.
SCIENTISTS = (Role.DATA_SCIENTIST,)
NOT_SCIENTISTS = (Role.RADIOLOGIST, Role.CURATOR)


@dataclass(frozen=True)
class Route:
    audience: str
    object: str | None = None
    ok: dict[str, int] = field(default_factory=lambda: {"GET": 200})
    roles: tuple[str, ...] = tuple(Role.values)
    shows_canary: bool = False
    # Member roles that get 403 (on the protocol, but their role may not): the issue-9 API
    # promise "other roles 403, other protocols 404". Everyone else outside `roles` gets 404.
    denied: tuple[str, ...] = ()


# Namespaces covered by their own framework's checks rather than this matrix.
IGNORED_NAMESPACES = {"admin"}

ROUTES: dict[str, Route] = {
    # accounts
    "login": Route("public", ok={"GET": 200, "POST": 200}),
    "logout": Route("public", ok={"POST": 302}),
    # two-step sign-in (reports.views.account). The code step sends anyone without a password
    # checked a moment ago back to the login page. Nobody in the matrix has a device, so removal
    # just returns to the account page; an empty enrolment POST is refused with the page.
    "login-code": Route("public", ok={"GET": 302, "POST": 302}),
    "account": Route("user"),
    "totp-enrol": Route("user", ok={"GET": 200, "POST": 400}),
    "totp-remove": Route("user", ok={"POST": 302}),
    # reports pages
    "home": Route("user"),
    "reports:study-list": Route("user", ok={"GET": 200, "POST": 302}, shows_canary=True),
    "reports:study-detail": Route("member", object="study", shows_canary=True),
    # DICOM images: the strip (empty for a study without images) and one slice as PNG.
    "reports:study-images": Route("member", object="study"),
    "reports:slice-png": Route("member", object="series"),
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
    "reports:dicom-import-new": Route("member", ok={"GET": 200, "POST": 400}, roles=(Role.CURATOR, Role.DATA_SCIENTIST)),
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
    # quality assessment (issue 8, parts 4-7): label / phrase / sample travel as query parameters.
    # Curators judge; data scientists may also look at the estimates, calibration and review list.
    "annotation:matches": Route("member", object="protocol", roles=CURATORS),
    "annotation:match-judge": Route("member", object="protocol", ok={"POST": 400}, roles=CURATORS),
    "annotation:phrase-precision-apply": Route("member", object="protocol", ok={"POST": 400}, roles=CURATORS),
    "annotation:quality": Route("member", object="protocol", roles=(Role.CURATOR, Role.DATA_SCIENTIST)),
    "annotation:quality-draw": Route("member", object="protocol", ok={"POST": 400}, roles=CURATORS),
    "annotation:quality-judge": Route("member", object="protocol", ok={"GET": 200, "POST": 400}, roles=CURATORS),
    "annotation:calibration": Route("member", object="protocol", roles=(Role.CURATOR, Role.DATA_SCIENTIST)),
    "annotation:calibration-fit": Route("member", object="protocol", ok={"POST": 400}, roles=CURATORS),
    "annotation:review": Route("member", object="protocol", roles=(Role.CURATOR, Role.DATA_SCIENTIST)),
    # annotation API. queue/next takes the protocol as ?protocol=, which the matrix cannot fill:
    # without it every signed-in user gets 400; its scope is tested in tests/annotation/confirm.
    "api-queue-next": Route("user", ok={"GET": 400}),
    # GET for every member; POST (a read) is for READERS only, which one Route cannot say: the
    # matrix checks that nobody's empty POST succeeds, tests/annotation/confirm the roles.
    "api-study-confirmations": Route("member", object="study"),
    # deployments and monitoring (issue 11). Every member reads; the POSTs are for data
    # scientists (curators too for alert-queue) and answer other members 403, which one Route
    # cannot say: ok={} checks that nobody's empty POST succeeds, and non-members get 404;
    # tests/training/monitoring checks the roles.
    "training:deployment-list": Route("user"),
    "training:deployment-monitoring": Route("member", object="deployment"),
    "training:deployment-activate": Route("member", object="deployment", ok={}),
    "training:deployment-version-new": Route(
        "member", object="deployment", ok={"GET": 200, "POST": 400}, roles=(Role.DATA_SCIENTIST,)
    ),
    "training:deployment-analyse": Route("member", object="deployment", ok={}),
    "training:alert-detail": Route("member", object="alert"),
    "training:alert-acknowledge": Route("member", object="alert", ok={}),
    "training:alert-resolve": Route("member", object="alert", ok={}),
    "training:alert-queue": Route("member", object="alert", ok={}),
    "api-deployment-list": Route("user", ok={"GET": 200, "POST": 400}),
    "api-deployment-predictions": Route("member", object="deployment", ok={}),
    "api-deployment-alerts": Route("member", object="deployment"),
    "api-deployment-versions": Route("member", object="deployment", ok={}),
    # phrase curation (issue 8, parts 1-3 and 8). The phrase table is for every member; editing is
    # for curators and answers other members 403, which one Route cannot say: ok={} checks that
    # nobody's empty POST (400 for curators) or revert succeeds with a 2xx, and non-members get
    # 404; tests/annotation/curation checks the roles. The phrases API needs ?label=, so a
    # curator's bare GET is a 400 there.
    "annotation:phrase-table": Route("member", object="protocol"),
    "annotation:phrase-preview": Route("member", object="protocol", ok={}),
    "annotation:phrase-save": Route("member", object="protocol", ok={}),
    "annotation:phrase-revert": Route("member", object="protocol", ok={}),
    "api-protocol-phrases": Route("member", object="protocol", ok={}),
    "api-phrase-preview": Route("member", object="protocol", ok={}),
    "api-phrase-changes": Route("member", object="protocol", ok={}),
    # cohorts (issue 9). Data scientists of the protocol; its other members get 403, everyone
    # else 404. The empty POSTs are refused (400) without freezing anything.
    "training:cohort-index": Route("user"),
    "training:cohort-list": Route("member", object="protocol", roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "training:cohort-new": Route("member", object="protocol", ok={"GET": 200, "POST": 400}, roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "training:cohort-preview": Route("member", object="protocol", roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "training:cohort-detail": Route("member", object="cohort", roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "training:cohort-export": Route("member", object="cohort", roles=SCIENTISTS, denied=NOT_SCIENTISTS, shows_canary=True),
    # issue 10: converting a cohort's images to NIfTI (a job; the planted cohort has no images).
    "training:cohort-images-convert": Route("member", object="cohort", ok={"POST": 302}, roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "api-cohort-list": Route("user", ok={"GET": 200, "POST": 400}),
    "api-cohort-detail": Route("member", object="cohort", roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "api-cohort-export": Route("member", object="cohort", roles=SCIENTISTS, denied=NOT_SCIENTISTS, shows_canary=True),
    # issue 10: the API twin of "Convert images"; the planted cohort has no images, so nothing to do (200).
    "api-cohort-images": Route("member", object="cohort", ok={"POST": 200}, roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    # training jobs (issue 9). The same rule as cohorts: data scientists of the protocol, 403 for
    # its other members, 404 for everyone else. The list, form and compare pages take no id and
    # show only the caller's protocols; the planted job has no model file yet (its download: 404).
    "training:job-list": Route("user"),
    "training:job-new": Route("user", ok={"GET": 200, "POST": 400}),
    "training:job-compare": Route("user"),
    "training:job-detail": Route("member", object="training_job", roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "training:job-cancel": Route("member", object="training_job", ok={"POST": 302}, roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "training:job-model": Route("member", object="training_job", ok={}, roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "api-training-job-create": Route("user", ok={"POST": 400}),
    "api-training-job-detail": Route("member", object="training_job", roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "api-training-job-cancel": Route("member", object="training_job", ok={"POST": 202}, roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "api-training-job-predictions": Route("member", object="training_job", roles=SCIENTISTS, denied=NOT_SCIENTISTS),
    "api-training-job-model": Route("member", object="training_job", ok={}, roles=SCIENTISTS, denied=NOT_SCIENTISTS),
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


def _deployment(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.training.monitoring.factories import make_deployment

    return make_deployment(protocol, name="matrix")


def _alert(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.training.monitoring.factories import make_alert

    return make_alert(protocol)


def _series(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.reports.dicom.factories import make_imaged_study

    return make_imaged_study(protocol, slices=1)[1]


def _label(protocol: Protocol, canary: dict[str, str]) -> Any:
    from annotation.services.schemas import schema_for_protocol

    return schema_for_protocol(protocol).labels.order_by("order").first()


def _change(protocol: Protocol, canary: dict[str, str]) -> Any:
    """A saved phrase change (a disabled phrase added) on a label of the protocol's schema."""
    from annotation.models import Phrase, PhraseChange, PhraseRevision

    label = _label(protocol, canary)
    phrase = Phrase.objects.create(label=label, text="matrix phrase", enabled=False, order=999)
    change = PhraseChange.objects.create(label=label)
    after = {"text": phrase.text, "kind": phrase.kind, "enabled": False, "order": 999}
    PhraseRevision.objects.create(change=change, phrase=phrase, before=None, after=after)
    return change


def _cohort(protocol: Protocol, canary: dict[str, str]) -> Any:
    """A frozen cohort of `protocol` holding one study with the canary accession and text."""
    from tests.training.cohorts.factories import matrix_cohort

    return matrix_cohort(protocol, canary)


def _training_job(protocol: Protocol, canary: dict[str, str]) -> Any:
    from tests.training.jobs.builders import matrix_training_job

    return matrix_training_job(protocol, canary)


# object name -> maker(protocol, canary) returning a saved object that belongs to `protocol`.
OBJECT_MAKERS: dict[str, Callable[[Protocol, dict[str, str]], Any]] = {
    "cohort": _cohort,
    "training_job": _training_job,
    "study": _study,
    "protocol": _protocol,
    "membership": _membership,
    "confirmation": _confirmation,
    "job": _job,
    "series": _series,
    "deployment": _deployment,
    "alert": _alert,
    "label": _label,
    "change": _change,
}
