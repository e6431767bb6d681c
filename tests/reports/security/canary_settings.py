"""Settings of the canary sweep's worker: the test settings, with processed broker messages kept.

The filesystem transport deletes a message once the worker has consumed it; the sweep
(test_canary_logs_and_messages.py) must read every message that passed, so its worker moves
them to the broker's processed/ folder instead.
"""
from __future__ import annotations

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_BROKER_URL

if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "store_processed": True}  # noqa: F405
