"""A believable organisation built from the use cases, through the services (so it is audited
and obeys every rule). Running it twice changes nothing: it is built in one transaction and
skipped when its first program exists."""

from __future__ import annotations

import datetime as dt
import random
import secrets
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from programdesk.core.models import User
from programdesk.core.roles import Role
from programdesk.core.selectors import status_first_in_bucket
from programdesk.core.services import user_create
from programdesk.participation.models import BenefitDisbursement, ProgramEnrollment
from programdesk.participation.services import (
    AttendanceMark,
    DisbursementLine,
    attendance_record,
    cohort_add_members,
    disbursements_bulk_anonymous,
    disbursements_bulk_enrollment,
    disbursements_bulk_walk_in,
    disbursements_create_ad_hoc,
    schedule_add_participants,
    session_add_participants,
)
from programdesk.people.models import Account, HouseholdMembership, Person
from programdesk.people.services import (
    account_create,
    case_create,
    household_member_add,
    household_member_move,
    person_create,
    person_document_add,
)
from programdesk.programs.limits import ServiceLimit
from programdesk.programs.models import Benefit, BenefitType, Program, UnitOfMeasure
from programdesk.programs.services import (
    benefit_create,
    cohort_create,
    eligibility_rule_create,
    income_guidelines_replace,
    program_create,
)
from programdesk.scheduling.models import BenefitSchedule
from programdesk.scheduling.services import schedule_create, session_update

DEMO_USERS = ["admin", "manager", "staff", "viewer", "kiosk"]
FIRST_PROGRAM = "Summer Learning Program"

FIRST_NAMES = [
    "Aaliyah", "Amir", "Ana", "Andre", "Beatriz", "Carlos", "Chen", "Daniel", "Deja", "Diego",
    "Elena", "Emeka", "Fatima", "Grace", "Hana", "Hector", "Imani", "Isaac", "Jamal", "Jasmine",
    "John", "Kai", "Keisha", "Lena", "Liam", "Lucia", "Malik", "Maria", "Mei", "Miguel", "Nadia",
    "Noah", "Olivia", "Omar", "Priya", "Quinn", "Rosa", "Samuel", "Sofia", "Tariq", "Tomas",
    "Uma", "Valeria", "Wei", "Xavier", "Yara", "Yusuf", "Zoe", "Dorothy", "Harold", "Margaret",
    "Walter", "Evelyn", "Frank", "Gloria", "Raymond",
]
LAST_NAMES = [
    "Adams", "Ahmed", "Alvarez", "Baker", "Brown", "Chen", "Clark", "Davis", "Diaz", "Evans",
    "Garcia", "Gonzalez", "Green", "Hall", "Harris", "Hernandez", "Jackson", "Johnson", "Kim",
    "Lee", "Lewis", "Lopez", "Martin", "Martinez", "Moore", "Nguyen", "Okafor", "Patel", "Perez",
    "Ramirez", "Robinson", "Rodriguez", "Sanchez", "Singh", "Smith", "Taylor", "Thomas",
    "Thompson", "Torres", "Walker", "White", "Williams", "Wilson", "Young",
]
POSTAL_CODES = [
    "02119", "02120", "02121", "02122", "02124", "02125", "02126", "02130", "02134",
]


def demo_password() -> str:
    path = settings.VAR_DIR / "demo-password.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def _ensure_users(password: str) -> User:
    for username in DEMO_USERS:
        if not User.objects.filter(username=username).exists():
            user_create(actor=None, username=username, role=Role(username), password=password)
    return User.objects.get(username="admin")


def demo_build(*, stdout: Any = None, people: int = 320, seed: int = 7) -> dict[str, Any]:
    password = demo_password()
    credentials = {"users": DEMO_USERS, "password": password}
    with transaction.atomic():
        admin = _ensure_users(password)
        if Program.objects.filter(name=FIRST_PROGRAM).exists():
            if stdout:
                stdout.write("Demo data is already loaded.")
            return credentials
        rng = random.Random(seed)
        _build(admin, rng, people)
    if stdout:
        stdout.write(f"Demo data loaded: {Program.objects.count()} programs, "
                     f"{Person.objects.count()} people, {Account.objects.count()} accounts.")
    return credentials


