"""The station search's map: every matching gage as a point, from the same filters as the list.

The list pages 50 rows at a time; the map draws them all (Leaflet on a canvas stays smooth at 10,000+), up to
MAP_POINTS_LIMIT, past which the answer says so and the page asks the user to narrow the search.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from . import basket as basket_store
from .forms import SearchForm
from .search import search_queryset

MAP_POINTS_LIMIT = 20_000
POINT_FIELDS = ["id", "name", "lat", "lon", "has_daily", "has_continuous", "in_basket"]


def _filter_errors(form: SearchForm) -> list[str]:
    """The filters' errors, as the list shows them (a bad page number does not matter to a map)."""
    return [str(error) for name in form.filters() for error in form.errors.get(name, [])]


@require_GET
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def map_points(request: HttpRequest) -> JsonResponse:
    """The search's matches as compact rows (POINT_FIELDS), the ones without coordinates left out."""
    form = SearchForm(request.GET)
    form.is_valid()
    errors = _filter_errors(form)
    if errors:
        # An unreadable filter draws nothing, as the list shows no rows: ignoring it would draw what it excludes.
        return JsonResponse({"errors": errors, "fields": POINT_FIELDS, "points": [], "count": 0}, status=400)
    rows = (
        search_queryset(**form.filters())
        .filter(latitude__isnull=False, longitude__isnull=False)
        .values_list("monitoring_location_id", "name", "latitude", "longitude", "has_daily", "has_continuous")
    )
    rows = list(rows[: MAP_POINTS_LIMIT + 1])
    capped = len(rows) > MAP_POINTS_LIMIT
    in_basket = set(basket_store.get_ids(request))
    points = [
        [pk, name, round(lat, 5), round(lon, 5), int(daily), int(continuous), int(pk in in_basket)]
        for pk, name, lat, lon, daily, continuous in rows[:MAP_POINTS_LIMIT]
    ]
    message = (
        f"More than {MAP_POINTS_LIMIT:,} stations match, so the map shows the first {MAP_POINTS_LIMIT:,} by site "
        "number. Narrow the search (a state, a HUC prefix, name words) or zoom in and use “Search this area”."
        if capped
        else ""
    )
    return JsonResponse(
        {
            "fields": POINT_FIELDS,
            "points": points,
            "count": len(points),
            "capped": capped,
            "limit": MAP_POINTS_LIMIT,
            "message": message,
        }
    )
