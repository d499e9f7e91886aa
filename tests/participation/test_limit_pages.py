"""Service limits on the pages: the benefit form, the attendance sheet (refusal with the date
and place; a manager's reason), the kiosk (names nobody), log benefits and bulk."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from programdesk.core.models import AuditEvent
from programdesk.participation import services
from programdesk.participation.models import BenefitDisbursement
from programdesk.programs.models import Benefit
from tests import factories as f

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def session(charlie: Any) -> Any:
    """Today's session at Site B of a kit limited to 1 per household per month; the Harris
    household's Ana and Ben on its roster."""
    benefit = f.BenefitFactory(name="Emergency kit", limit_max=1, limit_per="month",
                               limit_scope="household")
    session = f.SessionFactory(schedule=f.ScheduleFactory(benefit=benefit, first_date=TODAY),
                               local_date=TODAY, location="Site B")
    household = f.AccountFactory(name="Harris", declared_size=0)
    people = [f.MembershipFactory(account=household, relationship=r,
                                  person=f.PersonFactory(first_name=n, last_name="Harris")).person
              for r, n in (("head", "Ana"), ("child", "Ben"))]
    services.session_add_participants(actor=charlie, session=session,
                                      person_ids=[p.pk for p in people])
    return session


def _rows(session: Any) -> dict[str, BenefitDisbursement]:
    return {d.person.first_name: d for d in BenefitDisbursement.objects.filter(session=session)
            .select_related("person")}


def test_the_benefit_form_sets_and_clears_the_limit(client: Any, bob: Any) -> None:
    benefit = f.BenefitFactory()
    client.force_login(bob)
    form = {"name": benefit.name, "unit": benefit.unit_id, "default_quantity": "1",
            "is_active": "on", "limit_max": "1", "limit_scope": "household",
            "limit_per": "days", "limit_days": ""}
    response = client.post(f"/benefits/{benefit.pk}/edit/", form)
    assert response.status_code == 200 and b"number of days" in response.content
    client.post(f"/benefits/{benefit.pk}/edit/", {**form, "limit_days": "30"})
    benefit.refresh_from_db()
    assert (benefit.limit_max, benefit.limit_per, benefit.limit_days,
            benefit.limit_scope) == (1, "days", 30, "household")
    assert b"1 per household in 30 days" in client.get(f"/benefits/{benefit.pk}/").content
    client.post(f"/benefits/{benefit.pk}/edit/", {**form, "limit_max": ""})
    assert Benefit.objects.get(pk=benefit.pk).limit_max is None


def test_the_sheet_shows_the_refusal_and_a_manager_overrides(client: Any, charlie: Any,
                                                              bob: Any, session: Any) -> None:
    rows = _rows(session)
    marks = {f"status_{rows['Ana'].pk}": "completed", f"status_{rows['Ben'].pk}": "completed",
             "action": "save"}
    client.force_login(charlie)
    html = client.post(f"/sessions/{session.pk}/", marks).content.decode()
    assert f"already served this month on {TODAY.isoformat()} at Site B" in html
    assert "limit_override_reason" not in html  # staff: no reason field
    client.force_login(bob)
    html = client.post(f"/sessions/{session.pk}/", marks).content.decode()
    assert 'name="limit_override_reason"' in html
    response = client.post(f"/sessions/{session.pk}/", {
        **marks, "limit_override_reason": "Two families share the address"})
    assert response.status_code == 302
    assert {d.status.code for d in _rows(session).values()} == {"completed"}
    assert AuditEvent.objects.get(action="attendance.record").reason == \
        "Two families share the address"


def test_the_kiosk_only_says_see_a_staff_member(client: Any, charlie: Any, session: Any
                                                ) -> None:
    rows = _rows(session)
    services.check_in(actor=charlie, session=session, person_id=rows["Ana"].person_id)
    client.force_login(charlie)  # whoever is signed in, the kiosk's screen names nobody
    html = client.post(f"/kiosk/{session.pk}/", {"person_id": rows["Ben"].person_id},
                       follow=True).content.decode()
    assert "Please see a staff member." in html
    assert "already served" not in html and "Harris, Ana" not in html


def test_log_benefits_and_bulk_show_the_refusal_and_offer_skip(client: Any, bob: Any,
                                                               session: Any) -> None:
    rows = _rows(session)
    benefit = session.benefit
    services.check_in(actor=bob, session=session, person_id=rows["Ana"].person_id)
    ben = rows["Ben"].person
    client.force_login(bob)
    html = client.post(f"/people/{ben.pk}/log-benefits/", {
        "submission": "a" * 32, "disbursed_on": TODAY.isoformat(), "benefit_0": benefit.pk,
        "quantity_0": "1"}).content.decode()
    assert f"already served this month on {TODAY.isoformat()} at Site B" in html
    assert 'name="limit_override_reason"' in html
    page = client.get(f"/benefits/{benefit.pk}/bulk/").content.decode()
    assert 'name="over_limit" value="skip"' in page
