"""Problem JSON for every error under /api/, and Idempotency-Key for every write."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.signals import got_request_exception
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from programdesk.api.problems import (
    PROBLEM_CONTENT_TYPE,
    problem_response,
    size_text,
    too_large_response,
)
from programdesk.core.models import IdempotencyRecord, User

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
IDEMPOTENCY_WAIT_SECONDS = 30.0
IDEMPOTENCY_STALE_SECONDS = 300
# A multipart upload carries one import file plus a few form fields and the part headers.
UPLOAD_OVERHEAD = 64 * 1024


def body_too_large(request: HttpRequest) -> HttpResponse | None:
    """A 413 when the declared body is over the limit, before anything reads it: JSON bodies
    up to DATA_UPLOAD_MAX_MEMORY_SIZE (read into memory), uploads up to the import limit."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if request.content_type == "multipart/form-data":
        from programdesk.imports.parsers import MAX_BYTES

        if length > MAX_BYTES + UPLOAD_OVERHEAD:
            return problem_response(413, title="Content too large", detail=(
                f"The upload is larger than the limit of {size_text(MAX_BYTES)} per file."))
        return None
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        return too_large_response(limit)
    return None


class ApiProblemMiddleware:
    """Turns the framework's own error pages under /api/ (unknown path 404, wrong method 405,
    CSRF 403, crash 500) into problem JSON, so a client never has to parse HTML."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX) and (refused := body_too_large(request)):
            return refused
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE):
            return response
        status = response.status_code
        detail = {
            404: "No such path under /api/v1.",
            405: f"Method {request.method} is not allowed here.",
        }.get(status, "")
        converted = problem_response(status, detail=detail)
        if status == 405 and response.has_header("Allow"):
            converted["Allow"] = response["Allow"]
        return converted

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, (Http404, PermissionDenied)):
            return None  # Django answers 404/403; __call__ turns that into problem JSON
        logger.exception("unexpected error on %s %s", request.method, request.path)
        got_request_exception.send(sender=None, request=request)
        return problem_response(500, detail="Something went wrong on our side; nothing was saved.")


def _request_user(request: HttpRequest) -> User | None:
    from programdesk.api.auth import request_token_user

    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return request_token_user(request, header[7:].strip())
    user = getattr(request, "user", None)
    return user if isinstance(user, User) and user.is_active else None


def _request_digest(request: HttpRequest) -> str:
    """What "the same request" means for a key: method, path with query, and body. An upload
    is hashed part by part as Django parsed it — its files stream to disk, and request.body
    would read them whole into memory (and refuse any over DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    digest = hashlib.sha256(b"\0".join([(request.method or "").encode(),
                                         request.get_full_path().encode()]))
    if request.content_type != "multipart/form-data":
        digest.update(b"\0" + request.body)
        return digest.hexdigest()
    for name, values in sorted(request.POST.lists()):
        for value in values:
            digest.update(b"\0field\0" + name.encode() + b"\0" + value.encode())
    for name, files in sorted(request.FILES.lists()):
        for upload in files:
            digest.update(b"\0file\0" + name.encode() + b"\0" + (upload.name or "").encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


class IdempotencyMiddleware:
    """docs/api.md: the same key with the same body returns the first response and writes nothing
    more; the same key with another body is a 409.

    The key is claimed by inserting its row before the view runs; the unique constraint makes
    concurrent identical requests wait for the first one's answer instead of writing again.
    The view's writes and the stored answer then commit in one transaction: a request that dies
    half-way leaves neither, and its claim, never answered, is taken over by a retry once it is
    older than IDEMPOTENCY_STALE_SECONDS (longer than any request runs).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if (key is None or request.method not in WRITE_METHODS
                or not request.path.startswith(API_PREFIX)):
            return self.get_response(request)
        user = _request_user(request)
        if user is None:
            return self.get_response(request)  # the view answers 401
        if not key or len(key) > 200:
            return problem_response(422, detail="Idempotency-Key must be 1 to 200 characters.",
                                    errors=[{"field": "Idempotency-Key",
                                             "message": "1 to 200 characters"}])
        try:
            digest = _request_digest(request)
        except RequestDataTooBig:
            return too_large_response(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        record = self._claim(request, user, key, digest)
        if record is None:
            return self._replay(user, key, digest)
        stored = False
        try:
            with transaction.atomic():
                response = self.get_response(request)
                # A crash answer (500), a stream, or a transaction the view broke: write
                # nothing and free the key so a retry can run.
                if (response.status_code >= 500 or response.streaming
                        or transaction.get_connection().needs_rollback):
                    transaction.set_rollback(True)
                else:
                    IdempotencyRecord.objects.filter(pk=record.pk).update(
                        status_code=response.status_code, response_body=response.content,
                        content_type=response.get("Content-Type", ""))
                    stored = True
        finally:
            if not stored:
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return response

    def _claim(self, request: HttpRequest, user: User, key: str, digest: str
               ) -> IdempotencyRecord | None:
        """The new claim on the key, or None when another request holds it."""
        for _ in range(2):
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(
                        user=user, key=key, method=request.method or "",
                        path=request.path[:500], body_digest=digest)
            except IntegrityError:
                # A claim never answered and this old was left by a request that died: only
                # one retry deletes it (the others delete nothing) and claims the key again.
                stale = timezone.now() - dt.timedelta(seconds=IDEMPOTENCY_STALE_SECONDS)
                taken, _ = IdempotencyRecord.objects.filter(
                    user=user, key=key, body_digest=digest, status_code__isnull=True,
                    created_at__lt=stale).delete()
                if not taken:
                    return None
        return None

    def _replay(self, user: User, key: str, digest: str) -> HttpResponse:
        deadline = time.monotonic() + IDEMPOTENCY_WAIT_SECONDS
        while True:
            record = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if record is None:
                return problem_response(409, detail="A request with this Idempotency-Key failed "
                                                    "and is being retried; send it again.")
            if record.body_digest != digest:
                return problem_response(409, detail="This Idempotency-Key was used with another "
                                                    "request body.")
            if record.status_code is not None:
                response = HttpResponse(bytes(record.response_body or b""),
                                        status=record.status_code,
                                        content_type=record.content_type or None)
                response["Idempotent-Replayed"] = "true"
                return response
            if time.monotonic() > deadline:
                return problem_response(409, detail="A request with this Idempotency-Key is still "
                                                    "in progress.")
            time.sleep(0.05 if not settings.DEBUG else 0.1)
