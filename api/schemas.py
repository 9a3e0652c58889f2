"""The API's request and response shapes: what the OpenAPI document shows, with an example for each."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from stations.parameters import DISCHARGE, PARAMETERS


class Error(Schema):
    detail: str = Field(examples=["The configuration was not saved. cron_expression: …"])
    errors: dict[str, list[str]] | None = Field(
        default=None, description="Messages per field, where fields are to blame.", examples=[{"name": ["…"]}]
    )


# Every operation can answer these; each adds its own (404, 409, 422 …).
AUTH_ERRORS = {401: Error, 403: Error, 429: Error}
# Operations with a JSON body: 400 when it is not JSON at all, 422 when a field is wrong.
BODY_ERRORS = {400: Error, 422: Error}


class SeriesOut(Schema):
    time_series_id: str = Field(examples=["a1b2c3d4e5f60718293a4b5c6d7e8f90"])
    kind: Literal["daily", "continuous"]
    parameter_code: str = Field(examples=["00060"])
    statistic_id: str = Field(examples=["00003"])
    primary: bool
    begin: dt.datetime | None
    end: dt.datetime | None
    unit: str = Field(examples=["ft^3/s"])
    values_url: str


class StationOut(Schema):
    monitoring_location_id: str = Field(examples=["USGS-01646500"])
    site_number: str = Field(examples=["01646500"])
    name: str = Field(examples=["POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA"])
    state_code: str = Field(examples=["MD"])
    huc: str = Field(examples=["02070008"])
    latitude: float | None
    longitude: float | None
    drainage_area_sqmi: float | None
    site_type: str
    has_daily: bool
    has_continuous: bool
    url: str


class StationDetail(StationOut):
    county_name: str
    tz_abbreviation: str
    series: list[SeriesOut]


class StationPage(Schema):
    items: list[StationOut]
    next: str | None = Field(description="The next page's URL; null on the last page.")


# The parameters a configuration may pull (stations/parameters.py): discharge, gage height, water temperature, ...
ParameterCode = Literal[tuple(PARAMETERS)]  # type: ignore[valid-type]
PARAMETERS_HELP = (
    "USGS parameter codes pulled, each with its daily statistic(s) or as continuous values: "
    + ", ".join(f"{code} {p.name.lower()}" for code, p in PARAMETERS.items())
    + "."
)


class ConfigurationOut(Schema):
    id: int
    name: str = Field(examples=["Potomac daily"])
    description: str
    data_type: Literal["daily_mean", "continuous"]
    parameters: list[str] = Field(examples=[["00060", "00065"]], description=PARAMETERS_HELP)
    strategy: Literal["append", "overwrite"]
    start_date: dt.date
    schedule_type: Literal["hourly", "every_6_hours", "daily", "weekly", "custom"]
    cron_expression: str = Field(examples=["0 0 * * *"])
    timezone: str = Field(examples=["America/New_York"])
    enabled: bool
    auto_disabled_reason: str
    station_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    url: str
    runs_url: str


class ConfigurationDetail(ConfigurationOut):
    stations: list[str] = Field(examples=[["USGS-01646500", "USGS-01638500"]])


class ConfigurationPage(Schema):
    items: list[ConfigurationOut]
    next: str | None


_CONFIGURATION_EXAMPLE = {
    "name": "Potomac daily",
    "data_type": "daily_mean",
    "strategy": "append",
    "start_date": "2025-01-01",
    "schedule_type": "custom",
    "cron_expression": "30 6 * * *",
    "timezone": "America/New_York",
    "stations": ["USGS-01646500"],
}


class ConfigurationIn(Schema):
    """A new configuration: the fields of the configuration form, and its stations by id."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_CONFIGURATION_EXAMPLE]})

    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=2000)
    data_type: Literal["daily_mean", "continuous"] = "daily_mean"
    parameters: list[ParameterCode] = Field(
        default_factory=lambda: [DISCHARGE], min_length=1, max_length=len(PARAMETERS), description=PARAMETERS_HELP
    )
    strategy: Literal["append", "overwrite"] = "append"
    start_date: dt.date | None = Field(default=None, description="Default: 1 January of last year.")
    schedule_type: Literal["hourly", "every_6_hours", "daily", "weekly", "custom"] = "daily"
    cron_expression: str = Field(default="", max_length=120, description="Only for schedule_type custom.")
    timezone: str = Field(default="UTC", max_length=64, description="An IANA name.")
    enabled: bool = True
    stations: list[str] = Field(max_length=2000, description="Monitoring location ids, in order.")
    keep_without_series: bool = Field(
        default=False, description="Keep stations the catalog says lack a series of this data type."
    )


class ConfigurationPatch(Schema):
    """Only the fields sent change; `stations`, when sent, becomes the whole list."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    name: str | None = Field(default=None, max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    data_type: Literal["daily_mean", "continuous"] | None = None
    parameters: list[ParameterCode] | None = Field(
        default=None, min_length=1, max_length=len(PARAMETERS), description=PARAMETERS_HELP
    )
    strategy: Literal["append", "overwrite"] | None = None
    start_date: dt.date | None = None
    schedule_type: Literal["hourly", "every_6_hours", "daily", "weekly", "custom"] | None = None
    cron_expression: str | None = Field(default=None, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)
    enabled: bool | None = None
    stations: list[str] | None = Field(default=None, max_length=2000)
    keep_without_series: bool = False


class StationsIn(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"stations": ["USGS-01638500"]}]})

    stations: list[str] = Field(min_length=1, max_length=2000)
    keep_without_series: bool = False


class RepullIn(Schema):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"start": "2025-06-01", "end": "2025-06-30"}]}
    )

    start: dt.date
    end: dt.date


class RunOut(Schema):
    id: int
    configuration_id: int | None
    configuration_name: str = Field(description="The configuration's name now (after any rename).")
    configuration_name_at_run: str = Field(description="Its name when this run was created (kept after a delete).")
    trigger: Literal["schedule", "manual", "backfill"]
    status: Literal["queued", "running", "succeeded", "partial", "failed", "skipped"]
    data_type: str
    strategy: str
    range_start: dt.date | None
    range_end: dt.date | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    stations_total: int
    stations_succeeded: int
    stations_failed: int
    requests_made: int
    values_inserted: int
    values_updated: int
    values_unchanged: int
    message: str
    triggered_by: str
    url: str
    log_url: str


class RunStationOut(Schema):
    station: str = Field(examples=["USGS-01646500"])
    status: str
    batch: int | None = Field(description="The batch's number within the run.")
    time_series_id: str | None
    windows_total: int
    windows_done: int
    values_received: int
    values_inserted: int
    values_updated: int
    values_unchanged: int
    attempts: int
    error: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class BatchOut(Schema):
    number: int
    status: str
    stations: int
    values_expected: int
    values_received: int
    windows_total: int
    windows_done: int
    pages_fetched: int
    requests_made: int
    attempts: int
    phase: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class RunDetail(RunOut):
    stations: list[RunStationOut]
    batches: list[BatchOut]


class RunPage(Schema):
    items: list[RunOut]
    next: str | None


class QueuedRun(Schema):
    run: RunOut
    url: str = Field(description="The run's URL: poll it until its status is no longer queued or running.")


class LogLineOut(Schema):
    id: int
    created_at: dt.datetime
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    station: str | None
    message: str


class LogPage(Schema):
    items: list[LogLineOut]
    next: str = Field(description="Ask this URL for the lines after these (the same cursor when none came).")
    active: bool = Field(description="True while the run may still write lines.")
