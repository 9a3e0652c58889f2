"""Error tracking with Sentry, only when SENTRY_DSN is set: settings.py imports this module (and sentry_sdk with it)
only then, so an installation without a DSN neither sends anything nor pays for the import."""

from __future__ import annotations

import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def package_version() -> str:
    """The version in pyproject.toml: what a release is called in Sentry."""
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def init(dsn: str, *, environment: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    from streamflow.logs import redact

    def scrub(event, hint):
        # Messages and exception values pass through the same redaction as the logs (API key, tokens, secrets).
        for entry in (event.get("logentry"), event.get("message")):
            if isinstance(entry, dict) and isinstance(entry.get("formatted"), str):
                entry["formatted"] = redact(entry["formatted"])
        for exc in (event.get("exception") or {}).get("values") or []:
            if isinstance(exc.get("value"), str):
                exc["value"] = redact(exc["value"])
        return event

    sentry_sdk.init(
        dsn=dsn,
        release=f"streamflow-dataops@{package_version()}",
        environment=environment,
        send_default_pii=False,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=scrub,
    )
