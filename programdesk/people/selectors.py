"""Reads for people, accounts and cases: visibility, search, duplicate detection, and the
participation records shown on their pages."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db.models import Case as CaseWhen
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat

from programdesk.core.bulk import JsonValues, id_values
from programdesk.core.models import User
from programdesk.core.relations import related_model
from programdesk.core.scoping import visible_or_404
from programdesk.people import matching
from programdesk.people.models import (
    Account,
    AccountKind,
    Case,
    HouseholdMembership,
    Person,
    Relationship,
    RevokedCardCode,
)

# --- Visibility --------------------------------------------------------------------------------
#
# A user limited to some programs sees a person who is in one of those programs — enrolled (in
# any status, past enrollments included) or the client of a case linked to it — or whose
# household is (another member, or the household's own enrollment), or who is in no program at
# all. The last part is shared intake: a walk-in registered at the front desk must be findable
# by every program's staff before anyone enrolls them, or each program would register them again.
# An account (household) is visible when one of its members or its own enrollment is, or when it
# has neither (a household just created). A case is visible when it is linked to one of the
# user's programs, or to no program and its person or account is visible.
#
# Every door uses these querysets — pages, the API, imports, duplicate matching — so a person or
# household outside the user's programs is "not found" everywhere, never "forbidden".


def _enrollments() -> Any:
    # participation's enrollments, through the reverse relation it declares on Person
    # (core/relations.py): people sits below participation and does not import it.
    return related_model(Person, "enrollments").objects


def _case_links() -> Any:
    return Case.programs.through.objects


def people_visible(user: User) -> QuerySet[Person]:
    ids = user.visible_program_ids()
    qs = Person.objects.all()
    if ids is None:
        return qs
    enrollments, links = _enrollments(), _case_links()
    # The programs' sides are plain (uncorrelated) ``IN`` subqueries, evaluated once per query:
    # correlated, SQLite would look each person up through the program_id index, a scan of the
    # program's enrollments for every person (an import's matching took minutes).
    here = enrollments.filter(program_id__in=ids)
    mine = (Q(pk__in=here.filter(person_id__isnull=False).values("person_id"))
            | Q(pk__in=links.filter(program_id__in=ids, case__person_id__isnull=False)
                .values("case__person_id")))
    household = (Q(account_id__in=here.filter(person__account_id__isnull=False)
                   .values("person__account_id"))
                 | Q(account_id__in=here.filter(account_id__isnull=False).values("account_id")))
    # "In no program": correlated, each one an index lookup by person.
    in_no_program = (~Exists(enrollments.filter(person_id=OuterRef("pk")))
                     & ~Exists(links.filter(case__person_id=OuterRef("pk"))))
    return qs.filter(mine | household | in_no_program)


def accounts_visible(user: User) -> QuerySet[Account]:
    ids = user.visible_program_ids()
    qs = Account.objects.all()
    if ids is None:
        return qs
    enrollments = _enrollments()
    own = Q(pk__in=enrollments.filter(program_id__in=ids, account_id__isnull=False)
            .values("account_id"))  # uncorrelated, as in people_visible
    member = Exists(people_visible(user).filter(account_id=OuterRef("pk")))
    neither = (~Exists(Person.objects.filter(account_id=OuterRef("pk")))
               & ~Exists(enrollments.filter(account_id=OuterRef("pk"))))
    return qs.filter(own | member | neither)


def accounts_for_picker(user: User) -> QuerySet[Account]:
    """The accounts a person may be put in, each with what tells one "Garcia household" from the
    next: ``member_count``, ``first_member`` (the longest-standing member's name) and the postal
    code. One query, whatever the number of accounts."""
    first = Person.objects.filter(account_id=OuterRef("pk")).order_by("id")
    return (accounts_visible(user)
            .annotate(member_count=Count("members"),
                      first_member=Subquery(first.annotate(
                          full=Concat("first_name", Value(" "), "last_name",
                                      output_field=CharField())).values("full")[:1]))
            .order_by("name", "postal_code", "id"))


def cases_visible(user: User) -> QuerySet[Case]:
    ids = user.visible_program_ids()
    qs = Case.objects.all()
    if ids is None:
        return qs
    links = Case.programs.through.objects
    here = links.filter(case_id=OuterRef("pk"), program_id__in=ids)
    anywhere = links.filter(case_id=OuterRef("pk"))
    client_visible = (Q(person_id__in=people_visible(user).values("pk"))
                      | Q(account_id__in=accounts_visible(user).values("pk")))
    return qs.filter(Exists(here) | (~Exists(anywhere) & client_visible))


def person_get(user: User, pk: Any) -> Person:
    return visible_or_404(people_visible(user).select_related("account"), pk)


def account_get(user: User, pk: Any) -> Account:
    return visible_or_404(accounts_visible(user), pk)


def case_get(user: User, pk: Any) -> Case:
    return visible_or_404(cases_visible(user).select_related("person", "account", "worker"), pk)


# --- Search ------------------------------------------------------------------------------------

def parse_date_loose(text: str) -> dt.date | None:
    """A date typed into a search box: ISO (1990-04-02) or US style (4/2/1990)."""
    text = text.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if found:
        month, day, year = map(int, found.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    return None


def people_search(qs: QuerySet[Person], text: str) -> QuerySet[Person]:
    """Every word must match a name, email, phone or postal code fragment; a date (ISO or
    M/D/YYYY) finds that birth date."""
    text = (text or "").strip()
    if not text:
        return qs
    date = parse_date_loose(text)
    if date is not None:
        return qs.filter(birth_date=date)
    for word in text.split()[:8]:
        cond = (Q(first_name__icontains=word) | Q(last_name__icontains=word)
                | Q(email__icontains=word) | Q(postal_code__icontains=word))
        digits = re.sub(r"\D", "", word)
        if len(digits) >= 3:
            cond |= Q(phone_key__contains=digits)
        qs = qs.filter(cond)
    return qs


def accounts_search(qs: QuerySet[Account], text: str) -> QuerySet[Account]:
    for word in (text or "").split()[:8]:
        qs = qs.filter(Q(name__icontains=word) | Q(email__icontains=word)
                       | Q(phone__icontains=word) | Q(postal_code__icontains=word))
    return qs


# --- Duplicate detection -----------------------------------------------------------------------

@dataclass(frozen=True)
class DuplicateMatch:
    person: Person
    reason: str
    score: int = 0


class _Probe(NamedTuple):  # a tuple: imports make 100,000 of them
    first: str
    last: str
    birth_date: dt.date | None
    email: str
    phone: str

    @classmethod
    def of(cls, *, first_name: str, last_name: str, birth_date: Any = None, email: str = "",
           phone: str = "") -> _Probe:
        return cls.of_keys(matching.person_keys(first_name or "", last_name or "", email or "",
                                                phone or ""), cls.birth_date_of(birth_date))

    @classmethod
    def of_keys(cls, keys: matching.PersonKeys, birth_date: dt.date | None) -> _Probe:
        return cls(first=keys.first, last=keys.last, birth_date=birth_date, email=keys.email,
                   phone=keys.phone if len(keys.phone) >= 7 else "")

    @staticmethod
    def birth_date_of(value: Any) -> dt.date | None:
        """A date, or None for anything else (an ISO string is read; a date and time is no
        birth date)."""
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip()) if value else None
            except ValueError:
                value = None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            return None
        return value


def _match(probe: _Probe, *, first: str, last: str, birth_date: dt.date | None, email: str,
           phone_key: str, strict: bool) -> tuple[int, list[str]]:
    """How strongly an existing person matches, and why. ``strict`` (import matching) needs a
    similar name besides a shared email, phone or birth date; otherwise (shown to staff, who
    decide) a shared email or phone alone is worth showing."""
    first, last = matching.fold(first), matching.fold(last)
    same_email = bool(probe.email) and probe.email == (email or "").lower()
    same_phone = bool(probe.phone) and probe.phone == phone_key
    both_dated = probe.birth_date is not None and birth_date is not None
    same_birth = both_dated and probe.birth_date == birth_date
    same_name = (probe.first, probe.last) == (first, last)
    name_close = matching.names_similar(probe.first, probe.last, first, last)
    name_loose = matching.names_similar(probe.first, probe.last, first, last, loose=True)
    score, reasons = 0, []
    if same_birth and name_loose:
        score += 8 if same_name else 6
        reasons.append("same name and birth date" if same_name
                       else "same birth date and a similar name")
    elif not (both_dated and not same_birth) and name_close and not strict:
        # Different birth dates mean different people, however alike the names.
        score += 2 if same_name else 1
        reasons.append("same name" if same_name else "similar name")
    if same_email and (name_close or not strict):
        score += 4
        reasons.append("same email address")
    if same_phone and (name_close or not strict):
        score += 3
        reasons.append("same phone number")
    if strict and both_dated and not same_birth:
        return 0, []
    if reasons:
        reasons[0] = reasons[0][0].upper() + reasons[0][1:]
    return score, reasons


def people_find_duplicates(*, first_name: str, last_name: str, birth_date: Any = None,
                           email: str = "", phone: str = "", exclude_id: int | None = None,
                           limit: int = 10, user: User | None) -> list[DuplicateMatch]:
    """Existing people who may be the one being added, best first, each with the reason:
    the same email or phone, the same birth date with a similar name ("Jon Smith, 1990-04-02"
    for "John Smith, 1990-04-02"), or a similar name give or take a typo (when the birth
    dates do not say they are different people). Only people ``user`` may see are
    considered (``None``: everyone — the command line), so the answer says nothing about the
    others, not even that they exist.

    One query: candidates share the email, the phone digits, the birth date or the Soundex
    keys of both names; the comparison itself runs in memory."""
    probe = _Probe.of(first_name=first_name, last_name=last_name, birth_date=birth_date,
                      email=email, phone=phone)
    cond = Q(pk__in=[])
    first_key, last_key = matching.sound_key(first_name), matching.sound_key(last_name)
    if first_key and last_key:
        cond |= Q(first_name_key=first_key, last_name_key=last_key)
        cond |= Q(first_name_key=last_key, last_name_key=first_key)  # first and last swapped
    if probe.email:
        cond |= Q(email=probe.email)
    if probe.phone:
        cond |= Q(phone_key=probe.phone)
    if probe.birth_date:
        cond |= Q(birth_date=probe.birth_date)
    qs = people_visible(user) if user is not None else Person.objects.all()
    qs = qs.filter(cond).select_related("account")
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    found = []
    for person in qs.order_by("id")[:1000]:
        score, reasons = _match(probe, first=person.first_name, last=person.last_name,
                                birth_date=person.birth_date, email=person.email,
                                phone_key=person.phone_key, strict=False)
        if reasons:
            found.append(DuplicateMatch(person=person, reason=", ".join(reasons), score=score))
    found.sort(key=lambda m: (-m.score, m.person.last_name, m.person.first_name, m.person.pk))
    return found[:limit]


def people_match_rows(rows: list[dict[str, Any]], *, among: QuerySet[Person]
                      ) -> list[int | None]:
    """For imports: the existing person each row (first_name, last_name, birth_date, email,
    phone) is, or None. Stricter than ``people_find_duplicates`` because nobody reviews it: a
    row matches on a similar name plus the same birth date, email or phone, and never across
    different birth dates. The best score wins; between equals, the oldest record.

    ``among`` is the people the importing user may see (``people_visible``): a row naming
    someone else is no match — a new person — exactly as if nobody had that name.

    Set-based: one query fetches every candidate sharing an email, phone digits or (birth
    date, last-name Soundex) with any row — the keys travel as one JSON parameter each — and
    the rows are matched against in-memory buckets. No query per row: the visibility
    condition is part of that one query."""
    keys = [(matching.person_keys(str(r.get("first_name") or ""),
                                  str(r.get("last_name") or ""), str(r.get("email") or ""),
                                  str(r.get("phone") or "")),
             _Probe.birth_date_of(r.get("birth_date"))) for r in rows]
    return people_match_keys(keys, among=among)


def people_match_keys(rows: list[tuple[matching.PersonKeys, dt.date | None]], *,
                      among: QuerySet[Person]) -> list[int | None]:
    """``people_match_rows`` for rows whose keys are computed already (``matching.person_keys``,
    with the birth date): an import computes them once per row and writes them too."""
    candidates = _MatchCandidates.fetch(rows, among=among)
    if candidates is None or candidates.empty():  # a first import: nobody to compare with
        return [None] * len(rows)
    probes = [_Probe.of_keys(keys, birth_date) for keys, birth_date in rows]
    name_keys = [(keys.last_sound, keys.first_sound) for keys, _ in rows]
    best = candidates.best
    return [best(probe, keys) for probe, keys in zip(probes, name_keys, strict=True)]


ASK_ANYONE_FROM = 1000  # rows to match: from this many, ask first whether anyone is there


@dataclass
class _MatchCandidates:
    """The people who may match the rows of an import, by email, phone digits and (birth
    date, last-name Soundex): (id, first name, last name, birth date, email, phone key) each.

    Birth-date candidates are bucketed as the query fetches them — not every person born that
    day: comparing 100,000 rows with each person of their birth date would spend most of an
    import in edit distances between unrelated names."""

    by_email: dict[str, list[tuple[Any, ...]]]
    by_phone: dict[str, list[tuple[Any, ...]]]
    by_birth: dict[tuple[dt.date, str], list[tuple[Any, ...]]]

    @classmethod
    def fetch(cls, rows: list[tuple[matching.PersonKeys, dt.date | None]], *,
              among: QuerySet[Person]) -> _MatchCandidates | None:
        """One query; None when no row has anything to match on. (The rows' keys as the
        probes have them: a phone of fewer than 7 digits matches nothing.)"""
        # Sets, not sorted: an IN list's order changes nothing, and sorting 100,000 emails
        # cost more than the query. Dates as dates (JsonValues writes the distinct ones).
        emails = list({k.email for k, _ in rows} - {""})
        phones = list({k.phone for k, _ in rows if len(k.phone) >= 7})
        dates = list({d for _, d in rows if d})
        last_keys = list({k.last_sound for k, _ in rows} - {""})
        if not (emails or phones or (dates and last_keys)):
            return None
        # A first import (into a database, or a scope, with nobody in it yet) has nobody to
        # compare with: for many rows, one "anyone?" query first rather than sending every
        # row's keys. On SQLite the key query alone cost a 100,000-row dry run a seventh of
        # its time, to find nothing; for a few rows it is cheaper than the extra query.
        if len(rows) >= ASK_ANYONE_FROM and not among.exists():
            return None
        cond = Q(pk__in=[])
        if emails:
            cond |= Q(email__in=JsonValues(emails))
        if phones:
            cond |= Q(phone_key__in=JsonValues(phones))
        if dates and last_keys:
            cond |= Q(birth_date__in=JsonValues(dates, cast="date"),
                      last_name_key__in=JsonValues(last_keys))
        found = cls(defaultdict(list), defaultdict(list), defaultdict(list))
        columns = ("id", "first_name", "last_name", "birth_date", "email", "phone_key",
                   "last_name_key")
        for *row, last_key in (among.filter(cond).order_by().values_list(*columns)
                               .iterator(5000)):
            if row[4]:
                found.by_email[row[4].lower()].append(row)
            if row[5]:
                found.by_phone[row[5]].append(row)
            if row[3]:
                found.by_birth[(row[3], last_key)].append(row)
        return found

    def empty(self) -> bool:
        return not (self.by_email or self.by_phone or self.by_birth)

    def best(self, probe: _Probe, name_keys: tuple[str, str]) -> int | None:
        """The id of the best match of one row (between equals, the oldest), or None."""
        candidates = {c[0]: c for c in (self.by_email.get(probe.email, []) if probe.email
                                        else [])}
        candidates.update((c[0], c) for c in self.by_phone.get(probe.phone, []) if probe.phone)
        if probe.birth_date:
            # first and last name swapped count too
            for key in set(name_keys):
                candidates.update((c[0], c) for c in self.by_birth.get((probe.birth_date, key),
                                                                       []))
        best: tuple[int, int] | None = None
        for pk, first, last, birth_date, email, phone_key in candidates.values():
            score, _ = _match(probe, first=first, last=last, birth_date=birth_date, email=email,
                              phone_key=phone_key, strict=True)
            if score and (best is None or (score, -pk) > (best[0], -best[1])):
                best = (score, pk)
        return best[1] if best else None


# --- Records shown on the person, account and case pages ---------------------------------------

RECENT = 100


def _visible_programs(qs: QuerySet[Any], user: User) -> QuerySet[Any]:
    ids = user.visible_program_ids()
    return qs if ids is None else qs.filter(program_id__in=ids)


def _disbursements() -> Any:
    return related_model(Person, "disbursements").objects.select_related(
        "benefit", "program", "status", "unit", "session", "person", "account", "case")


def person_records(person: Person, user: User) -> dict[str, Any]:
    """The person's enrollments, latest disbursements and cases, limited to the user's
    programs. Read-only: these tables belong to the participation area."""
    enrollments = _visible_programs(
        _enrollments().filter(person=person).select_related("program", "status"), user)
    disbursements = _visible_programs(_disbursements().filter(person=person), user)
    cases = cases_visible(user).filter(person=person).select_related("worker")
    return {"enrollments": list(enrollments.order_by("-is_active", "-id")),
            "disbursements": list(disbursements[:RECENT]),
            "disbursement_count": disbursements.count(),
            "cases": list(cases)}


def account_records(account: Account, user: User) -> dict[str, Any]:
    """The account's members, and the enrollments, disbursements and cases of the account
    itself and of its members (a household's whole history on one page)."""
    members = list(people_visible(user).filter(account=account))
    household = Q(account=account) | Q(person__account=account)
    enrollments = _visible_programs(
        _enrollments().filter(household).select_related("program", "status", "person"), user)
    # Disbursements also while a past member lived here (the snapshot on each row).
    disbursements = _visible_programs(
        _disbursements().filter(household | Q(household=account)), user)
    cases = cases_visible(user).filter(household).select_related("worker", "person")
    return {"members": members,
            "enrollments": list(enrollments.order_by("-is_active", "-id")),
            "disbursements": list(disbursements[:RECENT]),
            "disbursement_count": disbursements.count(),
            "cases": list(cases)}


def case_disbursements(case: Case, user: User) -> list[Any]:
    return list(_visible_programs(_disbursements().filter(case=case), user)[:RECENT])


def people_by_ids(user: User, ids: Iterable[int]) -> dict[int, Person]:
    return {p.pk: p for p in people_visible(user).filter(pk__in=list(ids))}


# --- Households --------------------------------------------------------------------------------

def household_memberships(account: Account, user: User, *, current_only: bool = False
                          ) -> QuerySet[HouseholdMembership]:
    """The household's members over time (current first, then by start date), limited to the
    people the user may see."""
    qs = (HouseholdMembership.objects.filter(account=account,
                                             person__in=people_visible(user).values("pk"))
          .select_related("person"))
    if current_only:
        qs = qs.filter(end_date__isnull=True)
    return qs.order_by(F("end_date").desc(nulls_first=True), "-start_date", "id")


def person_memberships(person: Person) -> QuerySet[HouseholdMembership]:
    """The person's households over time, latest first."""
    return (HouseholdMembership.objects.filter(person=person).select_related("account")
            .order_by(F("end_date").desc(nulls_first=True), "-start_date", "id"))


@dataclass(frozen=True)
class HouseholdFacts:
    """A household today: its size (current members plus declared ones), its head."""

    members: int
    size: int
    head_person_id: int | None


def households_today(account_ids: Iterable[int]) -> dict[int, HouseholdFacts]:
    """Size and head of each household among ``account_ids`` (two queries, any number)."""
    ids = sorted(set(account_ids))
    if not ids:
        return {}
    declared = dict(Account.objects.filter(pk__in=id_values(ids), kind=AccountKind.HOUSEHOLD)
                    .values_list("pk", "declared_size"))
    members: dict[int, int] = defaultdict(int)
    heads: dict[int, int] = {}
    for account_id, person_id, relationship in (
            HouseholdMembership.objects.filter(account_id__in=id_values(declared),
                                               end_date__isnull=True)
            .values_list("account_id", "person_id", "relationship")):
        members[account_id] += 1
        if relationship == Relationship.HEAD:
            heads[account_id] = person_id
    return {pk: HouseholdFacts(members=members[pk], size=members[pk] + (extra or 0),
                               head_person_id=heads.get(pk))
            for pk, extra in declared.items()}


Interval = tuple[dt.date, dt.date | None]


def _covers(interval: Interval, day: dt.date) -> bool:
    return interval[0] <= day and (interval[1] is None or day <= interval[1])


class HouseholdSnapshots:
    """Who lived in which household on which day, for the rows one write is about to insert:
    ``of(person_id, account_id, day)`` is ``(household_id, household_size)`` as they were on
    ``day`` — the person's household then, or the account itself when it is a household —
    or ``(None, None)``. Built by ``household_snapshots`` in a constant number of queries."""

    def __init__(self, *, person_spans: dict[int, list[tuple[int, Interval]]],
                 household_spans: dict[int, list[Interval]], declared: dict[int, int]) -> None:
        self._person_spans = person_spans
        self._household_spans = household_spans
        self._declared = declared
        self._sizes: dict[tuple[int, dt.date], int] = {}

    def size(self, household_id: int, day: dt.date) -> int:
        key = (household_id, day)
        if key not in self._sizes:
            self._sizes[key] = (sum(1 for span in self._household_spans.get(household_id, ())
                                    if _covers(span, day))
                                + self._declared.get(household_id, 0))
        return self._sizes[key]

    def of(self, person_id: int | None, account_id: int | None, day: dt.date
           ) -> tuple[int | None, int | None]:
        household_id = None
        if person_id is not None:
            # Most people of a bulk write are in no household: no generator for them.
            spans = self._person_spans.get(person_id)
            if not spans:
                return None, None
            household_id = next((h for h, span in spans if _covers(span, day)), None)
        elif account_id is not None and account_id in self._declared:
            household_id = account_id
        if household_id is None:
            return None, None
        return household_id, self.size(household_id, day)


def household_snapshots(*, person_ids: Iterable[int] = (), account_ids: Iterable[int] = (),
                        days: Iterable[dt.date]) -> HouseholdSnapshots:
    """The household snapshots of these people and accounts on these days (a disbursement
    records them on its ``disbursed_on``). Three queries whatever the number of rows: the
    people's memberships, the households' declared sizes, the households' memberships —
    only memberships that overlap the days."""
    people, accounts, day_list = set(person_ids), set(account_ids), set(days)
    if not day_list or not (people or accounts):
        return HouseholdSnapshots(person_spans={}, household_spans={}, declared={})
    first, last = min(day_list), max(day_list)
    overlapping = HouseholdMembership.objects.filter(
        Q(end_date__isnull=True) | Q(end_date__gte=first), start_date__lte=last)
    person_spans: dict[int, list[tuple[int, Interval]]] = defaultdict(list)
    if people:
        for person_id, account_id, start, end in (
                overlapping.filter(person_id__in=id_values(people))
                .values_list("person_id", "account_id", "start_date", "end_date")):
            person_spans[person_id].append((account_id, (start, end)))
    wanted = accounts | {h for spans in person_spans.values() for h, _ in spans}
    declared = {pk: size or 0 for pk, size in
                Account.objects.filter(pk__in=id_values(wanted), kind=AccountKind.HOUSEHOLD)
                .values_list("pk", "declared_size")} if wanted else {}
    household_spans: dict[int, list[Interval]] = defaultdict(list)
    if declared:
        for account_id, start, end in (
                overlapping.filter(account_id__in=id_values(declared))
                .values_list("account_id", "start_date", "end_date")):
            household_spans[account_id].append((start, end))
    return HouseholdSnapshots(person_spans=dict(person_spans),
                              household_spans=dict(household_spans), declared=declared)


# HouseholdSnapshots.of in SQL (household_snapshot_sql): the household of each source row on
# its day, then that household's size on the day.
_SNAPSHOT_SQL = """
SELECT s.ref, s.hh,
       CASE WHEN s.hh IS NULL THEN NULL
            WHEN a.kind = 'household' THEN
                 (SELECT COUNT(*) FROM people_householdmembership m
                  WHERE m.account_id = s.hh AND m.start_date <= s.day
                    AND (m.end_date IS NULL OR m.end_date >= s.day))
                 + COALESCE(a.declared_size, 0)
            ELSE 0 END{passthrough}
FROM (SELECT r.*,
             CASE WHEN r.person_id IS NOT NULL THEN
                       (SELECT m.account_id FROM people_householdmembership m
                        WHERE m.person_id = r.person_id AND m.start_date <= r.day
                          AND (m.end_date IS NULL OR m.end_date >= r.day)
                        ORDER BY m.start_date, m.id LIMIT 1)
                  WHEN r.account_id IS NOT NULL THEN
                       (SELECT h.id FROM people_account h
                        WHERE h.id = r.account_id AND h.kind = 'household')
             END AS hh
      FROM ({source}) r) s
LEFT JOIN people_account a ON a.id = s.hh"""


def household_snapshot_sql(source: str, *, passthrough: Sequence[str] = ()) -> str:
    """``HouseholdSnapshots.of`` as one SQL query, for rows already in the database (a
    session's rows becoming delivered): no row, membership or date goes through Python.

    ``source`` is a subquery with the columns ``ref`` (the row's key), ``person_id``,
    ``account_id`` and ``day`` (a date column); the query gives ``ref, household_id,
    household_size`` and then the ``passthrough`` columns of ``source``, a row for each
    source row. The rule is ``of``'s: a person's household is their membership covering the
    day (the earliest started, then the lowest id, when two do — the order
    ``household_snapshots`` reads them in), else an account that is a household is its own;
    the size is that household's memberships covering the day plus its declared size (0 for
    an account that is not a household). tests/people/test_household_snapshot_sql.py holds
    the two to the same answers."""
    return _SNAPSHOT_SQL.format(
        source=source, passthrough="".join(f", s.{column}" for column in passthrough))


def current_household_columns(account: str = "account") -> dict[str, Any]:
    """Annotations for a query of rows pointing at an account (``account``: the path to
    it): ``current_household_id`` (the account when it is a household) and
    ``current_household_size`` (its current members plus those declared; None outside a
    household). A subquery per row, no join that multiplies rows: for exports."""
    is_household = Q(**{f"{account}__kind": AccountKind.HOUSEHOLD})
    members = (HouseholdMembership.objects
               .filter(account_id=OuterRef(f"{account}_id"), end_date__isnull=True)
               .order_by().values("account_id").annotate(n=Count("id")).values("n"))
    return {
        "current_household_id": CaseWhen(When(is_household, then=F(f"{account}_id")),
                                     default=None),
        "current_household_size": CaseWhen(When(is_household, then=(
            Coalesce(Subquery(members), 0) + Coalesce(F(f"{account}__declared_size"), 0))),
            default=None),
    }


@dataclass(frozen=True)
class Serving:
    """Whom staff serve when they serve this person: "the Harris household, 5 people"."""

    account_id: int
    label: str
    size: int

    def __str__(self) -> str:
        return f"the {self.label}, {self.size} {'person' if self.size == 1 else 'people'}"


def household_serving(*, person_id: int | None = None, account_id: int | None = None,
                      on: dt.date) -> Serving | None:
    """The household a person (or a household account) is served as on a day, with its size
    then — what the disbursement will record. None outside any household."""
    snaps = household_snapshots(person_ids=[person_id] if person_id else [],
                                account_ids=[account_id] if account_id else [], days=[on])
    household_id, size = snaps.of(person_id, account_id, on)
    if household_id is None or size is None:
        return None
    name = Account.objects.values_list("name", flat=True).get(pk=household_id)
    return Serving(account_id=household_id, label=household_label(name), size=size)


def household_label(name: str) -> str:
    """"Harris" → "Harris household"; "Harris household" stays as it is."""
    return name if name.lower().endswith("household") else f"{name} household"


# --- check-in cards ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CardFound:
    """What a scanned card code is: a person's card, a household's, or a revoked code (whose
    holder is named for staff; a kiosk says only that the card was replaced)."""

    person: Person | None = None
    account: Account | None = None
    revoked: bool = False


def card_code_clean(text: str) -> str:
    """A scanned or typed code as stored: no surrounding spaces, capitals (the codes made by
    ``card_issue`` are; older ones set by hand are compared without regard to case)."""
    return "".join(text.split()).upper()[:32]


def card_find(*, user: User | None, code: str) -> CardFound | None:
    """The card with this code among what ``user`` may see (None: every record), or None.
    A card of someone outside the user's programs is "unknown", exactly like a code nobody
    has. Three small indexed reads at most."""
    code = card_code_clean(code)
    if len(code) < 2:
        return None
    people = people_visible(user) if user is not None else Person.objects.all()
    person = people.filter(card_code__iexact=code).select_related("account").first()
    if person is not None:
        return CardFound(person=person)
    accounts = accounts_visible(user) if user is not None else Account.objects.all()
    account = accounts.filter(card_code__iexact=code).first()
    if account is not None:
        return CardFound(account=account)
    revoked = RevokedCardCode.objects.filter(code__iexact=code).select_related(
        "person", "account").first()
    if revoked is None:
        return None
    if revoked.person_id is not None and not people.filter(pk=revoked.person_id).exists():
        return None
    if revoked.account_id is not None and not accounts.filter(pk=revoked.account_id).exists():
        return None
    return CardFound(person=revoked.person, account=revoked.account, revoked=True)
