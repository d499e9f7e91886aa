"""The test suite's password hasher (tests/conftest.py puts it first)."""

from __future__ import annotations

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's default hasher — the same algorithm, name and stored format, so every test sees
    the hashes production stores — with a thousand rounds instead of a million. At a million,
    each user a test makes and each login it checks costs half a second of processor time,
    about a quarter of the whole suite's."""

    iterations = 1000
