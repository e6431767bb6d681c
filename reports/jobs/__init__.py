"""App-neutral background jobs: the record, its state machine, the kind registry and the runner.

This package knows no kind of job. Each app registers its kinds in AppConfig.ready()
(`register_job_kind`) and runs its task bodies through `run_job`, which starts, fails,
succeeds and honours cancellation the same way for every kind; the reaper re-queues any
registered kind without importing the app that owns it.
"""
from __future__ import annotations
