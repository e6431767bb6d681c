"""Password hashing: production hashes with Argon2; only the test settings add a fast hasher."""
from __future__ import annotations

import importlib
import sys

from django.conf import settings

from config.settings import base

ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"
MD5 = "django.contrib.auth.hashers.MD5PasswordHasher"


def test_production_hashes_new_passwords_with_argon2_and_never_md5(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    sys.modules.pop("config.settings.production", None)
    production = importlib.import_module("config.settings.production")
    try:
        assert production.PASSWORD_HASHERS[0] == ARGON2
        assert MD5 not in production.PASSWORD_HASHERS
        assert production.PASSWORD_HASHERS == base.PASSWORD_HASHERS
    finally:
        sys.modules.pop("config.settings.production", None)


def test_the_suite_adds_md5_first_and_keeps_every_production_hasher():
    # Fast hashing for hundreds of test users; stored Argon2 hashes must still verify.
    assert [MD5, *base.PASSWORD_HASHERS] == settings.PASSWORD_HASHERS
