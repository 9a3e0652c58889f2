from __future__ import annotations

from django.http import HttpRequest

from streamflow import __version__


def site(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "app_version": __version__,
        "is_operator": signed_in and user.has_perm("pulls.change_pullconfiguration"),
        # An account in no group can only sign out: the navbar offers nothing that would answer 403.
        "has_role": signed_in and user.has_perm("acquisition.view_pullrun"),
    }
