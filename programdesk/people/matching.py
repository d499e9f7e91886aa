"""Pure functions behind duplicate detection: normalized keys and typo-tolerant name comparison.

No database here, so the same rules serve the quick-add page, the API and set-based import
matching (``people_match_rows``), and can be tested exhaustively.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

_SOUNDEX_CODES = {
    **dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"), **dict.fromkeys("dt", "3"),
    "l": "4", **dict.fromkeys("mn", "5"), "r": "6",
}


_NOT_ASCII_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, accents removed, letters and digits only: "José-María " -> "josemaria"."""
    text = text or ""
    if text.isascii():
        # The same result, several times faster: imports fold every name of 100,000 rows.
        lower = text.lower()
        return lower if lower.isalnum() else _NOT_ASCII_ALNUM.sub("", lower)
    return _fold_unicode(text)


@functools.lru_cache(maxsize=65536)  # names repeat: imports fold the same ones again and again
def _fold_unicode(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return "".join(ch for ch in plain.casefold() if ch.isalnum())


def sound_key(name: str) -> str:
    """American Soundex of a folded name ("Smith", "Smyth", "Smtih" -> "s530").

    Names outside the Latin alphabet have no Soundex; their folded form is the key, so they
    still match exactly (and, in memory, with typos)."""
    return sound_of_folded(fold(name))


def sound_of_folded(folded: str) -> str:
    """``sound_key`` of a name folded already (``fold``): the import folds each name once
    and takes both keys from it."""
    if not folded.isalpha() or not folded.isascii():  # "", digits, other scripts
        return folded[:20]
    return _soundex(folded)


@functools.lru_cache(maxsize=65536)  # names repeat: an import's last names, again and again
def _soundex(folded: str) -> str:
    first, rest = folded[0], folded[1:]
    digits: list[str] = []
    previous = _SOUNDEX_CODES.get(first, "")
    for ch in rest:
        code = _SOUNDEX_CODES.get(ch, "")
        if code and code != previous:
            digits.append(code)
        if ch not in "hw":  # h and w do not separate equal codes; vowels do
            previous = code
    return (first + "".join(digits) + "000")[:4]


_NOT_DIGITS = re.compile(r"\D")


# The usual punctuation of phone numbers, taken out before the regular expression is needed
_PHONE_PUNCTUATION = str.maketrans("", "", " -.()+/")


def phone_key(phone: str) -> str:
    """Digits only, at most the last 10 (so "+1 (617) 555-0100" equals "617.555.0100")."""
    phone = phone or ""
    digits = phone.translate(_PHONE_PUNCTUATION)
    if not (digits.isascii() and digits.isdigit()):  # letters, other marks, other digits
        digits = _NOT_DIGITS.sub("", phone)
    return digits[-10:]


def email_key(email: str) -> str:
    return (email or "").strip().lower()


def postal_key(postal_code: str) -> str:
    """Upper case without spaces: "sw1a 1aa" -> "SW1A1AA"."""
    return re.sub(r"\s+", "", postal_code or "").upper()


class PersonKeys(NamedTuple):
    """Everything matching needs of one person's names and contacts, computed once: a tuple,
    so it hashes (rows of one file are compared by it) and 100,000 of them stay small.

    The import computes them once per row and hands them on: to duplicate matching
    (``selectors.people_match_keys``), to telling rows of one file apart, and to the writer,
    whose ``*_key`` columns are these same values."""

    first: str  # fold(first name)
    last: str  # fold(last name)
    first_sound: str  # sound_key(first name): the first_name_key column
    last_sound: str  # sound_key(last name): the last_name_key column
    email: str  # email_key(email)
    phone: str  # phone_key(phone): the phone_key column


def person_keys(first_name: str, last_name: str, email: str, phone: str) -> PersonKeys:
    """The matching keys of one person (values as ``person_values_clean`` leaves them)."""
    # Each name folded once, both its keys from that. tuple.__new__: the same tuple without
    # the NamedTuple constructor's extra call (an import makes 100,000 of these).
    first, last = fold(first_name), fold(last_name)
    return _new_tuple(PersonKeys, (first, last, sound_of_folded(first), sound_of_folded(last),
                                   email_key(email), phone_key(phone)))


_new_tuple = tuple.__new__


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap two neighbours),
    cut off at ``limit`` — "jon"/"john" is 1, "smtih"/"smith" is 1."""
    if a == b:
        return 0
    if abs(len(a) - len(b)) >= limit:
        return limit
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) >= limit:
            return limit
        prev2, prev = prev, row
    return min(prev[-1], limit)


def similar(a: str, b: str) -> bool:
    """Two folded names are the same name give or take a typo: one edit for short names,
    two for names of eight letters or more."""
    if not a or not b:
        return False
    if a == b:
        return True
    allowed = 1 if min(len(a), len(b)) < 8 else 2
    if min(len(a), len(b)) <= 2:
        return False
    return edit_distance(a, b, allowed + 1) <= allowed


def loosely_similar(a: str, b: str) -> bool:
    """For first names next to another strong clue (the same birth date): a typo, an initial
    ("J" for "John") or a short form ("Jon" for "Jonathan")."""
    if similar(a, b):
        return True
    if not a or not b:
        return False
    short, long_ = sorted((a, b), key=len)
    return (len(short) == 1 or len(short) >= 3) and long_.startswith(short)


def names_similar(first_a: str, last_a: str, first_b: str, last_b: str, *,
                  loose: bool = False) -> bool:
    """Folded names: the last names match give or take a typo and so do the first names
    (``loose``: an initial or short form of the first name counts; first and last swapped too).
    """
    first_ok = loosely_similar if loose else similar
    if similar(last_a, last_b) and first_ok(first_a, first_b):
        return True
    return loose and similar(last_a, first_b) and first_ok(first_a, last_b)
