"""How the job page reads the results of training's job kinds (registered in TrainingConfig.ready)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reports.jobs.registry import JobSummary, default_summary, result_table

if TYPE_CHECKING:
    from reports.models import Job

# Written by training.services.cohort_images for a study with no series; kept here so that
# registering this summary at start-up does not import the converter (pydicom, nibabel).
NO_IMAGES = "No DICOM images"


def cohort_images_refusals(result: dict[str, Any]) -> tuple[int, list[tuple[str, str]]]:
    """Of a conversion's skipped studies: how many had no images, and (study id, reason) of the
    others, whose series could not be converted, by study id."""
    skipped = sorted((result.get("skipped") or {}).items(), key=lambda item: int(item[0]))
    refused = [(study_id, reason) for study_id, reason in skipped if reason != NO_IMAGES]
    return len(skipped) - len(refused), refused


def cohort_images_summary(job: Job) -> JobSummary:
    """Converted / already converted / skipped, and the studies whose series were refused, with why.

    Studies without images are counted, not listed: most studies of a report-only cohort.
    """
    result = job.result if isinstance(job.result, dict) else {}
    if "converted" not in result:
        return default_summary(job)
    without, refused = cohort_images_refusals(result)
    counts = (
        ("Converted", result["converted"]), ("Already converted", result.get("existing", 0)),
        ("Skipped", without + len(refused)),
    )
    notes = (f"{without} of the skipped studies have no DICOM images.",) if without else ()
    tables = (result_table("Studies not converted", ("Study", "Reason"), refused),) if refused else ()
    return JobSummary(counts=counts, notes=notes, tables=tables)
