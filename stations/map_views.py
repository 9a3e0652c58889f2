"""The station search's map: every matching gage as a point, from the same filters as the list.

The list pages 50 rows at a time; the map draws them all (Leaflet on a canvas stays smooth at 10,000+), up to
MAP_POINTS_LIMIT, past which the answer says so and the page asks the user to narrow the search.

Over a 1M-station catalog an answer is up to 1.4 MB and takes 0.3-3.9 s, so each user loads at most
HEAVY_PAGES_PER_USER at once (streamflow/slots.py, pool "map"), and the matches of a search are cached for
MAP_POINTS_CACHE_SECONDS under the catalog's version: a new or edited station changes it, so it shows at once.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.cache import caches
from django.db.models import Max
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from streamflow.slots import heavy_read

from . import basket as basket_store
from .forms import SearchForm
from .models import MonitoringLocation
from .search import parse_query, search_queryset

MAP_POINTS_LIMIT = 20_000
POINT_FIELDS = ["id", "name", "lat", "lon", "has_daily", "has_continuous", "in_basket"]


def _filter_errors(form: SearchForm) -> list[str]:
    """The filters' errors, as the list shows them (a bad page number does not matter to a map)."""
    return [str(error) for name in form.filters() for error in form.errors.get(name, [])]


def catalog_version() -> list:
    """What changes when a station is added or edited: the newest pk and updated_at, two index steps (a COUNT
    would read the whole catalog, 60 ms at 1M rows). A deletion (admin only), a write that commits after a newer
    one, and acquisition's has_daily / has_continuous flags do not change it: the cache's timeout covers those."""
    version = MonitoringLocation.objects.order_by().aggregate(last=Max("pk"), changed=Max("updated_at"))
    return [version["last"], version["changed"].isoformat() if version["changed"] else None]


def _cache_key(filters: dict) -> str:
    """The search as it is read (q as parse_query reads it, the bbox as numbers), the catalog's version, the limit."""
    normalised = {
        **filters,
        "q": parse_query(filters["q"]),
        "bbox": [float(part) for part in filters["bbox"].split(",")] if filters["bbox"] else [],
    }
    text = json.dumps([normalised, catalog_version(), MAP_POINTS_LIMIT], sort_keys=True)
    return "map-points:" + hashlib.sha256(text.encode()).hexdigest()


def matching_points(filters: dict) -> tuple[list[list], bool]:
    """The search's first MAP_POINTS_LIMIT matches with coordinates as rows [id, name, lat, lon, has_daily,
    has_continuous], and whether there were more; from the cache while the catalog has not changed."""
    cache = caches["map_points"]
    key = _cache_key(filters)
    cached = cache.get(key)
    if cached is not None:
        return cached
    rows = (
        search_queryset(**filters)
        .filter(latitude__isnull=False, longitude__isnull=False)
        .values_list("monitoring_location_id", "name", "latitude", "longitude", "has_daily", "has_continuous")
    )
    rows = list(rows[: MAP_POINTS_LIMIT + 1])
    answer = (
        [
            [pk, name, round(lat, 5), round(lon, 5), int(daily), int(continuous)]
            for pk, name, lat, lon, daily, continuous in rows[:MAP_POINTS_LIMIT]
        ],
        len(rows) > MAP_POINTS_LIMIT,
    )
    cache.set(key, answer, settings.MAP_POINTS_CACHE_SECONDS)
    return answer


@require_GET
@permission_required("stations.view_monitoringlocation", raise_exception=True)
@heavy_read("map", "You already have {limit} station maps loading; wait for them to finish, then try again.")
def map_points(request: HttpRequest) -> JsonResponse:
    """The search's matches as compact rows (POINT_FIELDS), the ones without coordinates left out."""
    form = SearchForm(request.GET)
    form.is_valid()
    errors = _filter_errors(form)
    if errors:
        # An unreadable filter draws nothing, as the list shows no rows: ignoring it would draw what it excludes.
        return JsonResponse({"errors": errors, "fields": POINT_FIELDS, "points": [], "count": 0}, status=400)
    rows, capped = matching_points(form.filters())
    in_basket = set(basket_store.get_ids(request))
    points = [[*row, int(row[0] in in_basket)] for row in rows]
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
