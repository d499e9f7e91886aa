"""Idempotency-Key under real concurrency: identical requests sent at once to a live server (its
own threads and database connections) write once and all get the first answer; a request that
dies half-way leaves nothing behind and its key can be used again."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from programdesk.core.models import IdempotencyRecord, User
from programdesk.core.services import token_create
from programdesk.people.models import Person
from tests import factories as f

THREADS = 8


def _post(url: str, token: str, body: dict[str, Any], key: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(  # noqa: S310 — the test's own live server
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                 "Idempotency-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, response.read(), response.headers.get(
                "Idempotent-Replayed", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Idempotent-Replayed", "")


def _at_once(n: int, send: Any) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = send()
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_write_once(live_server: Any) -> None:
    user = f.UserFactory(username="carol", role="staff", password="!")
    token = token_create(actor=None, user=user)
    body = {"first_name": "Idem", "last_name": "Potent"}
    results = _at_once(THREADS, lambda: _post(f"{live_server.url}/api/v1/people", token, body,
                                              "same-key"))
    assert all(isinstance(r, tuple) for r in results), results
    assert {r[0] for r in results} == {201}, results
    assert len({r[1] for r in results}) == 1  # every answer is the first one
    assert sum(r[2] == "true" for r in results) == THREADS - 1
    assert Person.objects.filter(first_name="Idem").count() == 1
    assert IdempotencyRecord.objects.get(key="same-key").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_different_keys_each_write(live_server: Any) -> None:
    user = f.UserFactory(username="carol", role="staff", password="!")
    token = token_create(actor=None, user=user)
    keys = iter(range(THREADS))
    lock = threading.Lock()

    def send() -> Any:
        with lock:
            n = next(keys)
        return _post(f"{live_server.url}/api/v1/people", token,
                     {"first_name": "Many", "last_name": f"Keys{n}"}, f"key-{n}")

    results = _at_once(THREADS, send)
    assert {r[0] for r in results} == {201}, results
    assert Person.objects.filter(first_name="Many").count() == THREADS


@pytest.mark.django_db
def test_a_request_that_dies_before_its_answer_is_stored_writes_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The view's writes and the stored answer commit together: a crash in between (here, the
    answer's update failing) leaves neither, so the retry writes exactly once."""
    from django.db.models import QuerySet
    from django.http import JsonResponse
    from django.test import RequestFactory

    from programdesk.api.middleware import IdempotencyMiddleware
    from programdesk.people.services import person_create

    user = f.UserFactory(username="carol", role="staff", password="!")
    token = token_create(actor=None, user=user)

    def view(request: Any) -> Any:
        person = person_create(actor=user, first_name="Half", last_name="Way")
        return JsonResponse({"id": person.pk}, status=201)

    def send() -> Any:
        request = RequestFactory().post(
            "/api/v1/people", {"first_name": "Half"}, content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "crashy"})
        return IdempotencyMiddleware(view)(request)

    original = QuerySet.update

    def crash(self: QuerySet[Any], **kwargs: Any) -> int:
        if self.model is IdempotencyRecord and "status_code" in kwargs:
            raise RuntimeError("the process died here")
        return original(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", crash)
    with pytest.raises(RuntimeError):
        send()
    assert not Person.objects.filter(first_name="Half").exists()
    assert not IdempotencyRecord.objects.filter(key="crashy").exists()
    monkeypatch.setattr(QuerySet, "update", original)
    first = send()
    assert first.status_code == 201
    again = send()
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content
    assert Person.objects.filter(first_name="Half").count() == 1


@pytest.mark.django_db
def test_a_stale_claim_left_by_a_dead_process_is_taken_over(api_as: Any) -> None:
    user = f.UserFactory(username="carol", role="staff")
    client = api_as(user)
    body = {"first_name": "Stale", "last_name": "Claim"}
    record = _claim_like_a_dead_process(user, body, "stale-key")
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=10))
    response = client.post("people", body, headers={"Idempotency-Key": "stale-key"})
    assert response.status_code == 201, response.content
    assert Person.objects.filter(first_name="Stale").count() == 1
    again = client.post("people", body, headers={"Idempotency-Key": "stale-key"})
    assert again["Idempotent-Replayed"] == "true" and again.json() == response.json()


@pytest.mark.django_db
def test_a_fresh_claim_in_progress_is_waited_for_not_taken_over(
        api_as: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from programdesk.api import middleware

    monkeypatch.setattr(middleware, "IDEMPOTENCY_WAIT_SECONDS", 0.2)
    user = f.UserFactory(username="carol", role="staff")
    body = {"first_name": "Busy", "last_name": "Claim"}
    _claim_like_a_dead_process(user, body, "busy-key")
    response = api_as(user).post("people", body, headers={"Idempotency-Key": "busy-key"})
    assert response.status_code == 409
    assert "in progress" in response.json()["detail"]
    assert not Person.objects.filter(first_name="Busy").exists()


def _claim_like_a_dead_process(user: User, body: dict[str, Any], key: str) -> Any:
    import hashlib

    digest = hashlib.sha256(b"\0".join([b"POST", b"/api/v1/people",
                                        json.dumps(body).encode()])).hexdigest()
    return IdempotencyRecord.objects.create(user=user, key=key, method="POST",
                                            path="/api/v1/people", body_digest=digest)
