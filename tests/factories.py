"""factory-boy factories for every model tests need. Add to this file; keep one factory per model."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from acquisition.models import PullLogEntry, PullRun, PullRunStation
from pulls.models import PullConfiguration
from stations.models import MonitoringLocation, TimeSeries


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct-horse-battery-staple")


class MonitoringLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonitoringLocation
        django_get_or_create = ("monitoring_location_id",)

    site_number = factory.Sequence(lambda n: f"{1000000 + n:08d}")
    monitoring_location_id = factory.LazyAttribute(lambda o: f"USGS-{o.site_number}")
    agency_code = "USGS"
    name = factory.Sequence(lambda n: f"TEST CREEK {n} NEAR SOMEWHERE, MD")
    state_code = "MD"
    state_fips = "24"
    huc = "020700081005"
    drainage_area_sqmi = 42.0
    latitude = 39.0
    longitude = -77.0
    site_type = "ST"
    tz_abbreviation = "EST"
    uses_dst = True


class TimeSeriesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeSeries

    location = factory.SubFactory(MonitoringLocationFactory)
    kind = TimeSeries.Kind.DAILY
    time_series_id = factory.Sequence(lambda n: f"{n:032x}")
    statistic_id = factory.LazyAttribute(lambda o: "00003" if o.kind == TimeSeries.Kind.DAILY else "00011")
    primary = True


class PullConfigurationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PullConfiguration

    name = factory.Sequence(lambda n: f"Configuration {n}")
    data_type = PullConfiguration.DataType.DAILY_MEAN
    strategy = PullConfiguration.Strategy.APPEND
    start_date = dt.date(2026, 1, 1)
    schedule_type = PullConfiguration.ScheduleType.DAILY
    timezone = "UTC"
    enabled = True


class PullRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PullRun

    configuration = factory.SubFactory(PullConfigurationFactory)
    configuration_name = factory.LazyAttribute(lambda o: o.configuration.name if o.configuration else "deleted")
    data_type = factory.LazyAttribute(lambda o: o.configuration.data_type)
    strategy = factory.LazyAttribute(lambda o: o.configuration.strategy)
    status = PullRun.Status.SUCCEEDED


class PullRunStationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PullRunStation

    run = factory.SubFactory(PullRunFactory)
    location = factory.SubFactory(MonitoringLocationFactory)


class PullLogEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PullLogEntry

    run = factory.SubFactory(PullRunFactory)
    message = factory.Sequence(lambda n: f"log line {n}")
