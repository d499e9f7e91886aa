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

from programdesk.core.models import User
from programdesk.core.roles import Role
from programdesk.core.services import user_create
from programdesk.people.models import Account, Person
from programdesk.people.services import account_create, person_create
from programdesk.programs.models import BenefitType, Program, UnitOfMeasure
from programdesk.programs.services import benefit_create, cohort_create, program_create

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
POSTAL_CODES = ["02119", "02120", "02121", "02122", "02124", "02125", "02126", "02130", "02134"]


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
    today = dt.date.today()
    term_start = today - dt.timedelta(days=70)

    def program(name: str, summary: str, **kw: Any) -> Program:
        return program_create(actor=admin, name=name, summary=summary, **kw)

    summer = program(FIRST_PROGRAM, "Ten weeks of reading, math and field trips for grades 3-8.",
                     start_date=term_start, end_date=term_start + dt.timedelta(weeks=10))
    grief = program("Grief Support Series", "An eight-week facilitated support group.")
    transit = program("Youth Transit Passes", "Monthly bus passes for low-income youth 14-24.")
    jobs = program("Job Training: Soft Skills", "Communication, teamwork and interview skills.")
    tutoring = program("Drop-in Tutoring", "After-school homework help; students sign in.")
    seniors = program("Senior Exercise", "Weekly chair yoga and strength for members 60+.")
    meal = program("Community Meal", "A weekly hot meal, open to all.")
    flood = program("Flood Relief", "Emergency kits for households in the flooded area.",
                    status="active")
    case_mgmt = program("Case Management", "One-to-one support by case workers.")

    benefit_create(actor=admin, program=summer, name="Summer class",
                   benefit_type=btype["Class or group session"])
    benefit_create(actor=admin, program=grief, name="Support group session",
                   benefit_type=btype["Counseling"], default_quantity=Decimal("1.5"))
    benefit_create(actor=admin, program=transit, name="Monthly bus pass",
                   benefit_type=btype["Transit pass"])
    benefit_create(actor=admin, program=jobs, name="Soft skills workshop",
                   benefit_type=btype["Class or group session"])
    benefit_create(actor=admin, program=jobs, name="Job coaching",
                   benefit_type=btype["Coaching"])
    benefit_create(actor=admin, program=tutoring, name="Tutoring hour",
                   benefit_type=btype["Tutoring"])
    benefit_create(actor=admin, program=seniors, name="Exercise class",
                   benefit_type=btype["Class or group session"])
    benefit_create(actor=admin, program=meal, name="Hot meal", benefit_type=btype["Meal"])
    benefit_create(actor=admin, program=flood, name="Emergency kit",
                   benefit_type=btype["Relief kit"])
    benefit_create(actor=admin, program=case_mgmt, name="Bus pass", unit=unit["pass"])
    benefit_create(actor=admin, program=case_mgmt, name="Job coaching",
                   benefit_type=btype["Coaching"])
    benefit_create(actor=admin, program=case_mgmt, name="Résumé review", unit=unit["hour"],
                   default_quantity=Decimal("0.5"))
    cohort_create(actor=admin, program=summer, name="Summer cohort A", start_date=term_start)
    cohort_create(actor=admin, program=jobs, name="Spring cohort", max_members=20)

    households: list[Account] = []
    for _ in range(n_people // 4):
        last = rng.choice(LAST_NAMES)
        households.append(account_create(actor=admin, name=f"{last} household",
                                         postal_code=rng.choice(POSTAL_CODES)))
    for i in range(n_people):
        household = households[i % len(households)] if i < len(households) * 2 else None
        first = rng.choice(FIRST_NAMES)
        last = household.name.split()[0] if household else rng.choice(LAST_NAMES)
        age = rng.choice([rng.randint(8, 14), rng.randint(15, 24), rng.randint(25, 59),
                          rng.randint(60, 88)])
        person_create(
            actor=admin, first_name=first, last_name=last,
            birth_date=today - dt.timedelta(days=age * 365 + rng.randint(0, 364)),
            email=f"{first}.{last}{i}@example.org".lower() if rng.random() < 0.6 else "",
            phone=f"617-555-{1000 + i:04d}" if rng.random() < 0.7 else "",
            postal_code=household.postal_code if household else rng.choice(POSTAL_CODES),
            account=household,
            household_size=rng.randint(1, 6) if rng.random() < 0.5 else None,
            annual_income=Decimal(rng.randrange(8000, 90000, 500)) if rng.random() < 0.4 else None,
        )


class Command(BaseCommand):
    help = "Load the demo organisation (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = demo_build(stdout=self.stdout)
        self.stdout.write(f"Users: {', '.join(credentials['users'])}; "
                          f"password in {settings.VAR_DIR / 'demo-password.txt'}")