def _build(admin: User, rng: random.Random, n_people: int) -> None:
    unit = {u.code: u for u in UnitOfMeasure.objects.all()}
    btype = {b.name: b for b in BenefitType.objects.all()}
    today = timezone.localdate()
    # The "term" began ten weeks ago: every schedule has a past (with attendance) and a future.
    term_start = today - dt.timedelta(weeks=7)
    people = _people(admin, rng, n_people, today)
    by_age = _by_age(people, today)

    def program(name: str, summary: str, **kw: Any) -> Program:
        return program_create(actor=admin, name=name, summary=summary, **kw)

    def benefit(prog: Program, name: str, **kw: Any) -> Benefit:
        return benefit_create(actor=admin, program=prog, name=name, **kw)

    def schedule(ben: Benefit, name: str, *, start: dt.date, at: dt.time, hours: float,
                 rule: dict[str, Any], **kw: Any) -> BenefitSchedule:
        begin = dt.datetime.combine(start, at)
        result = schedule_create(actor=admin, benefit=ben, name=name, timezone=TIME_ZONE,
                                 first_session_start=begin,
                                 first_session_end=begin + dt.timedelta(hours=hours),
                                 recurrence=rule, **kw)
        assert result.schedule is not None
        return result.schedule

    # 1. Summer learning: a 10-week class, registered students, attendance so far.
    summer = program(FIRST_PROGRAM, "Ten weeks of reading, math and field trips for grades 3-8.",
                     start_date=term_start, end_date=term_start + dt.timedelta(weeks=10))
    summer_class = benefit(summer, "Summer class", benefit_type=btype["Class or group session"])
    summer_schedule = schedule(
        summer_class, "Summer class (Tue & Thu mornings)", start=_next_weekday(term_start, 1),
        at=dt.time(9, 30), hours=2.5, location="Room 2", capacity=40,
        rule={"frequency": "weekly", "weekdays": ["TU", "TH"], "count": 20})
    students = rng.sample(by_age["child"], min(32, len(by_age["child"])))
    schedule_add_participants(actor=admin, schedule=summer_schedule,
                              person_ids=[p.pk for p in students], on=term_start)
    cohort = cohort_create(actor=admin, program=summer, name="Summer cohort A",
                           start_date=term_start)
    cohort_add_members(actor=admin, cohort=cohort, on=term_start, enrollment_ids=list(
        ProgramEnrollment.objects.filter(program=summer).values_list("id", flat=True)))
    _take_attendance(admin, rng, summer_schedule, today, present=0.86)

    # 2. Grief support: an eight-week evening series.
    grief = program("Grief Support Series", "An eight-week facilitated support group.")
    grief_session = benefit(grief, "Support group session", benefit_type=btype["Counseling"],
                            default_quantity=Decimal("1.5"))
    grief_schedule = schedule(
        grief_session, "Thursday evening group", start=_next_weekday(today - dt.timedelta(
            weeks=5), 3), at=dt.time(18, 30), hours=1.5, location="Library", capacity=12,
        rule={"frequency": "weekly", "count": 8})
    schedule_add_participants(actor=admin, schedule=grief_schedule, on=term_start,
                              person_ids=[p.pk for p in rng.sample(by_age["adult"], 11)])
    _take_attendance(admin, rng, grief_schedule, today, present=0.8)

    # 3. Bus passes for low-income youth, with eligibility rules and monthly bulk passes.
    transit = program("Youth Transit Passes", "Monthly bus passes for low-income youth 14-24.")
    bus_pass = benefit(transit, "Monthly bus pass", benefit_type=btype["Transit pass"])
    eligibility_rule_create(actor=admin, program=transit, criterion="age",
                            params={"min": 14, "max": 24}, mode="block")
    eligibility_rule_create(actor=admin, program=transit, criterion="income",
                            params={"max_percent": 200}, mode="warn")
    eligibility_rule_create(actor=admin, benefit=bus_pass, criterion="document",
                            params={"document_type": "income", "within_days": 365}, mode="warn")
    income_guidelines_replace(actor=admin, rows=[
        (size, Decimal(15650 + 5500 * (size - 1))) for size in range(1, 9)])
    # Well inside 14-24 on every date of the term (the age rule blocks).
    riders = [p for p in by_age["youth"] if p.birth_date and 15 * 366 < (
        today - p.birth_date).days < 23 * 365][:40]
    for rider in riders[:25]:
        person_document_add(actor=admin, person=rider, document_type="income",
                            verified_on=today - dt.timedelta(days=rng.randint(10, 300)))
    for months_ago in (2, 1, 0):
        first_of_month = (today.replace(day=1) - dt.timedelta(days=31 * months_ago)).replace(
            day=1)
        disbursements_bulk_walk_in(actor=admin, benefit=bus_pass, quantity=Decimal(1),
                                   disbursed_on=max(first_of_month, term_start),
                                   person_ids=[p.pk for p in riders])

    # 4. Soft skills job training: a cohort, a weekly workshop and one-to-one coaching.
    jobs = program("Job Training: Soft Skills", "Communication, teamwork and interview skills.")
    workshop = benefit(jobs, "Soft skills workshop", benefit_type=btype["Class or group session"])
    coaching = benefit(jobs, "Job coaching", benefit_type=btype["Coaching"])
    jobs_schedule = schedule(
        workshop, "Monday workshop", start=_next_weekday(term_start, 0), at=dt.time(13),
        hours=2, location="Training room", capacity=20,
        rule={"frequency": "weekly", "count": 10})
    trainees = rng.sample(by_age["adult"], 16)
    schedule_add_participants(actor=admin, schedule=jobs_schedule, on=term_start,
                              person_ids=[p.pk for p in trainees])
    spring = cohort_create(actor=admin, program=jobs, name="Spring cohort", max_members=20,
                           start_date=term_start)
    cohort_add_members(actor=admin, cohort=spring, on=term_start, enrollment_ids=list(
        ProgramEnrollment.objects.filter(program=jobs).values_list("id", flat=True)))
    _take_attendance(admin, rng, jobs_schedule, today, present=0.78)
    disbursements_bulk_enrollment(
        actor=admin, benefit=coaching, quantity=Decimal(1),
        disbursed_on=today - dt.timedelta(days=9), enrollment_ids=list(
            ProgramEnrollment.objects.filter(program=jobs).values_list("id", flat=True))[:8])

    # 5-7. Walk-in programs: people come as they choose and sign in at each session.
    tutoring = program("Drop-in Tutoring", "After-school homework help; students sign in.")
    tutoring_hour = benefit(tutoring, "Tutoring hour", benefit_type=btype["Tutoring"])
    tutoring_schedule = schedule(
        tutoring_hour, "After school (Mon-Thu)", start=_next_weekday(term_start, 0),
        at=dt.time(15, 30), hours=2, location="Homework room",
        rule={"frequency": "weekly", "weekdays": ["MO", "TU", "WE", "TH"], "count": 48})
    _walk_ins(admin, rng, tutoring_schedule, today, by_age["child"] + by_age["youth"], 6, 14)
    seniors = program("Senior Exercise", "Weekly chair yoga and strength for members 60+.")
    exercise = benefit(seniors, "Exercise class", benefit_type=btype["Class or group session"])
    exercise_schedule = schedule(
        exercise, "Tuesday chair yoga", start=_next_weekday(term_start, 1), at=dt.time(10),
        hours=1, location="Hall", rule={"frequency": "weekly", "count": 16})
    _walk_ins(admin, rng, exercise_schedule, today, by_age["senior"], 8, 18)
    meal = program("Community Meal", "A weekly hot meal, open to all.")
    hot_meal = benefit(meal, "Hot meal", benefit_type=btype["Meal"])
    meal_schedule = schedule(
        hot_meal, "Wednesday supper", start=_next_weekday(term_start, 2), at=dt.time(17, 30),
        hours=1.5, location="Dining room", rule={"frequency": "weekly", "count": 16})
    _walk_ins(admin, rng, meal_schedule, today, people, 10, 25)
    for session in meal_schedule.sessions.filter(local_date__lt=today):
        n = rng.randint(25, 45)  # and those who gave no name
        disbursements_bulk_anonymous(actor=admin, benefit=hot_meal, quantity=Decimal(n),
                                     disbursed_on=session.local_date, number_of_recipients=n)

    # 8. Flood relief: kits to households in the flooded area, and to people who gave no name.
    flood = program("Flood Relief", "Emergency kits for households in the flooded area.")
    # One kit per household per month: the front desk sees when and where one was given.
    kit = benefit(flood, "Emergency kit", benefit_type=btype["Relief kit"],
                  limit=ServiceLimit(max=1, per="month", scope="household"))
    flooded = list(Account.objects.filter(postal_code__in=FLOODED)[:30])
    flood_day = today - dt.timedelta(days=20)
    disbursements_bulk_walk_in(actor=admin, benefit=kit, quantity=Decimal(1),
                               disbursed_on=flood_day, account_ids=[a.pk for a in flooded])
    disbursements_bulk_anonymous(actor=admin, benefit=kit, quantity=Decimal(60),
                                 disbursed_on=flood_day, number_of_recipients=60)

    # 9. Case management: cases, and benefits logged on them in one go.
    case_mgmt = program("Case Management", "One-to-one support by case workers.")
    passes = benefit(case_mgmt, "Bus pass", unit=unit["pass"])
    coach = benefit(case_mgmt, "Job coaching", benefit_type=btype["Coaching"])
    resume = benefit(case_mgmt, "Résumé review", unit=unit["hour"],
                     default_quantity=Decimal("0.5"))
    manager = User.objects.get(username="manager")
    for client in rng.sample(by_age["adult"], 12):
        case = case_create(actor=manager, subject=rng.choice(CASE_SUBJECTS), person=client,
                           programs=[case_mgmt], opened_on=term_start, worker=manager)
        for weeks_ago in rng.sample(range(1, 7), 2):
            disbursements_create_ad_hoc(
                actor=manager, person=client, case=case,
                disbursed_on=today - dt.timedelta(weeks=weeks_ago), lines=[
                    DisbursementLine(passes.pk, Decimal(1)),
                    DisbursementLine(coach.pk, Decimal(1)),
                    DisbursementLine(resume.pk, Decimal("0.5"))])

    _food_pantry(admin, rng, people, today, btype["Supplies"])


