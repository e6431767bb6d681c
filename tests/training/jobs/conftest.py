from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def training_var_dir(settings, tmp_path):
    """Artifacts and the Optuna storage of each test in its own folder."""
    settings.VAR_DIR = tmp_path
    settings.TRAINING_OPTUNA_STORAGE = ""
    return tmp_path
