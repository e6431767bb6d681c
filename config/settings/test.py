"""Settings for the test suite: the same as base, with faster hashing and a private var dir.

DATABASE_URL and CELERY_BROKER_URL still come from the environment, so CI runs the suite on
PostgreSQL and Redis while a laptop runs it on SQLite.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import PASSWORD_HASHERS as BASE_HASHERS

# Argon2 costs ~50 ms a hash; tests create hundreds of users. The production hasher list is
# asserted separately (tests/config/test_settings.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *BASE_HASHERS]
AXES_FAILURE_LIMIT = 10

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory, so the Celery worker subprocess of the integration tests sees the same
    # database as the test (pytest-django gives each xdist worker its own suffix).
    # The pid keeps parallel runs apart; a test hands the worker connection.settings_dict["NAME"].
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-radlabel-{os.getpid()}.sqlite3")}  # noqa: F405

# Stored DICOM and rendered images of the suite go to a throwaway folder, one per process, so a
# worker left over from another run never reads or writes this run's files. A worker test that
# needs the worker to see the same files starts it with RADLABEL_TEST_FILES_DIR=<TEST_FILES_DIR>
# (tests/training/cohorts/test_cohort_images_worker.py). Not DICOM_STORAGE_DIR: a shell that
# sets that for `make run` must not send the suite's files into the real storage.
TEST_FILES_DIR = Path(
    os.environ.get("RADLABEL_TEST_FILES_DIR") or Path(tempfile.gettempdir()) / f"radlabel-test-files-{os.getpid()}"
)
DICOM_STORAGE_DIR = TEST_FILES_DIR / "dicom"
DICOM_IMPORT_ROOT = TEST_FILES_DIR / "dicom-inbox"
IMAGE_CACHE_DIR = TEST_FILES_DIR / "image-cache"
