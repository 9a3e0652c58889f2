from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from django.core.validators import RegexValidator
from django.db import models
from django.http import Http404
from django.urls import reverse

from . import (
    lookups,  # noqa: F401  (registers the `prefix` lookup used below)
    parameters,
)
from .names import search_name

# "AGENCY-NUMBER": USGS-01646500, MD007-…; anything else cannot name a location (and never reaches the database,
# where e.g. a NUL byte would be an error rather than "not found").
MONITORING_LOCATION_ID = re.compile(r"[A-Za-z0-9]{1,20}-[A-Za-z0-9]{1,40}")

# What may be stored (issue 12, item 3): an agency of 1-10 letters or digits, one hyphen, a site number of digits.
# Every importer and the admin apply it; ids land in URLs, file names and log lines.
AGENCY_CODE = r"[A-Za-z0-9]{1,10}"
SITE_NUMBER = r"[0-9]{1,20}"
validate_agency_code = RegexValidator(
    rf"\A{AGENCY_CODE}\Z", "An agency code is 1 to 10 letters or digits, e.g. USGS.", code="invalid_agency"
)
validate_site_number = RegexValidator(
    rf"\A{SITE_NUMBER}\Z", "A site number is digits only, e.g. 01646500.", code="invalid_site_number"
)
validate_monitoring_location_id = RegexValidator(
    rf"\A{AGENCY_CODE}-{SITE_NUMBER}\Z",
    "A monitoring location id is AGENCY-NUMBER: 1 to 10 letters or digits, a hyphen, digits (e.g. USGS-01646500).",
    code="invalid_location_id",
)


class MonitoringLocationQuerySet(models.QuerySet):
    def with_series(self, kind: str) -> MonitoringLocationQuerySet:
        """Locations that have a daily / continuous discharge series ("" for any), from the denormalised flags."""
        if kind == TimeSeries.Kind.DAILY:
            return self.filter(has_daily=True)
        if kind == TimeSeries.Kind.CONTINUOUS:
            return self.filter(has_continuous=True)
        return self

    def has_parameter(self, parameter_code: str) -> MonitoringLocationQuerySet:
        """Locations with a series of this parameter ("" for any): an EXISTS on the series' (location, …) index."""
        if not parameter_code:
            return self
        return self.filter(
            models.Exists(TimeSeries.objects.filter(location=models.OuterRef("pk"), parameter_code=parameter_code))
        )

    def get_or_404(self, monitoring_location_id: str) -> MonitoringLocation:
        """The location with this id, or a 404 that names it (also for ids that cannot be valid)."""
        if MONITORING_LOCATION_ID.fullmatch(monitoring_location_id or ""):
            location = self.filter(monitoring_location_id=monitoring_location_id).first()
            if location is not None:
                return location
        raise Http404(f"No station {monitoring_location_id[:60]!r} in the catalog. Import it first (import_stations).")

    def in_state(self, postal_code: str) -> MonitoringLocationQuerySet:
        return self.filter(state_code=postal_code) if postal_code else self

    def huc_prefix(self, prefix: str) -> MonitoringLocationQuerySet:
        return self.filter(huc__prefix=prefix) if prefix else self

    def site_number_prefix(self, prefix: str) -> MonitoringLocationQuerySet:
        return self.filter(site_number__prefix=prefix)

    def location_id_prefix(self, prefix: str) -> MonitoringLocationQuerySet:
        return self.filter(monitoring_location_id__prefix=prefix.upper())

    def name_has_words(self, words: list[str]) -> MonitoringLocationQuerySet:
        """Every word (as stations.names reads it) appears in the search form of the name (PostgreSQL: served by
        the trigram index on search_name)."""
        qs = self
        for word in words:
            qs = qs.filter(search_name__contains=word)
        return qs


# USGS site type codes (the common ones; NWIS has subtypes such as ST-CA, "canal").
SITE_TYPES = {
    "ST": "Stream",
    "ST-CA": "Canal",
    "ST-DCH": "Ditch",
    "ST-TS": "Tidal stream",
    "LK": "Lake, reservoir or impoundment",
    "ES": "Estuary",
    "SP": "Spring",
    "GW": "Well",
    "AT": "Atmosphere",
    "OC": "Ocean",
    "WE": "Wetland",
}

# USGS site time zone codes; MST without daylight saving time is Arizona.
STATION_ZONES = {
    "EST": "America/New_York",
    "CST": "America/Chicago",
    "MST": "America/Denver",
    "PST": "America/Los_Angeles",
    "AKST": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "AST": "America/Puerto_Rico",
}


