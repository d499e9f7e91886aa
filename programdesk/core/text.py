"""Rules for names people read on a screen or a printed roster (people, accounts, programs,
benefits, cohorts): every door (pages, API, imports) goes through the services that call these.

A name must show something, and must not reorder the text around it:

- a name made only of invisible characters (zero-width spaces, joiners, the Hangul filler, a
  braille blank, combining marks with nothing to combine with) looks empty on every list, yet
  would be a separate record nobody can find or tell apart;
- the bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069)
  make the text after them display in another order ("Trojan Source"): a name could show as
  another one. Left-to-right and right-to-left *marks* (U+200E, U+200F, U+061C) and zero-width
  joiners stay allowed: Arabic, Persian and Indic names need them;
- control characters (NUL, escape, ...) are never part of a name.

The common case (a name that prints) costs one or two C-level string scans: imports clean 100,000
names at a time (bench S6).
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

# Printable (str.isprintable) yet blank on screen.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc", "Mn", "Me", "Zs", "Zl", "Zp", "Cn"})


def _visible(char: str) -> bool:
    return (char not in _BLANK_LETTERS
            and unicodedata.category(char) not in _INVISIBLE_CATEGORIES)


def name_problem(name: str) -> str | None:
    """Why ``name`` (already stripped) cannot be a name, as the end of a sentence, or None.
    An empty name is the caller's "required" message, not a problem here."""
    if not name:
        return None
    if name.isprintable():  # no controls, no format characters (so no bidi controls)
        if name.isascii() or any(_visible(c) for c in name):  # stops at the first visible
            return None
        return "has no visible characters."
    if BIDI_CONTROLS.search(name):
        return ("may not contain text-direction controls (U+202A–U+202E, U+2066–U+2069); "
                "type the name without them.")
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "may not contain control characters."
    if not any(_visible(c) for c in name):
        return "has no visible characters."
    return None
