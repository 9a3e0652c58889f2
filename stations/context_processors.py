from __future__ import annotations

from django.http import HttpRequest

from . import basket as basket_store


def basket(request: HttpRequest) -> dict:
    if not hasattr(request, "session"):
        return {"basket_count": 0}
    return {"basket_count": basket_store.count(request)}
