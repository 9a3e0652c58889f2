"""Pages over stored data: a station's hydrograph and CSV export, a configuration's statistics."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from acquisition.models import NormalsFetch
from pulls.models import PullConfiguration
from stations.models import MonitoringLocation, TimeSeries
from stations.parameters import DISCHARGE, MEAN
from streamflow.htmx import wants_fragment
from streamflow.responses import plain_error

from . import charts, export_limits, normal_bands, streams
from .export import chart_data, csv_chunks, data_extent
from .hydrograph_screening import screen, slices_to_read
from .percentiles import series_normals, unusable
from .run_statistics import configuration_statistics as compute_statistics

DEFAULT_WINDOW = {TimeSeries.Kind.DAILY: dt.timedelta(days=365), TimeSeries.Kind.CONTINUOUS: dt.timedelta(days=30)}
EXPORT_RETRY_AFTER = 30  # seconds: a hint only; the page says to wait for a running export to finish
CHART_WIDTH = 1000  # SVG user units: one point pair per unit column at most
SCALES = ("linear", "log")


def station_zone(location: MonitoringLocation) -> ZoneInfo | None:
    """The IANA zone of a station (stations.MonitoringLocation.zone), or None where unknown (times stay in UTC)."""
    return location.zone


def plausible_date(value: dt.date) -> None:
    # Far-off years would overflow date arithmetic (9999-12-31 + 1 day); no stream gage reaches them.
    if not 1800 <= value.year <= 2200:
        raise forms.ValidationError("Pick a date between the years 1800 and 2200.")


class RangeForm(forms.Form):
    kind = forms.ChoiceField(choices=TimeSeries.Kind.choices, required=False)
    start = forms.DateField(required=False, validators=[plausible_date], widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, validators=[plausible_date], widget=forms.DateInput(attrs={"type": "date"}))

    swapped = False

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            # Plainly meant the other way round: draw that, and say so beside the form.
            data["start"], data["end"] = data["end"], data["start"]
            self.swapped = True
        return data


def _series_for(
    location: MonitoringLocation, kind: str | None, parameter: str | None = None, statistic: str | None = None
) -> tuple[TimeSeries | None, list[str]]:
    """The series drawn: of `parameter` (discharge where the station has it, else its first), `kind` (daily where
    it has it) and `statistic` (the parameter's usual one by default); and the kinds that parameter has."""
    series = sorted(TimeSeries.objects.filter(location=location), key=lambda s: s.sort_key)
    codes = list(dict.fromkeys(s.parameter_code for s in series))
    if parameter not in codes:
        parameter = DISCHARGE if DISCHARGE in codes else (codes[0] if codes else None)
    series = [s for s in series if s.parameter_code == parameter]
    kinds = sorted({s.kind for s in series})
    wanted = kind if kind in kinds else (TimeSeries.Kind.DAILY if TimeSeries.Kind.DAILY in kinds else None)
    wanted = wanted or (kinds[0] if kinds else None)
    of_kind = [s for s in series if s.kind == wanted]
    chosen = next((s for s in of_kind if statistic and s.statistic_id == statistic), None)
    return chosen or next(iter(of_kind), None), kinds


def series_query(series: TimeSeries) -> dict[str, str]:
    """The query that names `series` on the data pages: its kind, and its parameter and statistic where they are not
    discharge's daily mean (so discharge keeps the short addresses it always had)."""
    query = {"kind": series.kind}
    if series.parameter_code != DISCHARGE:
        query["parameter"] = series.parameter_code
    if series.kind == TimeSeries.Kind.DAILY and series.statistic_id not in ("", MEAN):
        query["statistic"] = series.statistic_id
    return query


def _series_choices(
    location: MonitoringLocation, scale: str, kept: dict | None = None
) -> list[tuple[str, str, TimeSeries]]:
    """Every series of the station as (label, query, series), one per parameter, kind and statistic (the data page's
    tabs); the log scale is carried only to parameters that offer it."""
    seen, out = set(), []
    for s in sorted(TimeSeries.objects.filter(location=location), key=lambda s: s.sort_key):
        query = series_query(s)
        key = tuple(sorted(query.items()))
        if key in seen:
            continue
        seen.add(key)
        offers_log = s.parameter is not None and s.parameter.log_axis
        out.append((s.label, urlencode({**query, "scale": scale if offers_log else "linear", **(kept or {})}), s))
    return out


def _chosen_range(form: RangeForm, series: TimeSeries, extent) -> tuple[dt.date, dt.date]:
    """The range drawn: the dates asked for (open ends filled from the record), else the default window.
    A bad request falls back to the default window; the page then says so and shows that range everywhere."""
    first, last = extent
    data = form.cleaned_data if form.is_valid() else {}
    start, end = data.get("start"), data.get("end")
    if start or end:
        return start or first, end or last
    return max(first, last - DEFAULT_WINDOW[series.kind]), last


def _epoch(day: dt.date, tz: dt.tzinfo) -> float:
    return dt.datetime.combine(day, dt.time.min, tz).timestamp()


@require_GET
@vary_on_headers("HX-Request")
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def station_data(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    location = MonitoringLocation.objects.get_or_404(monitoring_location_id)
    scale = request.GET.get("scale") or "linear"
    if scale not in SCALES:
        return plain_error(f"Unknown scale “{scale}”: use log or linear.")
    form = RangeForm(request.GET or None)
    series, kinds = _series_for(
        location, request.GET.get("kind"), request.GET.get("parameter"), request.GET.get("statistic")
    )
    parameter = series.parameter if series is not None else None
    offers_log = parameter is None or parameter.log_axis
    if scale == "log" and not offers_log:
        return plain_error(
            f"A log axis is offered for discharge only, not for {series.parameter_name.lower()}: use scale=linear."
        )
    context = {
        "location": location, "form": form, "series": series, "kinds": kinds, "scale": scale,
        "choices": _series_choices(location, scale, _range_query(form)), "offers_log": offers_log,
    }  # fmt: skip
    context["tabs"] = [(kind, urlencode(_tab_query(form, kind, scale, series))) for kind in kinds]
    if series is not None:
        daily = series.kind == TimeSeries.Kind.DAILY
        zone = None if daily else station_zone(location)
        tz = zone or dt.UTC
        extent = data_extent(series, tz)
        context.update({"extent": extent, "zone": zone})
        if extent is not None:
            lo, hi = _chosen_range(form, series, extent)
            # The form's inputs, the chart, the caption and the CSV link all show this one range.
            context.update({"start": lo, "end": hi, "unit": charts.unit_label(series.unit)})
            start_epoch = _epoch(lo, tz)
            end_epoch = _epoch(hi, tz) if daily else _epoch(hi + dt.timedelta(days=1), tz)
            zone_label = "UTC"
            if zone:  # both abbreviations when the range crosses a daylight-saving change ("EDT/EST")
                names = dict.fromkeys(f"{dt.datetime.fromtimestamp(t, zone):%Z}" for t in (start_epoch, end_epoch - 1))
                zone_label = f"{zone.key}, {'/'.join(names)}"
            context["zone_label"] = zone_label
            read = {"start_epoch": start_epoch, "span": end_epoch - start_epoch, "width": CHART_WIDTH, "tz": tz}
            log = scale == "log"
            data = chart_data(series, lo, hi, log=log, **read)
            if log and not data.positive and data.nonpositive:
                log = False  # nothing above 0 to draw on a log axis: the page says so
                context["linear_reason"] = "No value in this range is above 0, so the axis is linear."
                data = chart_data(series, lo, hi, **read)
            # Daily values are stored at their day's midnight: the range ends after the last day.
            slices = slices_to_read(data.columns, read["span"] / CHART_WIDTH, daily) if data.bucketed else None
            screening = screen(series, start_epoch, end_epoch + (86400 if daily else 0), slices=slices)
            spec = charts.HydrographSpec(
                start=start_epoch,
                end=end_epoch,
                daily=daily,
                unit=series.unit,
                axis_label=series.parameter_name,
                width=CHART_WIDTH,
                title=f"{location.monitoring_location_id} {series.label.lower()}, {lo} to {hi}",
                tz=tz,
                zone_label=zone_label,
                marks=[*screening.gaps, *data.qualified, *screening.flags],
                log=log,
                normals=_band_days(series, lo, hi, context) if daily else (),
                stored=charts.Stored(
                    values=data.values, provisional=data.provisional, nonpositive=data.nonpositive, gap=data.gap
                ),
            )
            chart = charts.hydrograph(data.rows, spec)
            # A phone shows the same rows drawn for its width, with type that stays legible (CSS picks one).
            phone = charts.hydrograph(data.rows, replace(spec, width=charts.PHONE_WIDTH, height=charts.PHONE_HEIGHT))
            context.update(
                {
                    "chart": chart,
                    "svg": mark_safe(chart.svg),  # noqa: S308 - built with escape()
                    "phone_svg": mark_safe(phone.svg),  # noqa: S308 - built with escape()
                }
            )
            context.update(_companion(request, location, series, spec, lo, hi, read))
            context["presets"] = _presets(series, extent, scale)
            named = series_query(series)
            context["series_query"] = urlencode(named)
            context["scales"] = (
                [(name, urlencode({**named, "start": lo, "end": hi, "scale": name})) for name in SCALES]
                if offers_log
                else []
            )
            context["csv_query"] = urlencode({**named, "start": lo.isoformat(), "end": hi.isoformat()})
    template = "monitoring/station_data.html"
    if wants_fragment(request):
        template += "#hydrograph"
    return render(request, template, context)


def _range_query(form: RangeForm) -> dict:
    """The range the user chose, which tabs keep (not the default window, which is each series' own)."""
    if not form.is_valid():
        return {}
    return {name: form.cleaned_data[name] for name in ("start", "end") if form.cleaned_data.get(name)}


def _tab_query(form: RangeForm, kind: str, scale: str, series: TimeSeries | None = None) -> dict:
    """A kind tab keeps the parameter, the axis and the range the user chose."""
    query = {"kind": kind, "scale": scale}
    if series is not None and series.parameter_code != DISCHARGE:
        query["parameter"] = series.parameter_code
    return {**query, **_range_query(form)}


def _band_days(series: TimeSeries, lo: dt.date, hi: dt.date, context: dict) -> list[normal_bands.Day]:
    """The percentile bands of the days drawn (issue 24), and `band_note`: why some or all are missing."""
    if (hi - lo).days + 1 > normal_bands.MAX_BAND_DAYS:
        context["band_note"] = (
            f"Percentile bands are drawn for ranges of up to {normal_bands.MAX_BAND_DAYS} days; pick a shorter range "
            "to see them."
        )
        return []
    rows = series_normals(series, lo, hi)
    days, missing, reason = [], 0, ""
    for day, normal in rows:
        why = unusable(normal)
        if why:
            missing += 1
            reason = reason or why
            days.append(normal_bands.Day(_epoch(day, dt.UTC), None, None, None, None, None))
        else:
            days.append(
                normal_bands.Day(_epoch(day, dt.UTC), normal.p10, normal.p25, normal.p50, normal.p75, normal.p90)
            )
    if missing == len(rows) and not series.normals.exists():
        fetched = NormalsFetch.objects.filter(series=series).first()
        context["band_note"] = "No percentile bands: " + (
            fetched.message if fetched and fetched.message else "the normals of this series are not fetched yet."
        )
        return []
    if missing:
        context["band_note"] = f"No percentile band on {missing} of {len(rows)} days: {reason}"
    context["band_days"] = len(rows) - missing
    return days if missing < len(rows) else []


# Parameters drawn together on one time axis: stage beside discharge and discharge beside stage.
COMPANIONS = {DISCHARGE: "00065", "00065": DISCHARGE}


def _companion(request, location, series: TimeSeries, spec, lo: dt.date, hi: dt.date, read: dict) -> dict:
    """The companion chart (`with=<code>`: gage height under discharge, or discharge under gage height): the same
    range, width and margins, so the two time axes line up pixel for pixel. Also the link that asks for it."""
    code = COMPANIONS.get(series.parameter_code)
    if code is None:
        return {}
    candidates = TimeSeries.objects.filter(location=location, kind=series.kind, parameter_code=code)
    other = min(candidates, key=lambda s: s.sort_key, default=None)
    if other is None:
        return {}
    query = request.GET.copy()
    shown = query.get("with") == code
    if shown:
        query.pop("with")
    else:
        query["with"] = code
    out = {"companion_name": other.parameter_name.lower(), "companion_shown": shown, "companion_code": code}
    out["companion_query"] = query.urlencode()
    if not shown:
        return out
    daily = series.kind == TimeSeries.Kind.DAILY
    data = chart_data(other, lo, hi, **read)
    end = spec.end + (86400 if daily else 0)
    slices = slices_to_read(data.columns, read["span"] / CHART_WIDTH, daily) if data.bucketed else None
    screening = screen(other, spec.start, end, slices=slices)
    other_spec = replace(
        spec,
        unit=other.unit,
        axis_label=other.parameter_name,
        title=f"{location.monitoring_location_id} {other.label.lower()}, {lo} to {hi}",
        marks=[*screening.gaps, *data.qualified, *screening.flags],
        log=False,
        stored=charts.Stored(values=data.values, provisional=data.provisional, nonpositive=0, gap=data.gap),
    )
    chart = charts.hydrograph(data.rows, other_spec)
    phone = charts.hydrograph(data.rows, replace(other_spec, width=charts.PHONE_WIDTH, height=charts.PHONE_HEIGHT))
    return {
        **out,
        "companion_chart": chart,
        "companion_svg": mark_safe(chart.svg),  # noqa: S308 - built with escape()
        "companion_phone_svg": mark_safe(phone.svg),  # noqa: S308 - built with escape()
    }


def _presets(series: TimeSeries, extent, scale: str) -> list[tuple[str, str]]:
    first, last = extent
    options = [("Last 7 days", 7), ("Last 30 days", 30), ("Last year", 365), ("Last 10 years", 3650)]
    named = series_query(series)
    presets = [
        (
            label,
            urlencode({**named, "start": max(first, last - dt.timedelta(days=days)), "end": last, "scale": scale}),
        )
        for label, days in options
        if last - dt.timedelta(days=days) > first or days == 7
    ]
    presets.append(("Full record", urlencode({**named, "start": first, "end": last, "scale": scale})))
    return presets


@require_GET
@permission_required("stations.view_monitoringlocation", raise_exception=True)
def station_data_csv(request: HttpRequest, monitoring_location_id: str) -> HttpResponse:
    location = MonitoringLocation.objects.get_or_404(monitoring_location_id)
    form = RangeForm(request.GET or None)
    if request.GET and not form.is_valid():
        return plain_error("Those dates are not valid: use YYYY-MM-DD, start before end.")
    series, _ = _series_for(
        location, request.GET.get("kind"), request.GET.get("parameter"), request.GET.get("statistic")
    )
    if series is None:
        return plain_error("This station has no stored series to export.", status=404)
    data = form.cleaned_data if form.is_bound else {}
    start, end = data.get("start"), data.get("end")
    daily = series.kind == TimeSeries.Kind.DAILY
    # Days are the station's local days (as on the page); the times in the file are UTC, as its name says.
    tz = (None if daily else station_zone(location)) or dt.UTC
    suffix = "" if daily else "_times_utc"
    what = series.kind if series.parameter_code == DISCHARGE else f"{series.parameter_code}_{series.kind}"
    if series.kind == TimeSeries.Kind.DAILY and series.statistic_id not in ("", MEAN):
        what += f"_{series.statistic_id}"
    name = f"{location.monitoring_location_id}_{what}_{start or 'first'}_{end or 'last'}{suffix}.csv"
    # A web worker thread per running export: each user gets a few at once, across all web processes.
    limit = export_limits.exports_per_user()
    slot = export_limits.acquire(request.user.pk, limit)
    if slot is None:
        response = render(request, "monitoring/export_busy.html", {"location": location, "limit": limit}, status=429)
        response["Retry-After"] = str(EXPORT_RETRY_AFTER)
        return response
    response = streams.slotted_stream(request, csv_chunks(series, start, end, tz), slot, "text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@vary_on_headers("HX-Request")
@permission_required("pulls.view_pullconfiguration", raise_exception=True)
def configuration_statistics(request: HttpRequest, pk: int) -> HttpResponse:
    """Statistics of a configuration; the configuration page loads the #config-statistics fragment."""
    config = get_object_or_404(PullConfiguration, pk=pk)
    stats = compute_statistics(config)
    runs = stats["recent_runs"]  # the template says so in a sentence when there are none
    labels = [f"#{r.pk} {r.created_at:%Y-%m-%d %H:%M}" for r in runs]
    stats["duration_chart"] = mark_safe(  # noqa: S308 - built with escape()
        charts.bar_chart(
            [r.duration.total_seconds() if r.duration else 0 for r in runs], labels, title="Run duration", unit="s"
        )
    )
    stats["values_chart"] = mark_safe(  # noqa: S308 - built with escape()
        charts.bar_chart(
            [r.values_inserted + r.values_updated for r in runs],
            labels,
            title="Values inserted + updated per run",
            unit="values",
            color="#2f9e44",
        )
    )
    template = "monitoring/configuration_statistics.html"
    if wants_fragment(request):
        template += "#config-statistics"
    return render(request, template, {"configuration": config, **stats})
