"""The pure pieces of duplicate detection."""

from __future__ import annotations

import pytest

from programdesk.people import matching


@pytest.mark.parametrize(("a", "b"), [("Smith", "Smyth"), ("Smith", "Smtih"),
                                      ("Johnson", "Jonson"), ("Robert", "Rupert")])
def test_sound_keys_agree_on_typos_and_spellings(a: str, b: str) -> None:
    assert matching.sound_key(a) == matching.sound_key(b)


def test_sound_key_of_a_non_latin_name_is_the_name_itself() -> None:
    assert matching.sound_key("王芳") == "王芳"
    assert matching.sound_key("José") == matching.sound_key("Jose") == "j200"


def test_phone_key_keeps_the_last_ten_digits() -> None:
    assert matching.phone_key("+1 (617) 555-0100") == matching.phone_key("617.555.0100")


@pytest.mark.parametrize(("a", "b", "distance"), [
    ("jon", "john", 1), ("smith", "smtih", 1), ("smith", "smith", 0), ("anna", "hannah", 2),
    ("abc", "xyz", 3)])
def test_edit_distance(a: str, b: str, distance: int) -> None:
    assert matching.edit_distance(a, b) == distance


def test_names_similar_is_typo_tolerant_but_not_loose() -> None:
    assert matching.names_similar("jon", "smith", "john", "smith")
    assert matching.names_similar("john", "smtih", "john", "smith")
    assert not matching.names_similar("jane", "smith", "john", "smith")
    assert not matching.names_similar("j", "smith", "john", "smith")
    assert matching.names_similar("j", "smith", "john", "smith", loose=True)
    assert matching.names_similar("smith", "john", "john", "smith", loose=True)
