from __future__ import annotations

from django.http import HttpRequest

from streamflow import __version__


def site(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "app_version": __version__,
        "is_operator": bool(user and user.is_authenticated and user.has_perm("pulls.change_pullconfiguration")),
    }