class MonitoringLocation(models.Model):
    """A USGS monitoring location (stream gage)."""

    monitoring_location_id = models.CharField(
        max_length=40, unique=True, help_text='e.g. "USGS-01646500"', validators=[validate_monitoring_location_id]
    )
    agency_code = models.CharField(max_length=10, default="USGS", validators=[validate_agency_code])
    site_number = models.CharField(
        max_length=20, help_text="Kept as text: leading zeros matter.", validators=[validate_site_number]
    )
    name = models.CharField(max_length=255)
    # The name as search reads it (stations.names.search_name): kept in step with `name` by save() and by the
    # bulk writers (stations.upserts), which bypass save().
    search_name = models.CharField(max_length=400, blank=True, default="", editable=False)
    state_code = models.CharField("state", max_length=2, blank=True, help_text="Postal code, e.g. MD")
    state_fips = models.CharField(max_length=2, blank=True)
    county_code = models.CharField(max_length=5, blank=True)
    county_name = models.CharField(max_length=80, blank=True)
    huc = models.CharField("HUC", max_length=16, blank=True, help_text="8 or 12 digits, as given")
    drainage_area_sqmi = models.FloatField("drainage area (mi²)", null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    site_type = models.CharField(max_length=10, blank=True, help_text='"ST" stream, "GW" well, …')
    tz_abbreviation = models.CharField("time zone", max_length=8, blank=True)
    uses_dst = models.BooleanField("uses daylight saving time", null=True, blank=True)
    # Denormalised from TimeSeries so the "has daily / has continuous" search filters need no join.
    has_daily = models.BooleanField(default=False)
    has_continuous = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MonitoringLocationQuerySet.as_manager()

    class Meta:
        ordering = ["state_code", "site_number"]
        indexes = [
            # Search "state=MD" ordered by site number, and its count.
            models.Index(fields=["state_code", "site_number"], name="loc_state_site"),
            # Search by site-number prefix ("q=0164"), unfiltered first page ordered by site number.
            models.Index(fields=["site_number"], name="loc_site_number"),
            # Search "state=MD&huc=0207" (HUC prefix within a state).
            models.Index(fields=["state_code", "huc"], name="loc_state_huc"),
            # The catalog's version for the map's cache: MAX(updated_at), one index step (stations/map_views.py).
            models.Index(fields=["updated_at"], name="loc_updated_at"),
            # PostgreSQL-only indexes (pg_trgm on name, varchar_pattern_ops prefixes) live in a
            # vendor-conditional migration, since SQLite cannot build them.
        ]

    def __str__(self) -> str:
        return f"{self.monitoring_location_id} {self.name}"

    def save(self, *args, **kwargs):
        self.search_name = search_name(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("stations:detail", args=[self.monitoring_location_id])

    @property
    def waterdata_url(self) -> str:
        """The station's page on USGS Water Data for the Nation."""
        return f"https://waterdata.usgs.gov/monitoring-location/{self.site_number}/"

    @property
    def site_type_name(self) -> str:
        """The USGS site type code in words ("ST" → "Stream"); the code itself when it is not a common one."""
        return SITE_TYPES.get((self.site_type or "").upper(), self.site_type)

    @property
    def zone(self) -> ZoneInfo | None:
        """The IANA zone of the station from its USGS time zone code, or None where unknown (then: UTC)."""
        code = (self.tz_abbreviation or "").strip().upper()
        if code == "MST" and self.uses_dst is False:
            return ZoneInfo("America/Phoenix")
        name = STATION_ZONES.get(code)
        return ZoneInfo(name) if name else None


class TimeSeries(models.Model):
    """A USGS time series of a location (from time-series-metadata): one parameter, one statistic, its own unit."""

    class Kind(models.TextChoices):
        DAILY = "daily", "Daily mean"
        CONTINUOUS = "continuous", "Continuous"

    location = models.ForeignKey(MonitoringLocation, on_delete=models.CASCADE, related_name="series")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    time_series_id = models.CharField(max_length=64, unique=True)
    parameter_code = models.CharField(max_length=5, default="00060")
    statistic_id = models.CharField(max_length=5, blank=True)
    primary = models.BooleanField(default=False)
    begin = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    unit = models.CharField(max_length=20, default="ft^3/s")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "time series"
        ordering = ["location", "kind", "-primary"]
        indexes = [
            # "which series of this location are daily/continuous, primary first" (acquisition, station page).
            models.Index(fields=["location", "kind", "primary"], name="series_loc_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.location.monitoring_location_id} {self.kind} {self.time_series_id[:8]}"

    @property
    def parameter(self) -> parameters.Parameter | None:
        return parameters.parameter(self.parameter_code)

    @property
    def parameter_name(self) -> str:
        return parameters.parameter_name(self.parameter_code)

    @property
    def label(self) -> str:
        """ "Water temperature, daily maximum", "Discharge, continuous"."""
        return parameters.series_label(self.parameter_code, self.statistic_id, self.kind)

    @property
    def unit_words(self) -> str:
        """Its unit string in words ("degC" → "°C"); one this product does not know, as given."""
        return parameters.unit_in_words(self.unit)

    @property
    def sort_key(self) -> tuple:
        """Parameters in the catalog's order (discharge first), then daily before continuous, primary first."""
        order = list(parameters.PARAMETERS)
        rank = order.index(self.parameter_code) if self.parameter_code in order else len(order)
        stat = "" if self.statistic_id == parameters.MEAN else self.statistic_id
        return (rank, self.parameter_code, self.kind, stat, not self.primary, self.time_series_id)
