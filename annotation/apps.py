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
        from annotation.selectors.phrases import soft_labels_for_study
        from reports.hooks import register_section_splitter, register_study_detail_extra
        from reports.jobs.registry import register_job_kind

        register_job_kind(RELABEL_JOB, label="Relabel", task="annotation.tasks.relabel_protocol_task")
        register_job_kind(QUALITY_SAMPLE_JOB, label="Quality sample", task="annotation.tasks.quality_sample_task")
        register_section_splitter(
            lambda text: [(section.name, section.start, section.end) for section in split_sections(text)],
            context_sections=ignored_sections(),
        )
        register_annotation_audit_actions()
        register_study_detail_extra("soft_labels", soft_labels_for_study)
