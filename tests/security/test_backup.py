"""`manage.py backup` and `manage.py restore`: a backup restored into an empty database has
every table back with the same rows (count and content checksum), sequences included."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from programdesk.core import backup
from programdesk.people.models import Person
from tests.security.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _empty_database(tmp_path: Path) -> tuple[str, Any]:
    """A URL of a new, empty database of the backend under test, and how to drop it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}", lambda: None
    name = f"restore_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{name}", drop)


def test_backup_restored_into_an_empty_database_is_identical(tmp_path: Path) -> None:
    build_world()
    out = io.StringIO()
    call_command("backup", str(tmp_path / "backup.bin"), stdout=out)
    path = Path(out.getvalue().strip())
    assert path.stat().st_mode & 0o777 == 0o600  # personal data: the owner's only
    source = backup.fingerprint(backup.database_settings())
    assert source["people_person"][0] == 6 and source["core_auditevent"][0] >= 0

    url, drop = _empty_database(tmp_path)
    try:
        target = backup.database_settings(url)
        assert backup.is_empty(target)
        out = io.StringIO()
        call_command("restore", str(path), "--database-url", url, stdout=out)
        assert "Restored" in out.getvalue()
        restored = backup.fingerprint(target)
        assert restored == source
        # A second restore over data needs --replace.
        with pytest.raises(CommandError, match="--replace"):
            call_command("restore", str(path), "--database-url", url, stdout=io.StringIO())
        call_command("restore", str(path), "--database-url", url, "--replace",
                     stdout=io.StringIO())
        assert backup.fingerprint(target) == source
    finally:
        drop()


def test_the_backup_is_a_snapshot_of_its_moment(tmp_path: Path) -> None:
    build_world()
    path = tmp_path / "before.bin"
    call_command("backup", str(path), stdout=io.StringIO())
    before = backup.fingerprint(backup.database_settings())
    Person.objects.create(first_name="After", last_name="Backup")
    url, drop = _empty_database(tmp_path)
    try:
        call_command("restore", str(path), "--database-url", url, stdout=io.StringIO())
        assert backup.fingerprint(backup.database_settings(url)) == before
    finally:
        drop()


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"not a database at all" * 100)
    url, drop = _empty_database(tmp_path)
    try:
        with pytest.raises(CommandError):
            call_command("restore", str(bogus), "--database-url", url, stdout=io.StringIO())
        with pytest.raises(CommandError, match="No backup"):
            call_command("restore", str(tmp_path / "missing"), "--database-url", url,
                         stdout=io.StringIO())
    finally:
        drop()
