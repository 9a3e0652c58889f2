"""Every error is JSON: {"detail": a sentence, "errors": {field: [messages]}} (the second only where fields are
to blame), so a script can show the sentence and a form-like client can place each message."""

from __future__ import annotations

import logging
from functools import partial

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError

from .auth import RateLimited

logger = logging.getLogger(__name__)

# Where the request's parts sit in a pydantic location; the field is what follows.
_LOCATION_PARTS = {"body", "query", "path", "header", "cookie", "payload", "form"}


class FieldErrors(Exception):
    """A 422 naming fields: {field: [message, …]}."""

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        self.errors = errors
        self.detail = detail or _sentence(errors)
        super().__init__(self.detail)

    @classmethod
    def from_form(cls, form: Form, what: str) -> FieldErrors:
        errors = {("non_field_errors" if k == "__all__" else k): list(v) for k, v in form.errors.items()}
        return cls(errors, f"{what} was not saved. {_sentence(errors)}")


def _sentence(errors: dict[str, list[str]]) -> str:
    parts = [(msgs[0] if field == "non_field_errors" else f"{field}: {msgs[0]}") for field, msgs in errors.items()]
    return " ".join(parts) or "The request is not valid."


def _field_name(loc: list) -> str:
    names = [str(part) for part in loc if str(part) not in _LOCATION_PARTS]
    return ".".join(names) or "body"


def _validation_error(request: HttpRequest, exc: ValidationError, api: NinjaAPI) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        message = error.get("msg", "is not valid")
        if message == "Cannot parse request body":
            message = "The body is not valid JSON."
        errors.setdefault(_field_name(error.get("loc", [])), []).append(message)
    body = {"detail": f"The request is not valid. {_sentence(errors)}", "errors": errors}
    return api.create_response(request, body, status=422)


def _field_errors(request: HttpRequest, exc: FieldErrors, api: NinjaAPI) -> HttpResponse:
    return api.create_response(request, {"detail": exc.detail, "errors": exc.errors}, status=422)


def _http_error(request: HttpRequest, exc: HttpError, api: NinjaAPI) -> HttpResponse:
    if isinstance(exc.__cause__, FieldErrors):  # ninja wraps whatever the body parser raises in a 400
        return _field_errors(request, exc.__cause__, api)
    message = exc.message
    if message == "Cannot parse request body":
        message = "The body is not valid JSON: check its quotes, commas and brackets."
    response = api.create_response(request, {"detail": message}, status=exc.status_code)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def _not_found(request: HttpRequest, exc: Http404, api: NinjaAPI) -> HttpResponse:
    message = str(exc) if exc.args else "Not found: check the id in the address."
    return api.create_response(request, {"detail": message}, status=404)


def _too_big(request: HttpRequest, exc: RequestDataTooBig, api: NinjaAPI) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return api.create_response(
        request, {"detail": f"The body is larger than the {limit:,} bytes a request may send; send less."}, status=413
    )


def _server_error(request: HttpRequest, exc: Exception, api: NinjaAPI) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path)
    return api.create_response(
        request, {"detail": "Something went wrong on the server; it has been logged. Try again later."}, status=500
    )


def install(api: NinjaAPI) -> None:
    for exc_class, handler in [
        (ValidationError, _validation_error),
        (FieldErrors, _field_errors),
        (HttpError, _http_error),
        (Http404, _not_found),
        (RequestDataTooBig, _too_big),
        (Exception, _server_error),
    ]:
        api.add_exception_handler(exc_class, partial(handler, api=api))
