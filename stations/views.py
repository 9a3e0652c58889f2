"""Station search, station page and the selection basket.

Basket changes are POSTs: htmx gets the re-rendered fragment plus an out-of-band navbar counter, a plain form a
redirect back. The basket belongs to the user's session, so viewers may use it too; creating a configuration
from it is the pulls app's job (and permission).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from streamflow.htmx import wants_fragment
from streamflow.navigation import safe_next_url

from . import basket as basket_store
from .forms import SearchForm
from .models import MonitoringLocation, TimeSeries
from .search import SearchResult, run_search, search_queryset, short_words

SITE_NUMBER = re.compile(r"[0-9]{8,15}")

BASKET_PER_PAGE = 100  # the basket page's table
ADD_ALL_LIMIT = 1000  # "Add all N results" refuses bigger sets: a configuration of thousands is a mistake.


# --- helpers ---------------------------------------------------------------------------------------------------
def _search_query(filters: dict) -> str:
    return urlencode({k: v for k, v in filters.items() if v})


def _with_counter(request: HttpRequest, html: str) -> HttpResponse:
    """The fragment plus the navbar basket counter, swapped out-of-band."""
    counter = render_to_string(
        "stations/basket_counter.html", {"basket_count": basket_store.count(request), "oob": True}, request
    )
    return HttpResponse(html + counter)


def _oob_message(level: str, text: str) -> str:
    """The page's messages area, replaced out-of-band with one alert (for htmx answers that swap something else)."""
    return format_html(
        '<div id="messages" hx-swap-oob="true"><div class="alert alert-{} alert-dismissible fade show" role="alert">'
        '{}<button type="button" class="btn-close" data-bs-dismiss="alert" aria-label="Close"></button></div></div>',
        level,
        text,
    )


def _basket_urls() -> dict:
    """URLs every row needs, reversed once per response instead of once per row (50 rows, 3 links each)."""
    return {
        "add": reverse("stations:basket-add"),
        "remove": reverse("stations:basket-remove"),
        "detail_prefix": reverse("stations:detail", args=["x"]).removesuffix("x/"),
    }


def _filter_errors(form: SearchForm) -> list[str]:
    """The errors of the filter fields, as sentences, for the results fragment (a live search swaps only that)."""
    return [str(error) for name in ("q", "state", "huc", "series", "bbox") for error in form.errors.get(name, [])]


def _search_context(request: HttpRequest, form: SearchForm, notice: dict | None = None) -> dict:
    filters = form.filters()
    errors = _filter_errors(form)
    # A filter that cannot be read shows its error and no results: ignoring it would list stations it was meant
    # to leave out, as if they matched.
    if errors:
        result = SearchResult(locations=[], page=1, count=0, capped=False, has_next=False, filters=filters)
    else:
        result = run_search(filters, form.page_number)
    query = _search_query(filters)
    search_url = reverse("stations:search")
    return {
        # List or Map: the same search, two ways to see it; each toggle is a link with the same filters.
        "map_view": (request.POST if request.method == "POST" else request.GET).get("view") == "map",
        "list_url": f"{search_url}?{query}" if query else search_url,
        "map_url": f"{search_url}?{query}&view=map" if query else f"{search_url}?view=map",
        "points_url": f"{reverse('stations:map-points')}?{query}",
        "form": form,
        "result": result,
        "query": query,
        "page_query": f"{query}&" if query else "",
        "basket_ids": set(basket_store.get_ids(request)),
        "next_url": f"{reverse('stations:search')}?{query}&page={result.page}",
        "add_all_limit": ADD_ALL_LIMIT,
        "basket_urls": _basket_urls(),
        "notice": notice,
        "ignored_words": short_words(filters["q"]),
        "filter_errors": errors,
    }


