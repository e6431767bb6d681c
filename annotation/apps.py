from __future__ import annotations

from django.apps import AppConfig

RELABEL_JOB = "relabel"
QUALITY_SAMPLE_JOB = "quality_sample"  # annotation.services.quality


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Labels and confirmations"

    def ready(self) -> None:
        from annotation.audit import register_annotation_audit_actions
        from annotation.engine.sections import ignored_sections, split_sections
        from annotation.job_summaries import relabel_summary
        from annotation.selectors.phrases import soft_labels_for_study
        from reports.hooks import (
            register_import_listener,
            register_section_splitter,
            register_study_detail_extra,
        )
        from reports.jobs.registry import register_job_kind

        register_job_kind(RELABEL_JOB, label="Relabel", task="annotation.tasks.relabel_protocol_task", summary=relabel_summary)
        register_job_kind(QUALITY_SAMPLE_JOB, label="Quality sample", task="annotation.tasks.quality_sample_task")
        register_section_splitter(
            lambda text: [(section.name, section.start, section.end) for section in split_sections(text)],
            context_sections=ignored_sections(),
        )
        register_annotation_audit_actions()
        register_study_detail_extra("soft_labels", soft_labels_for_study)
        register_import_listener(_relabel_on_import)
        import annotation.signals  # noqa: F401  (the word index follows report deletions and moves)


def _relabel_on_import(protocol_id: int) -> None:
    """Queue a relabel once an import that added or changed reports has committed, so new reports
    get soft labels without anyone pressing Relabel (reports.hooks calls it only for such imports).

    relabel_start returns the relabel already queued or running instead of a second one. A queued
    one reads the stale reports when it starts, so it covers this import; a running one read them
    before this import committed, so these reports wait for the next relabel.
    """
    # Imported on first use: the relabel service pulls in the engine's schema code.
    from annotation.services.relabel import relabel_start
    from reports.models import Protocol
    from reports.services.jobs import job_enqueue

    protocol = Protocol.objects.filter(pk=protocol_id).first()
    if protocol is not None:
        # Sent by the registered task name, like every job the import side queues (monitoring's
        # too), so the importing process needs no annotation task module.
        relabel_start(protocol=protocol, actor=None, enqueue=lambda job_id: job_enqueue(job_id, RELABEL_JOB))
