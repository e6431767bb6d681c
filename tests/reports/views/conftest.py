from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_throttles():
    # The "auth" throttle counts in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()
