from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_dashboard_needs_login(client) -> None:
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_dashboard_for_staff(client, charlie) -> None:
    client.force_login(charlie)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Dashboard" in response.content


def test_kiosk_is_kept_to_the_check_in_pages(client, kim) -> None:
    client.force_login(kim)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/kiosk/"
    assert client.get("/people/").status_code == 302


def test_viewer_cannot_open_admin(client, dana) -> None:
    client.force_login(dana)
    assert client.get("/admin/").status_code == 302


def test_admin_site_for_admins(client, alice) -> None:
    client.force_login(alice)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/core/auditevent/").status_code == 200


def test_healthz_answers_without_login(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok"
