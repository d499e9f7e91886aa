"""The front desk speaks Spanish (issue 19, item 5): the kiosk, check-in, attendance sheet and
walk-in pages are translated, and CI fails on a missing or fuzzy Spanish string on them.

- every visible word of those templates is inside a translate tag (the templates are parsed);
- the Spanish catalog is complete: nothing untranslated, nothing fuzzy, placeholders kept, and
  the committed .mo is the compiled .po;
- makemessages, run into a copy, finds no string the catalog lacks (a new string on a page
  fails until it is translated: docs/contributing.md);
- the pages rendered in Spanish show none of their English words; the rest of the app stays
  English; dates, times and numbers follow the language.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
import shutil
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.template import engines
from django.template.base import Lexer, TokenType
from django.test import Client, override_settings
from django.utils import translation
from django.utils.timezone import localdate

from programdesk.core import display
from programdesk.participation import services
from programdesk.participation.services import writers
from programdesk.web import front_desk_messages
from programdesk.web.front_desk_messages import front_desk_message
from tests import factories as f

SOURCE = Path(settings.BASE_DIR) / "programdesk"
CATALOG = SOURCE / "locale" / "es" / "LC_MESSAGES" / "django.po"
# Every language of the front desk but English (the source's): each has a complete catalog.
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]


def catalog(code: str) -> Path:
    return SOURCE / "locale" / code / "LC_MESSAGES" / "django.po"
TEMPLATES = SOURCE / "web" / "templates"

# The front desk's pages, as the views render them; the templates they include are found by
# following {% include %} (docs/front-desk.md, Languages). base.html and the session page's
# header are the parts of the pages' frames they show.
ROOTS = [
    "web/participation/kiosk.html",
    "web/participation/kiosk_session.html",
    "web/participation/session_attendance.html",
    "web/participation/_kiosk_results.html",
    "web/participation/_walk_in_results.html",
    "web/base.html",
    "web/scheduling/_session_header.html",
    "web/disbursements/bulk.html",
]
# Words that are no language's: the product's name.
UNTRANSLATED_WORDS = {"Program", "Desk"}
# Blocks whose text is no text on the page (a class name).
HIDDEN_BLOCKS = {"body_class"}
# Attributes a person sees or hears (a screen reader reads aria-label).
VISIBLE_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")


def front_desk_templates() -> list[str]:
    """ROOTS and every template they include, transitively."""
    seen: list[str] = []
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        source = (TEMPLATES / name).read_text()
        todo.extend(re.findall(r"""{%\s*include\s+["']([^"']+)["']""", source))
    return sorted(seen)


def _template_text(source: str) -> str:
    """The template's own text, outside translate tags and comments; each tag or variable
    becomes a NUL (so "<b>{{ name }}</b>" is "<b>\\0</b>")."""
    parts: list[str] = []
    skip_until: str | None = None
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if skip_until:
                if name == skip_until:
                    skip_until = None
                continue
            if name == "block" and token.contents.split()[1:2] and \
                    token.contents.split()[1] in HIDDEN_BLOCKS:
                skip_until = "endblock"
            elif name in ("blocktranslate", "blocktrans"):
                skip_until = "endblocktranslate" if name == "blocktranslate" else "endblocktrans"
            elif name == "comment":
                skip_until = "endcomment"
            parts.append("\0")
        elif skip_until:
            continue
        elif token.token_type == TokenType.TEXT:
            parts.append(token.contents)
        elif token.token_type == TokenType.VAR:
            parts.append("\0")
    return "".join(parts)


def _words(text: str) -> list[str]:
    """Words of two letters or more in a text (entities decoded)."""
    return re.findall(r"[^\W\d_]{2,}", html.unescape(text))


def untranslated_words(source: str) -> list[str]:
    """What a template shows that no translate tag covers: text between tags, and the text of
    attributes people see (aria-label, placeholder…)."""
    text = _template_text(source)
    found: list[str] = []
    for attribute in VISIBLE_ATTRIBUTES:
        for value in re.findall(rf'\s{attribute}="([^"]*)"', text):
            found += _words(value.replace("\0", " "))
    # A submit input shows its value (a button's value is only sent).
    for value in re.findall(r'<input[^>]*type="(?:submit|button)"[^>]*value="([^"]*)"', text):
        found += _words(value.replace("\0", " "))
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    found += _words(text.replace("\0", " "))
    return [w for w in found if w not in UNTRANSLATED_WORDS]


def test_the_front_desk_templates_are_found() -> None:
    names = front_desk_templates()
    for expected in ("web/participation/_attendance_sheet.html",
                     "web/participation/_sheet_row.html", "web/participation/_walk_in.html",
                     "web/participation/_walk_in_override.html",
                     "web/participation/_language_switch.html"):
        assert expected in names


@pytest.mark.parametrize("name", front_desk_templates())
def test_every_visible_word_is_inside_a_translate_tag(name: str) -> None:
    source = (TEMPLATES / name).read_text()
    assert untranslated_words(source) == [], (
        f"{name} shows words outside {{% translate %}}: wrap them (docs/contributing.md)")
    if "translate" in source:
        assert "{% load" in source and "i18n" in source, f"{name}: {{% load i18n %}}"


def test_the_parser_catches_a_bare_word() -> None:
    assert untranslated_words('<p>{% translate "Hello" %}</p><b>Oops</b>') == ["Oops"]
    assert untranslated_words('<input placeholder="Your name">') == ["Your", "name"]
    assert untranslated_words('<input type="submit" value="Go on">') == ["Go", "on"]
    assert untranslated_words('<button name="action" value="save">\u2026</button>') == []
    assert untranslated_words(
        '{% blocktranslate %}Hi {{ n }}{% endblocktranslate %}{# note #}'
        '{% comment %}Why{% endcomment %}<a href="/x/{{ y }}">{{ z }}</a>') == []


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)[sd]|\{\w*\}|<[^>]+>", text))


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_catalog_is_complete_and_not_fuzzy(code: str) -> None:
    po = polib.pofile(str(catalog(code)))
    assert po.metadata.get("Language") == code
    assert not po.metadata_is_fuzzy
    assert [e.msgid for e in po.untranslated_entries()] == []
    assert [e.msgid for e in po.fuzzy_entries()] == []
    assert [e.msgid for e in po.obsolete_entries()] == [], "stale strings: run makemessages"
    for entry in po.translated_entries():
        translations = (list(entry.msgstr_plural.values()) if entry.msgid_plural
                        else [entry.msgstr])
        for translation_ in translations:
            assert translation_.strip(), entry.msgid
            # The same placeholders and markup: a translation that loses {name} or a link
            # breaks the page. (A plural's singular may write "1" for its count.)
            wanted = _placeholders(entry.msgid_plural or entry.msgid)
            assert _placeholders(translation_) == wanted or entry.msgid_plural, entry.msgid


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_committed_mo_is_the_compiled_po(code: str) -> None:
    po = polib.pofile(str(catalog(code)))
    mo = polib.mofile(str(catalog(code).with_suffix(".mo")))

    def entries(catalog: Any) -> dict[tuple[str | None, str], Any]:
        return {(e.msgctxt, e.msgid): (e.msgstr, dict(e.msgstr_plural))
                for e in catalog if not e.obsolete and (e.msgstr or e.msgstr_plural)}

    assert entries(mo) == entries(po), "recompile: manage.py compilemessages (docs/contributing.md)"


@pytest.mark.skipif(shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
                    reason="gettext (xgettext, msgmerge) is not installed")
@pytest.mark.parametrize("code", TRANSLATED)
def test_makemessages_finds_no_string_the_catalog_lacks(tmp_path: Path, code: str) -> None:
    """makemessages into a copy of the sources: a string added to a page (or changed) and not
    yet in the Spanish catalog fails here, with its text."""
    copy = tmp_path / "programdesk"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # makemessages works in the current directory; the copy's catalog is the one it updates.
    with contextlib.chdir(copy), override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", locale=[code], no_wrap=True, add_location="file",
                     verbosity=0)
    fresh = polib.pofile(str(copy / "locale" / code / "LC_MESSAGES" / "django.po"))
    committed = polib.pofile(str(catalog(code)))
    known = {(e.msgctxt, e.msgid) for e in committed if not e.obsolete}
    found = {(e.msgctxt, e.msgid) for e in fresh if not e.obsolete}
    assert sorted(found - known, key=str) == [], "new strings: run makemessages and translate them"
    assert sorted(known - found, key=str) == [], "strings no page uses: run makemessages"
    pages = set(front_desk_templates())
    on_pages = [e for e in fresh if not e.obsolete and any(
        path.removeprefix("web/templates/") in pages for path, _ in e.occurrences)]
    assert len(on_pages) > 50
    assert [e.msgid for e in on_pages if not e.translated() or e.fuzzy] == []


# --- the pages in Spanish -------------------------------------------------------------------

# The pages' English words (each msgid of the catalog, its placeholders cut out, and the
# phrases a person reads first): none may be on a Spanish page.
ENGLISH_PHRASES = ["Check in", "Type your name", "First time here", "Register", "Welcome",
                   "Log out", "Skip to content", "Attendance", "Mark all present", "Save",
                   "Add a walk-in", "not recorded", "Find", "Is this you", "I'm", "Language",
                   "Menu", "Start over", "Present", "Absent", "Excused", "Quantity", "Status"]


def _english_fragments() -> list[str]:
    po = polib.pofile(str(CATALOG))
    fragments = set(ENGLISH_PHRASES)
    for entry in po.translated_entries():
        if entry.msgstr == entry.msgid:
            continue
        for piece in re.split(r"%\(\w+\)[sd]|\{\w*\}|<[^>]+>", entry.msgid):
            piece = piece.strip(" .,:;!?—“”()'\"")
            if len(piece) >= 4 and re.search(r"[a-z]", piece):
                fragments.add(piece)
    return sorted(fragments)


def visible_text(page: str) -> str:
    """What a person reads or hears on a page: its text and its labelling attributes."""
    page = re.sub(r"<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->", " ", page,
                  flags=re.S)
    said = [m for a in ("aria-label", "placeholder", "title", "alt")
            for m in re.findall(rf'\s{a}="([^"]*)"', page)]
    said += re.findall(r'<input[^>]*type="submit"[^>]*value="([^"]*)"', page)
    return html.unescape(" ".join([re.sub(r"<[^>]*>", " ", page), *said]))


def english_on(page: str) -> list[str]:
    text = visible_text(page)
    return [f for f in _english_fragments() if re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text)]


@pytest.fixture
def desk(db: None, charlie: Any, kim: Any) -> dict[str, Any]:
    """Today's session at a pantry, with names that are no English word of the pages."""
    benefit = f.BenefitFactory(name="Despensa")
    schedule = f.schedule_with_sessions(sessions=1, name="Martes de despensa", benefit=benefit)
    session = schedule.sessions.get()
    rosa = f.PersonFactory(first_name="Rosa", last_name="Delgado",
                           birth_date=dt.date(1980, 3, 5), postal_code="02121")
    services.schedule_add_participants(actor=charlie, schedule=schedule, person_ids=[rosa.pk])
    return {"session": session, "rosa": rosa}


def _in_spanish(client: Client) -> None:
    response = client.post("/kiosk/language/", {"language": "es", "next": "/kiosk/"})
    assert response.status_code == 302 and response["Location"] == "/kiosk/"


def test_a_spanish_kiosk_shows_no_english(client: Client, kim: Any, desk: dict[str, Any]
                                          ) -> None:
    client.force_login(kim)
    _in_spanish(client)
    session = desk["session"]
    pages = {
        "check-in": client.get("/kiosk/"),
        "kiosk": client.get(f"/kiosk/{session.pk}/"),
        "search": client.get(f"/kiosk/{session.pk}/?q=rosa"),
        "results": client.get(f"/kiosk/{session.pk}/search", {"q": "rosa"}),
        "nobody": client.get(f"/kiosk/{session.pk}/search", {"q": "zzzz"}),
    }
    for name, response in pages.items():
        page = response.content.decode()
        assert response.status_code == 200, name
        assert english_on(page) == [], name
        assert response["Content-Language"] == "es"
    assert '<html lang="es">' in pages["kiosk"].content.decode()
    assert "Escriba su nombre" in pages["kiosk"].content.decode()
    assert "Soy Rosa D." in pages["search"].content.decode()
    assert "No encontramos a nadie" in pages["nobody"].content.decode()

    # Checking in: the welcome is in Spanish too.
    response = client.post(f"/kiosk/{session.pk}/", {"person_id": desk["rosa"].pk}, follow=True)
    page = response.content.decode()
    assert "¡Hola, Rosa! Registramos su llegada." in page
    assert english_on(page) == []


def test_registering_at_a_spanish_kiosk_asks_in_spanish(client: Client, kim: Any,
                                                        desk: dict[str, Any]) -> None:
    client.force_login(kim)
    _in_spanish(client)
    url = f"/kiosk/{desk['session'].pk}/"
    page = client.post(url, {"action": "register", "first_name": "Rosa", "last_name": "Delgado",
                             "postal_code": "02121"}).content.decode()
    assert "¿Es usted?" in page and "Sí, soy Rosa D." in page
    assert english_on(page) == []
    page = client.post(url, {"action": "register", "first_name": "",
                             "last_name": ""}).content.decode()
    assert english_on(page) == []


def test_a_spanish_attendance_sheet_and_walk_in_panel_show_no_english(
        client: Client, charlie: Any, desk: dict[str, Any]) -> None:
    client.force_login(charlie)
    _in_spanish(client)
    session = desk["session"]
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    sheet = page.split('id="session-details"')[0]  # the session's settings below stay English
    assert english_on(sheet) == []
    assert "Marcar a todos presentes" in sheet and "Estado de Delgado, Rosa" in sheet
    assert 'data-many="{n} cambios sin guardar"' in sheet
    walk_in = f"/sessions/{session.pk}/walk-in/"
    headers = {"HX-Request": "true"}
    found = client.get(walk_in, {"q": "Delgado"}, headers=headers).content.decode()
    assert "en la lista" in found and "nació el 5 mar 1980" in found
    assert english_on(found) == []
    for posted in ({"action": "new", "first_name": "Rosa", "last_name": "Delgado"},
                   {"action": "new", "first_name": "Samir", "last_name": "Haddad"},
                   {"person_id": desk["rosa"].pk}, {"person_id": "x"}):
        answer = client.post(walk_in, posted, headers=headers).content.decode()
        assert english_on(answer) == [], posted
    saved = client.post(f"/sessions/{session.pk}/", {"action": "save"}, follow=True)
    assert "Asistencia guardada" in saved.content.decode()


def test_a_spanish_walk_in_page_shows_no_english(client: Client, charlie: Any,
                                                  desk: dict[str, Any]) -> None:
    """The walk-in distribution page (a benefit's bulk page, walk-in mode), online and the copy
    a tablet keeps offline, and what it says after a save."""
    client.force_login(charlie)
    _in_spanish(client)
    benefit = desk["session"].benefit
    url = f"/benefits/{benefit.pk}/bulk/"
    for page in (client.get(url), client.get(url, {"offline": "1"}),
                 client.get(url, {"q": "zzzz"})):
        text = page.content.decode()
        assert page.status_code == 200 and page["Content-Language"] == "es"
        assert english_on(text) == []
        assert "Guardar entregas" in text and 'aria-pressed="true" class="primary">Español' in text
    assert "Agregar a la lista" in client.get(url, {"offline": "1"}).content.decode()
    saved = client.post(url, {"mode": "walk_in", "quantity": "1", "status": "",
                              "disbursed_on": localdate().isoformat(),
                              "person_ids": [desk["rosa"].pk]}, follow=True)
    assert "1 entrega guardada" in saved.content.decode()


def test_english_is_the_default_and_the_rest_of_the_app_stays_english(
        client: Client, charlie: Any, desk: dict[str, Any]) -> None:
    client.force_login(charlie)
    page = client.get("/kiosk/").content.decode()
    assert '<html lang="en' in page and "Check in" in page
    _in_spanish(client)
    assert "Registro de llegada" in client.get("/kiosk/").content.decode()
    people = client.get("/people/")
    assert '<html lang="en' in people.content.decode() and "Log out" in people.content.decode()
    assert translation.get_language() in ("en-us", "en")  # nothing leaks out of a request
    client.post("/kiosk/language/", {"language": "en", "next": "/kiosk/"})
    assert "Check in" in client.get("/kiosk/").content.decode()


def test_the_language_switch_refuses_unknown_languages_and_other_sites(
        client: Client, kim: Any, desk: dict[str, Any]) -> None:
    client.force_login(kim)
    response = client.post("/kiosk/language/", {"language": "xx", "next": "https://evil.test/"})
    assert response["Location"] == "/kiosk/"
    assert "Check in" in client.get("/kiosk/").content.decode()
    response = client.post("/kiosk/language/", {"language": "es", "next": "//evil.test/x"})
    assert response["Location"] == "/kiosk/"
    assert client.get("/kiosk/language/").status_code == 405
    page = client.get(f"/kiosk/{desk['session'].pk}/").content.decode()
    assert 'aria-pressed="true" class="primary">Español</button>' in page
    assert '<button type="submit" name="language" value="en" lang="en"' in page


# --- dates, numbers and the services' messages ------------------------------------------------


def test_dates_times_and_numbers_follow_the_language() -> None:
    day = dt.date(2030, 3, 5)
    evening = dt.datetime(2030, 3, 5, 18, 0)
    with translation.override("es"):
        assert display.day(day) == "5 mar 2030"
        assert display.day(day, weekday=True) == "martes 5 mar 2030"
        assert display.clock(evening) == "6:00 p. m."
        assert display.clock_span(evening, evening.replace(hour=20)) == "6:00–8:00 p. m."
        assert display.clock_span(evening.replace(hour=11, minute=30), evening.replace(
            hour=13)) == "11:30 a. m.–1:00 p. m."
        assert display.number(1250.5) == "1,250.5"
    with translation.override("en"):
        assert display.day(day, weekday=True) == "Tue 5 Mar 2030"
        assert display.clock_span(evening, evening.replace(hour=20)) == "6:00–8:00 PM"


def test_a_language_with_other_separators_gets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(display.HOUSE_FORMATS, "es", display.HouseFormat(
        months=display.HOUSE_FORMATS["es"].months, weekdays=display.HOUSE_FORMATS["es"].weekdays,
        am="a. m.", pm="p. m.", decimal=",", thousands="."))
    with translation.override("es"):
        assert display.number(1250.5) == "1.250,5"
        assert display.quantity(25, "usd") == "$25,00"


def test_known_service_messages_match_what_the_services_say() -> None:
    """The patterns of web/front_desk_messages.py against the services' own words: a service
    that rewords a message fails here, not silently at the desk."""
    with translation.override("es"):
        said = {
            f"{writers._who_do(1)} not meet this benefit's eligibility rules. A manager may "
            "override with a reason.": "1 persona no cumple",
            f"{writers._who_do(3)} not meet this benefit's eligibility rules. A manager may "
            "override with a reason.": "3 personas no cumplen",
            "This session is cancelled; nobody can be added to it.": "Esta sesión está cancelada",
            "Someone with this name is registered already.": "Ya hay alguien inscrito",
            "Unknown person 12.": "No encontramos a la persona 12.",
            "The status 'late' is retired.": "El estado “late” ya no se usa.",
        }
        for english, spanish in said.items():
            assert front_desk_message(english).startswith(spanish), english
        assert front_desk_message("Something new.") == "Something new."
        for pattern, translate in front_desk_messages.KNOWN:
            assert pattern.pattern  # every pattern has a translation callable
            assert callable(translate)


@pytest.mark.django_db
def test_a_cancelled_session_at_the_kiosk_answers_in_spanish(client: Client, charlie: Any,
                                                            desk: dict[str, Any]) -> None:
    client.force_login(charlie)
    _in_spanish(client)
    session = desk["session"]
    assert session.local_date == localdate()
    other = f.PersonFactory(first_name="Ana", last_name="Ruiz")
    session.status = "cancelled"
    session.save(update_fields=["status"])
    response = client.post(f"/kiosk/{session.pk}/", {"person_id": other.pk})
    assert response.status_code == 404  # the kiosk shows today's sessions that go ahead only
    sheet = client.get(f"/sessions/{session.pk}/").content.decode()
    assert "Esta sesión está cancelada: no se puede registrar su asistencia." in sheet


def test_every_template_compiles_in_spanish() -> None:
    engine = engines["django"]
    with translation.override("es"):
        for name in front_desk_templates():
            engine.get_template(name)