# --- search --------------------------------------------------------------------------------------------------
@require_GET
@vary_on_headers("HX-Request")
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def search(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    form.is_valid()  # invalid fields are dropped by form.filters() and shown beside their input
    template = "stations/search.html"
    if not wants_fragment(request):
        return render(request, template, _search_context(request, form))
    response = render(request, template + "#results", _search_context(request, form))
    # The address bar gets the search without its empty filters (…?q=creek, not …?q=creek&state=&huc=&series=).
    kept = urlencode([(k, v) for k, v in request.GET.items() if v])
    return push_url(response, reverse("stations:search") + (f"?{kept}" if kept else ""))


# --- station page --------------------------------------------------------------------------------------------
def _stored_data(series: TimeSeries) -> dict:
    """count / first / last of the values stored for a series, through the reverse accessors of acquisition."""
    if series.kind == TimeSeries.Kind.DAILY:
        values, field = series.daily_values, "date"
    else:
        values, field = series.continuous_values, "time"
    summary = values.aggregate(count=Count("*"), first=Min(field), last=Max(field))
    return {"series": series, **summary}


@require_GET
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def detail(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    if SITE_NUMBER.fullmatch(monitoring_location_id):
        # A bare USGS site number ("01646500", as NWIS wrote it): the station's page, when the catalog has it.
        usgs_id = f"USGS-{monitoring_location_id}"
        if MonitoringLocation.objects.filter(monitoring_location_id=usgs_id).exists():
            return redirect("stations:detail", monitoring_location_id=usgs_id)
    location = MonitoringLocation.objects.get_or_404(monitoring_location_id)
    series = sorted(location.series.all(), key=lambda s: s.sort_key)
    stored = [_stored_data(s) for s in series]
    return render(
        request,
        "stations/detail.html",
        {
            "location": location,
            "series": series,
            "stored": stored,
            "has_stored_values": any(row["count"] for row in stored),
            "configurations": location.pull_configurations.order_by("name"),
            "basket_ids": set(basket_store.get_ids(request)),
            "next_url": location.get_absolute_url(),
            "basket_urls": _basket_urls(),
        },
    )


# --- basket --------------------------------------------------------------------------------------------------
def _basket_context(request: HttpRequest) -> dict:
    ids = basket_store.get_ids(request)
    page = Paginator(ids, BASKET_PER_PAGE).get_page(request.GET.get("page") or request.POST.get("page"))
    found = MonitoringLocation.objects.in_bulk(list(page), field_name="monitoring_location_id")
    # Which ids are gone from the catalog, over the whole basket: one query for the ids only.
    in_catalog = MonitoringLocation.objects.filter(monitoring_location_id__in=ids)
    existing = set(in_catalog.values_list("monitoring_location_id", flat=True))
    return {
        "locations": [found[i] for i in page if i in found],
        "page": page,
        "basket_size": len(ids),
        "missing": [i for i in ids if i not in existing],
        "destination": basket_store.destination(request),
        "next_url": reverse("stations:basket") + (f"?page={page.number}" if page.number > 1 else ""),
    }


@require_GET
@vary_on_headers("HX-Request")
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def basket(request: HttpRequest) -> HttpResponse:
    template = "stations/basket.html"
    if wants_fragment(request):
        template += "#basket-list"
    return render(request, template, _basket_context(request))


def _button_response(request: HttpRequest, location: MonitoringLocation) -> HttpResponse:
    html = render_to_string(
        "stations/search.html#basket-button",
        {
            "location": location,
            "basket_ids": set(basket_store.get_ids(request)),
            "next_url": safe_next_url(request, reverse("stations:search")),
            "basket_urls": _basket_urls(),
        },
        request,
    )
    return _with_counter(request, html)


@require_POST
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def basket_add(request: HttpRequest) -> HttpResponse:
    location = MonitoringLocation.objects.get_or_404(request.POST.get("id", ""))
    try:
        added = basket_store.add(request, [location.monitoring_location_id])
    except basket_store.BasketFull as full:
        if wants_fragment(request):
            response = _button_response(request, location)  # still "add"; the reason goes to the messages area
            response.content += _oob_message("warning", str(full)).encode()
            return response
        messages.warning(request, str(full))
        return redirect(safe_next_url(request, reverse("stations:search")))
    if wants_fragment(request):
        return _button_response(request, location)
    if added:
        messages.success(request, f"Added {location.monitoring_location_id} to the basket.")
    else:
        messages.info(request, f"{location.monitoring_location_id} is already in the basket.")
    return redirect(safe_next_url(request, reverse("stations:search")))


@require_POST
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def basket_remove(request: HttpRequest) -> HttpResponse:
    location_id = request.POST.get("id", "")
    basket_store.remove(request, [location_id])
    if wants_fragment(request):
        if request.POST.get("fragment") == "basket-list":
            html = render_to_string("stations/basket.html#basket-list", _basket_context(request), request)
            return _with_counter(request, html)
        location = MonitoringLocation.objects.get_or_404(location_id)
        return _button_response(request, location)
    messages.success(request, f"Removed {location_id} from the basket.")
    return redirect(safe_next_url(request, reverse("stations:basket")))


@require_http_methods(["GET", "POST"])
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def basket_clear(request: HttpRequest) -> HttpResponse:
    """GET asks first (a page saying what emptying does), its POST empties."""
    if request.method == "GET":
        size = basket_store.count(request)
        if not size:
            messages.info(request, "The basket is already empty.")
            return redirect("stations:basket")
        return render(request, "stations/basket_clear.html", {"basket_size": size})
    basket_store.clear(request)
    if wants_fragment(request):
        html = render_to_string("stations/basket.html#basket-list", _basket_context(request), request)
        return _with_counter(request, html)
    messages.success(request, "The basket is empty now.")
    return redirect("stations:basket")


def _add_all(request: HttpRequest, ids: list[str]) -> dict:
    try:
        added = basket_store.add(request, ids)
    except basket_store.BasketFull as full:
        return {"level": "warning", "text": str(full)}
    return {
        "level": "success",
        "text": f"Added {added:,} station{'s' if added != 1 else ''} to the basket"
        + (f" ({len(ids) - added:,} already there)." if added < len(ids) else "."),
    }


@require_POST
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def basket_add_all(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.POST)
    form.is_valid()
    errors = _filter_errors(form)
    ids = (
        []
        if errors
        else list(
            search_queryset(**form.filters()).values_list("monitoring_location_id", flat=True)[: ADD_ALL_LIMIT + 1]
        )
    )
    if errors:
        notice = {"level": "warning", "text": " ".join(errors) + " Nothing was added."}
    elif len(ids) > ADD_ALL_LIMIT:
        notice = {
            "level": "warning",
            "text": f"More than {ADD_ALL_LIMIT:,} stations match, and “Add all” stops at {ADD_ALL_LIMIT:,}. "
            "Narrow the search (a state, a longer HUC prefix, more name words) and try again.",
        }
    elif not ids:
        notice = {"level": "warning", "text": "No station matches this search, so nothing was added."}
    else:
        notice = _add_all(request, ids)
    if wants_fragment(request):
        html = render_to_string("stations/search.html#results", _search_context(request, form, notice), request)
        return _with_counter(request, html)
    getattr(messages, "success" if notice["level"] == "success" else "warning")(request, notice["text"])
    query = _search_query(form.filters())
    return redirect(f"{reverse('stations:search')}?{query}" if query else reverse("stations:search"))