def _food_pantry(admin: User, rng: random.Random, people: list[Person], today: dt.date,
                 supplies: BenefitType) -> None:
    """10. A food pantry open on Saturdays these last four months: a few hundred
    food boxes to people of every age, most of them in households (one member collects for
    the household), so the funders' counts (households served, sizes, age bands, TEFAP) show
    real numbers. One bulk walk-in a pantry day."""
    pantry = program_create(actor=admin, name="Food Pantry",
                            summary="Groceries for households in need, every Saturday.")
    box = benefit_create(actor=admin, program=pantry, name="Food box", benefit_type=supplies)
    regulars = rng.sample(people, min(len(people), 150))
    day = today - dt.timedelta(days=120)
    while day < today:
        if day.weekday() == 5:  # Saturday
            came = rng.sample(regulars, min(len(regulars), rng.randint(16, 30)))
            disbursements_bulk_walk_in(actor=admin, benefit=box, quantity=Decimal(1),
                                       disbursed_on=day, person_ids=[p.pk for p in came])
        day += dt.timedelta(days=1)


CASE_SUBJECTS = ["Back to work", "Housing search", "Benefits application", "Training plan"]
FLOODED = ["02124", "02126"]
TIME_ZONE = "America/New_York"


def _people(admin: User, rng: random.Random, n_people: int, today: dt.date) -> list[Person]:
    """People; about half live in households of one to five registered members (some with
    members not registered here), in them since before the term, so every visit counts its
    household. One person moved house three weeks ago."""
    households: list[Account] = []
    registered = [rng.choice([1, 1, 2, 2, 3, 4, 5]) for _ in range(n_people // 6)]
    for n, members in enumerate(registered):
        last = rng.choice(LAST_NAMES)
        # The first ten households are of sizes 1 to 10 (members not registered here make up
        # the rest), so the funders' household-size counts have every size.
        declared = (max(0, n + 1 - members) or None) if n < 10 else rng.choice(
            [None, None, None, 1, 2, 3])
        households.append(account_create(
            actor=admin, name=f"{last} household", postal_code=rng.choice(POSTAL_CODES),
            declared_size=declared,
            annual_income=(Decimal(rng.randrange(9000, 80000, 500)) if rng.random() < 0.7
                           else None)))
    places = [h for h, members in zip(households, registered, strict=True)
              for _ in range(members)]
    since = today - dt.timedelta(days=400)
    people = []
    for i in range(n_people):
        household = places[i] if i < len(places) else None
        first = rng.choice(FIRST_NAMES)
        last = household.name.split()[0] if household else rng.choice(LAST_NAMES)
        # Children of every age (some under six, in households), youth, adults, seniors.
        child = rng.randint(0, 7) if household is not None and i % 12 == 0 else rng.randint(
            8, 13)
        age = [child, rng.randint(14, 24), rng.randint(25, 59), rng.randint(60, 88)][i % 4]
        person = person_create(
            actor=admin, first_name=first, last_name=last,
            birth_date=today - dt.timedelta(days=age * 365 + rng.randint(0, 364)),
            email=f"{first}.{last}{i}@example.org".lower() if rng.random() < 0.6 else "",
            phone=f"617-555-{1000 + i:04d}" if rng.random() < 0.7 else "",
            postal_code=household.postal_code if household else rng.choice(POSTAL_CODES),
            household_size=rng.randint(1, 6) if rng.random() < 0.6 else None,
            annual_income=Decimal(rng.randrange(8000, 90000, 500)) if rng.random() < 0.5
            else None)
        if household is not None:
            first_member = places.index(household) == i
            relationship = ("head" if first_member else "child" if age < 18
                            else rng.choice(["spouse_partner", "other_relative", "other"]))
            household_member_add(actor=admin, account=household, person=person,
                                 relationship=relationship, start_date=since)
            person.account = household
        people.append(person)
    big = next((h for h in households if places.count(h) >= 3), None)
    if big is not None and len(households) > 1:
        mover = next(p for p in people if p.account_id == big.pk and not
                     HouseholdMembership.objects.filter(person=p, relationship="head").exists())
        to = next(h for h in households if h.pk != big.pk)
        household_member_move(actor=admin, person=mover, account=to, relationship="other",
                              on=today - dt.timedelta(weeks=3))
    return people


def _by_age(people: list[Person], today: dt.date) -> dict[str, list[Person]]:
    groups: dict[str, list[Person]] = {"young": [], "child": [], "youth": [], "adult": [],
                                       "senior": []}
    for person in people:
        assert person.birth_date is not None
        age = (today - person.birth_date).days // 365
        key = ("young" if age < 8 else "child" if age < 14 else "youth" if age < 25
               else "adult" if age < 60 else "senior")
        groups[key].append(person)
    return groups


def _next_weekday(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7)


def _take_attendance(admin: User, rng: random.Random, schedule: BenefitSchedule,
                     today: dt.date, present: float) -> None:
    """Past sessions: attendance taken and the session completed (one left unrecorded, as
    happens, so the follow-up list has something to show)."""
    past = list(schedule.sessions.filter(local_date__lt=today).order_by("start"))
    for session in past[:-1] if len(past) > 2 else past:
        marks = [AttendanceMark(d, "completed" if rng.random() < present
                                else rng.choice(["absent", "absent", "excused"]))
                 for d in BenefitDisbursement.objects.filter(session=session)
                 .values_list("id", flat=True)]
        attendance_record(actor=admin, session=session, marks=marks, complete_session=True)


def _walk_ins(admin: User, rng: random.Random, schedule: BenefitSchedule, today: dt.date,
              pool: list[Person], low: int, high: int) -> None:
    """Past sessions of a walk-in program: whoever came signed in."""
    regulars = rng.sample(pool, min(len(pool), high * 2))
    for session in schedule.sessions.filter(local_date__lt=today).order_by("start"):
        came = rng.sample(regulars, min(len(regulars), rng.randint(low, high)))
        session_add_participants(actor=admin, session=session, person_ids=[p.pk for p in came],
                                 status=status_first_in_bucket("disbursement", "delivered"))
        session_update(actor=admin, session=session, status="completed")


class Command(BaseCommand):
    help = "Load the demo organisation (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = demo_build(stdout=self.stdout)
        self.stdout.write(f"Users: {', '.join(credentials['users'])}; "
                          f"password in {settings.VAR_DIR / 'demo-password.txt'}")
