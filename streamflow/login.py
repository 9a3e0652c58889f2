"""Login throttling with django-axes (issue 12, item 2).

Axes locks a username out from one address after AXES_FAILURE_LIMIT failures, for AXES_COOLOFF_TIME. On top, one
address failing LOGIN_ADDRESS_FAILURE_LIMIT times over any usernames within the cool-off is refused too: without
it, a caller trying a new username each time would never be locked out, and each try costs a password hash
(about a second of CPU with Django's PBKDF2; Django hashes even for unknown usernames). A refused attempt never
reaches the password check, so what anonymous callers can spend is bounded by these two limits.
"""

from __future__ import annotations

import logging

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


def cooloff_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def address_failures(request: HttpRequest) -> int:
    """Failed logins from the request's address within the cool-off, over every username (axes' own records)."""
    address = getattr(request, "axes_ip_address", None)
    if not address:
        return 0
    # AccessAttempt.ip_address is indexed by axes.
    recent = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=get_cool_off_threshold(request))
    return recent.aggregate(total=Sum("failures_since_start"))["total"] or 0


def attempted_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username a login tried, as axes records it (AXES_USERNAME_CALLABLE): cut to the 255 characters its
    column holds. Django's login form checks no length before authenticating, so a 10,000-character username
    reached the database and PostgreSQL refused the row: a 500 on the login page."""
    source = credentials if credentials else request.POST
    username = source.get(settings.AXES_USERNAME_FORM_FIELD)
    return username[:255] if isinstance(username, str) else username


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler plus the per-address limit."""

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        failures = address_failures(request)
        if failures >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            logger.warning(
                "Login refused for address %s: %d failed logins over any usernames in the last %d minutes "
                "(LOGIN_ADDRESS_FAILURE_LIMIT=%d)",
                request.axes_ip_address,
                failures,
                cooloff_minutes(),
                settings.LOGIN_ADDRESS_FAILURE_LIMIT,
            )
            return True
        return False


def locked_out(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """The login page again, with the reason and what to do, as 429 Too Many Requests (AXES_LOCKOUT_CALLABLE)."""
    form = AuthenticationForm(request)
    message = (
        f"Too many failed logins from your address. Wait {cooloff_minutes()} minutes and try again, or ask an "
        "administrator to lift the lock (python manage.py axes_reset_username NAME)."
    )
    context = {"form": form, "locked_out": message, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)


def say_logged_out(sender, request, user, **kwargs) -> None:
    """user_logged_out: the login page the user lands on says the logout worked (the session is new by now)."""
    if request is not None:
        from django.contrib import messages

        messages.success(request, "You are logged out. Log in again to continue.")
