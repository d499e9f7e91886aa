from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from programdesk.core.models import ApiToken, User, token_digest
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db


def test_user_create_with_role_and_programs() -> None:
    first, second = ProgramFactory(), ProgramFactory()
    call_command("user_create", "erin", "--role", "staff", "--password", "a long passphrase 9",
                 "--programs", f"{first.pk},{second.pk}", stdout=io.StringIO())
    user = User.objects.get(username="erin")
    assert user.role == "staff"
    assert user.visible_program_ids() == {first.pk, second.pk}
    assert user.check_password("a long passphrase 9")


def test_user_create_refuses_unknown_programs_and_weak_passwords() -> None:
    with pytest.raises(CommandError, match="Unknown program"):
        call_command("user_create", "erin", "--role", "staff", "--programs", "999999",
                     stdout=io.StringIO())
    with pytest.raises(CommandError, match="password"):
        call_command("user_create", "erin", "--role", "staff", "--password", "123",
                     stdout=io.StringIO())
    assert not User.objects.filter(username="erin").exists()


def test_token_create_prints_only_the_token(alice) -> None:
    out = io.StringIO()
    call_command("token_create", "alice", stdout=out)
    token = out.getvalue().strip()
    assert "\n" not in token and " " not in token
    assert ApiToken.objects.filter(user=alice, digest=token_digest(token)).exists()


def test_token_create_for_unknown_user_fails() -> None:
    with pytest.raises(CommandError):
        call_command("token_create", "nobody", stdout=io.StringIO())
