from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.django_db
def test_schema_needs_a_signed_in_user_and_lists_the_reports_api(client_for, radiologist):
    assert Client().get("/api/schema/").status_code == 401
    response = client_for(radiologist).get("/api/schema/")
    assert response.status_code == 200
    schema = response.content.decode()
    for path in ("/api/v1/auth/token/", "/api/v1/studies/", "/api/v1/studies/{study_id}/", "/api/v1/protocols/"):
        assert path in schema


@pytest.mark.slow
def test_spectacular_validates_without_warnings(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
