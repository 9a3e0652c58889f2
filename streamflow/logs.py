"""Process logs that operators can ship: one JSON object per line with LOG_FORMAT=json, context ids, no secrets.

- Context (`run`, `station`, `configuration`, `request_id`) comes from `extra=` on the call, else from context
  variables: the request-id middleware sets `request_id`, the Celery task signals set `run` / `configuration` from
  the task's arguments (streamflow/celery.py), and any code may `bind(run=…)`. The engine (acquisition/) does not
  bind anything itself; as a fallback the run id is read from its messages, which start "run <id>: ".
- Redaction: every line (message, arguments, traceback) is scrubbed of the USGS API key, the metrics token, the
  Sentry DSN, the SMTP password, registered webhook secrets and URLs, and of whatever follows an `X-Api-Key`,
  `Authorization` or `api_key=`.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson
from django.http import HttpRequest, HttpResponse

CONTEXT_FIELDS = ("run", "station", "configuration", "request_id")
_context: dict[str, contextvars.ContextVar] = {
    name: contextvars.ContextVar(f"streamflow_log_{name}", default=None) for name in CONTEXT_FIELDS
}
_RUN_IN_MESSAGE = re.compile(r"^(?:run|batch \d+ of run|station \S+ of run) (\d+)\b")
_HEADER_VALUES = re.compile(
    r"(?i)((?:x-api-key|authorization|x-streamflow-signature)[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+|basic\s+)?[^\s\"',}]+"
)
_QUERY_KEYS = re.compile(r"(?i)([?&](?:api_key|token|access_token|secret)=)[^&\s\"']+")
REDACTED = "[redacted]"
_extra_secrets: set[str] = set()


# --- Context ----------------------------------------------------------------------------------------------


def bind(**values) -> dict[str, contextvars.Token]:
    """Set context ids for the log lines that follow (in this thread / task); returns tokens for `unbind`."""
    return {name: _context[name].set(value) for name, value in values.items()}


def unbind(tokens: dict[str, contextvars.Token]) -> None:
    for name, token in tokens.items():
        _context[name].reset(token)


@contextmanager
def bound(**values) -> Iterator[None]:
    tokens = bind(**values)
    try:
        yield
    finally:
        unbind(tokens)


def clear() -> None:
    for var in _context.values():
        var.set(None)


class ContextFilter(logging.Filter):
    """Puts `run`, `station`, `configuration` and `request_id` on every record (None where unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in CONTEXT_FIELDS:
            if getattr(record, name, None) is None:
                setattr(record, name, _context[name].get())
        if record.run is None and record.name.startswith("acquisition"):
            try:
                match = _RUN_IN_MESSAGE.match(record.getMessage())
            except Exception:  # a bad format string: the line is still written, without a run id
                match = None
            if match:
                record.run = int(match.group(1))
        return True


REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """A request id per request: the proxy's X-Request-ID when it looks like one, else a new one; set on the log
    context for the request's lines and sent back in the response's X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        connect_request_signals()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex
        request.request_id = request_id
        # Kept until the response is closed (request_finished), not reset here: Django logs 4xx/5xx responses
        # ("Unauthorized: /metrics") after the middleware has returned.
        _context["request_id"].set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


def _forget_request_id(**kwargs) -> None:
    _context["request_id"].set(None)


def connect_request_signals() -> None:
    from django.core.signals import request_finished

    request_finished.connect(_forget_request_id, dispatch_uid="streamflow.logs.request_finished")


# --- Redaction ----------------------------------------------------------------------------------------------


def register_secret(value: str | None) -> None:
    """Never log `value` (a webhook secret or URL loaded in this process)."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def _secrets() -> list[str]:
    from django.conf import settings

    values = [
        settings.USGS_API_KEY,
        settings.METRICS_TOKEN,
        settings.SENTRY_DSN,
        settings.EMAIL_HOST_PASSWORD,
        settings.SECRET_KEY,
    ]
    found = [v for v in values if isinstance(v, str) and len(v) >= 6]
    return sorted({*found, *_extra_secrets}, key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _HEADER_VALUES.sub(lambda m: m.group(1) + REDACTED, text)
    return _QUERY_KEYS.sub(lambda m: m.group(1) + REDACTED, text)


# Characters that would end a log line or drive a terminal: C0 controls but tab, DEL, C1, and Unicode's line breaks.
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}


def escape_controls(text: str) -> str:
    """One record, one line: a CR or LF in a message (a channel named "hdr\\r\\nBcc: …") is written as \\r \\n,
    other controls as \\xNN / \\uNNNN, so a value from a user or an upstream cannot forge a line of its own."""
    return _CONTROLS.sub(lambda m: _NAMED.get(m.group(), repr(m.group())[1:-1]), text)


class RedactingFilter(logging.Filter):
    """Formats the message once, scrubs it and escapes its control characters; the traceback (whose line breaks are
    its own) is scrubbed by the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg} {record.args}"
        record.msg, record.args = escape_controls(redact(message)), None
        return True


class PlainFormatter(logging.Formatter):
    """The human-readable default, with tracebacks scrubbed too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context ids that are known,
    and the scrubbed traceback as `exception`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None and name in _context:
                value = _context[name].get()
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return orjson.dumps(entry, default=str).decode()


def formatter_for(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def adopt_handlers(logger: logging.Logger, log_format: str) -> None:
    """Give handlers Celery set up (worker, beat) our filters, and our formatter when the format is JSON."""
    for handler in logger.handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
            handler.addFilter(RedactingFilter())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
        elif not isinstance(handler.formatter, PlainFormatter | JsonFormatter):
            handler.setFormatter(_RedactingWrapper(handler.formatter))


class _RedactingWrapper(logging.Formatter):
    """Celery's own formatter (colours, task names) with its output scrubbed."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


# --- Celery -------------------------------------------------------------------------------------------------

# The ids a task's arguments carry, by task name (the engine's tasks; read, not changed).
_TASK_CONTEXT = {
    "acquisition.tasks.run_batch": ("run", "run_id"),
    "acquisition.tasks.run_configuration": ("configuration", "config_id"),
}


def _on_logger_setup(logger=None, **kwargs) -> None:
    from django.conf import settings

    adopt_handlers(logger, settings.LOG_FORMAT)


def _on_task_prerun(task_id=None, task=None, args=None, kwargs=None, **extra) -> None:
    clear()
    field = _TASK_CONTEXT.get(getattr(task, "name", ""))
    if field is None:
        return
    name, keyword = field
    value = (kwargs or {}).get(keyword)
    if value is None and args:
        value = args[0]
    bind(**{name: value})


def _on_task_postrun(**kwargs) -> None:
    clear()


def connect_celery() -> None:
    from celery import signals

    signals.after_setup_logger.connect(_on_logger_setup, weak=False, dispatch_uid="streamflow.logs.setup")
    signals.after_setup_task_logger.connect(_on_logger_setup, weak=False, dispatch_uid="streamflow.logs.task_setup")
    signals.task_prerun.connect(_on_task_prerun, weak=False, dispatch_uid="streamflow.logs.prerun")
    signals.task_postrun.connect(_on_task_postrun, weak=False, dispatch_uid="streamflow.logs.postrun")
