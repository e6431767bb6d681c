from __future__ import annotations

from django.apps import AppConfig

RELABEL_JOB = "relabel"


class AnnotationConfig(AppConfig):
    name = "annotation"
    verbose_name = "Labels and confirmations"

    def ready(self) -> None:
        from annotation.engine.sections import split_sections
        from reports.hooks import register_section_splitter
        from reports.jobs.registry import register_job_kind

        register_job_kind(RELABEL_JOB, label="Relabel", task="annotation.tasks.relabel_protocol_task")
        register_section_splitter(
            lambda text: [(section.name, section.start, section.end) for section in split_sections(text)]
        )
