"""Bad input (DESIGN §8): every endpoint fed oversized, malformed and hostile input answers with a clear 4xx or a
form error, writes nothing, and never answers 500.

Endpoints come from the URL resolver (tests/test_security.discover_routes), so a new URL is fuzzed automatically.
Hypothesis drives the query strings and bodies with a bounded number of examples.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulls.models import PullConfiguration
from tests.test_security import ROUTES, make_world, snapshot, url_for
from tests.test_webhook_ssrf import REFUSED as SSRF_REFUSED

HOSTILE = [
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "' OR 1=1 --",
    '"; DROP TABLE stations_monitoringlocation; --',
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "../../../../etc/passwd",
    "%00%ff%fe",
    "9" * 40,
    "-1",
    "0",
    "1e309",
    "NaN",
    "2026-02-30",
    "0000-00-00",
    "USGS-" + "0" * 300,
    "\u202e\u0000\ufeff",
    "🌊" * 200,
    " ",
    "",
    # Issue 22: an address urllib3 reads as loopback, reflected markup, a day past date arithmetic, a forged log line.
    "http://127.0.0.1:8612\\@8.8.8.8/x",
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "9999-12-31",
    "hdr\r\nBcc: attacker@evil.example",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60),
)
PARAM_NAMES = [
    "q", "state", "huc", "series", "page", "after", "level", "station", "status", "configuration", "trigger",
    "start", "end", "date_from", "date_to", "next", "id", "kind", "range_start", "range_end", "schedule_type",
    "cron_expression", "timezone", "name", "start_date", "data_type", "strategy", "enabled", "action", "fragment",
    "scale", "url", "kind", "format", "run", "sort", "dir",
]  # fmt: skip
hostile_params = st.dictionaries(st.sampled_from(PARAM_NAMES), hostile_text, max_size=6)
FUZZ = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
# Routes that act on no input at all: a POST to them does its one thing whatever the body says.
INPUTLESS = {
    "pulls:toggle",
    "pulls:toggle_row",  # the same pause/resume as pulls:toggle, answering the list's row
    "pulls:toggle_status",  # … and the configuration page's status
    "pulls:run_now",
    "pulls:delete",
    "monitoring:run_again",
    "logout",
    # Alert channels: "send a test alert" and the deletes act on the URL alone.
    "monitoring:channel_test",
    "monitoring:channel_delete",
    "monitoring:rule_delete",
    # The JSON API's actions on a configuration.
    "api:configuration_pause",
    "api:configuration_resume",
    "api:configuration_run",
}
GET_ROUTES = [r for r in ROUTES if r.name not in ("logout",)]
# /health/ answers 503 when a worker or beat is missing (as in tests): that is its meaning, not a crash.
ALLOWED_5XX = {"health": {503}}


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture
def operator_http(operator):
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def no_tasks():
    with mock.patch("celery.app.task.Task.apply_async") as sent:
        yield sent


@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: r.name)
def test_hostile_query_strings_never_cause_a_500_or_a_write(route, world, operator_http, no_tasks):
    url = url_for(route, world)
    before = snapshot()

    @FUZZ
    @given(params=hostile_params, htmx=st.booleans())
    def check(params, htmx):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = operator_http.get(url, params, **headers)
        ok = response.status_code < 500 or response.status_code in ALLOWED_5XX.get(route.name, ())
        assert ok, (route.name, params, response.status_code)

    check()
    assert snapshot() == before
    assert not no_tasks.called


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name)
def test_hostile_bodies_never_cause_a_500_and_write_nothing_where_input_matters(route, world, operator_http, no_tasks):
    url = url_for(route, world)

    before = snapshot()

    @FUZZ
    @given(body=hostile_params, htmx=st.booleans())
    def check(body, htmx):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = operator_http.post(url, body, **headers)
        ok = response.status_code < 500 or response.status_code in ALLOWED_5XX.get(route.name, ())
        assert ok, (route.name, body, response.status_code)

    check()
    if route.name not in INPUTLESS:
        assert snapshot() == before, route.name


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", b'{"name": "x", "start_date": ['),
        ("multipart/form-data; boundary=zzz", b'--zzz\r\nContent-Disposition: form-data; name="name"\r\n\r\n'),
        ("application/x-www-form-urlencoded", b"name=%ZZ%&&&=&start_date=%00"),
        ("text/plain", b"\xff\xfe\x00" * 1000),
    ],
    ids=["truncated-json", "truncated-multipart", "broken-urlencoding", "binary"],
)
def test_malformed_request_bodies_are_refused_without_a_500(content_type, body, world, operator_http):
    before = snapshot()
    for name in ("pulls:create", "stations:basket-add"):
        response = operator_http.generic("POST", reverse(name), body, content_type=content_type)
        assert response.status_code < 500, (name, content_type, response.status_code)
    assert snapshot() == before


# --- The configuration form: each rule of DESIGN §5 and §8, with a sentence the user can act on -------------------

VALID = {
    "name": "Potomac hourly",
    "description": "",
    "data_type": "daily_mean",
    "strategy": "append",
    "start_date": "2026-01-01",
    "schedule_type": "custom",
    "cron_expression": "0 * * * *",
    "timezone": "UTC",
    "enabled": "on",
    "action": "save",
}
BAD_FIELDS = [
    ("cron_expression", "61 * * * *"),
    ("cron_expression", "0 0 30 2 *"),
    ("cron_expression", "a b c d e"),
    ("cron_expression", "* * * *"),
    ("cron_expression", "0 0 1 * 1"),  # day-of-month and day-of-week both restricted: Celery ANDs them
    ("cron_expression", "*/0 * * * *"),
    ("cron_expression", "x" * 5000),
    ("name", ""),
    ("name", "x" * 5000),
    ("name", "POTOMAC DAILY"),  # the world's configuration is "Potomac daily": names are case-insensitive unique
    ("name", "a\x00b"),
    ("description", "x" * 2001),
    ("start_date", "2026-02-30"),
    ("start_date", "0000-01-01"),
    ("start_date", "yesterday"),
    ("start_date", "9999-12-31"),
    ("timezone", "Mars/Olympus_Mons"),
    ("timezone", "../../etc/localtime"),
    ("timezone", "localtime"),  # the server's own zone under a file name: not a zone a user means
    ("timezone", "Factory"),  # tzdata's placeholder ("-00")
    ("data_type", "hourly_max"),
    ("strategy", "delete_everything"),
    ("schedule_type", "every_second"),
]


ERROR_MARKERS = ("invalid-feedback", "text-danger", "alert-danger", "errorlist")


def _basket(client: Client, ids: list[str]) -> None:
    session = client.session
    session["basket"] = ids
    session.save()


@pytest.mark.parametrize("field, value", BAD_FIELDS, ids=lambda v: repr(v[:20]) if isinstance(v, str) else None)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_bad_configuration_field_is_a_form_error_and_nothing_is_saved(field, value, htmx, world, operator_http):
    _basket(operator_http, [world["location"].monitoring_location_id])
    before = snapshot()
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = operator_http.post(reverse("pulls:create"), {**VALID, field: value}, **headers)
    assert response.status_code in (200, 400, 422), response.status_code
    body = response.content.decode()
    assert any(marker in body for marker in ERROR_MARKERS), f"no error shown for {field}={value[:30]!r}"
    assert snapshot() == before


def test_the_valid_baseline_does_save(world, operator_http):
    """The control for the cases above: only the bad field stops the save."""
    _basket(operator_http, [world["location"].monitoring_location_id])
    response = operator_http.post(reverse("pulls:create"), VALID)
    assert response.status_code == 302
    assert PullConfiguration.objects.filter(name="Potomac hourly").exists()


def test_an_empty_basket_cannot_become_a_configuration(world, operator_http):
    _basket(operator_http, [])
    before = snapshot()
    response = operator_http.post(reverse("pulls:create"), VALID)
    assert response.status_code in (200, 400)
    assert snapshot() == before


def test_unknown_stations_in_the_basket_are_not_saved_as_members(world, operator_http):
    _basket(operator_http, ["USGS-99999999", "<script>", world["location"].monitoring_location_id])
    operator_http.post(reverse("pulls:create"), VALID)
    config = PullConfiguration.objects.filter(name="Potomac hourly").first()
    if config is not None:  # saved with the known station only, or refused: never with a made-up one
        ids = set(config.memberships.values_list("location__monitoring_location_id", flat=True))
        assert ids == {world["location"].monitoring_location_id}


@pytest.mark.django_db
@FUZZ
@given(field=st.sampled_from(sorted(set(VALID) - {"action", "enabled", "description"})), value=hostile_text)
def test_any_hostile_value_in_any_field_never_causes_a_500(field, value):
    # Hypothesis cannot take pytest's function fixtures; this builds its own world once per example in a savepoint.
    from django.db import transaction

    from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, UserFactory
    from tests.test_security import snapshot as snap

    with transaction.atomic():
        from django.contrib.auth.models import Group

        from streamflow.roles import OPERATORS

        user = UserFactory(username="fuzz-operator")
        user.groups.add(Group.objects.get(name=OPERATORS))
        location = MonitoringLocationFactory(monitoring_location_id="USGS-01646500", site_number="01646500")
        PullConfigurationFactory(name="Potomac daily")
        client = Client()
        client.force_login(user)
        _basket(client, [location.monitoring_location_id])
        before = snap()
        response = client.post(reverse("pulls:create"), {**VALID, field: value})
        assert response.status_code < 500, (field, value)
        if response.status_code == 302:
            # Accepted (a harmless new name, say): then it is one whole configuration, saved with its station.
            saved = PullConfiguration.objects.exclude(name="Potomac daily").get()
            assert saved.memberships.count() == 1
        else:
            assert snap() == before
        transaction.set_rollback(True)


# --- Other inputs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["USGS-99999999", "x" * 10_000, "a\x00b", "", "<script>"])
def test_an_unknown_or_hostile_station_id_is_not_added_to_the_basket(value, world, operator_http):
    response = operator_http.post(reverse("stations:basket-add"), {"id": value}, HTTP_HX_REQUEST="true")
    assert 400 <= response.status_code < 500
    assert operator_http.session.get("basket", []) == []


@pytest.mark.parametrize("username, password", [("x" * 10_000, "y"), ("a\x00b", "p"), ("", ""), ("admin'--", "x")])
def test_a_hostile_login_is_a_form_error(username, password, db, client):
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("after", ["-1", "abc", "9" * 40, "1e9", "", "\x00"])
def test_a_hostile_poll_cursor_answers_without_a_500(after, world, operator_http):
    url = reverse("monitoring:run_poll", args=[world["run"].pk])
    response = operator_http.get(url, {"after": after}, HTTP_HX_REQUEST="true")
    assert response.status_code in (200, 286, 400)


@pytest.mark.parametrize(
    "path",
    ["/pulls/99999999999999999999/", "/monitoring/runs/99999999999999999999/", "/stations/" + "x" * 5000 + "/"],
    ids=["huge-config-id", "huge-run-id", "long-station-id"],
)
def test_out_of_range_ids_in_the_path_are_404_not_500(path, world, operator_http):
    assert operator_http.get(path).status_code == 404


# --- Inputs that answered 500 in the attack of issue 12 (item 7) -------------------------------------------------


def test_a_page_number_past_any_database_integer_shows_a_page_when_the_count_is_capped(world, operator_http):
    # An unfiltered search over more rows than the cap; the cap is lowered so three stations pass it.
    from tests.factories import MonitoringLocationFactory

    MonitoringLocationFactory.create_batch(3)
    with mock.patch("stations.search.COUNT_CAP", 2):
        response = operator_http.get(reverse("stations:search"), {"page": "9" * 21})

    assert response.status_code == 200
    result = response.context["result"]
    assert result.capped
    assert result.page < 10**6
    assert not result.has_next  # the last page that may be asked for offers no "Next"


@pytest.mark.parametrize("station", ["\x00", "USGS-0164\x006500"], ids=["nul", "nul-inside"])
def test_a_nul_byte_in_the_run_page_station_filter_is_refused_without_a_500(station, world, operator_http):
    url = reverse("monitoring:run_detail", args=[world["run"].pk])
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = operator_http.get(url, {"station": station}, **headers)
        assert response.status_code == 400, response.status_code
        assert "NUL" in response.content.decode()


HUGE_CRON = "1" * 4301 + " * * * *"  # int() refuses more than 4,300 digits with a ValueError


@pytest.mark.parametrize(
    "expression",
    [HUGE_CRON, "0 " + "5" * 5000 + " * * *", "*/" + "3" * 4400 + " * * * *"],
    ids=["value", "hour", "step"],
)
def test_a_cron_field_of_thousands_of_digits_is_a_sentence_not_a_crash(expression):
    from pulls import cron

    with pytest.raises(cron.CronError, match="out of range|must be between"):
        cron.parse(expression)
    error = cron.preview(expression, "UTC").error
    assert "out of range" in error or "must be between" in error
    assert len(error) < 200  # the digits are not repeated back


def test_the_live_schedule_preview_of_a_huge_cron_field_shows_the_error(world, operator_http):
    params = {"schedule_type": "custom", "cron_expression": HUGE_CRON, "timezone": "UTC"}
    response = operator_http.get(
        reverse("pulls:create"), params, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="schedule-preview"
    )
    assert response.status_code == 200
    assert "out of range" in response.content.decode()


def test_a_huge_cron_field_kept_in_a_draft_leaves_the_edit_page_working(world, operator_http):
    url = reverse("pulls:edit", args=[world["config"].pk])
    body = {**VALID, "cron_expression": HUGE_CRON, "action": "search"}  # "search" keeps the form as a draft
    assert operator_http.post(url, body).status_code == 302

    response = operator_http.get(url)

    assert response.status_code == 200
    assert "out of range" in response.content.decode()
    world["config"].refresh_from_db()
    assert world["config"].cron_expression != HUGE_CRON


@pytest.fixture
def superuser_http(db):
    from tests.factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "changelist, params",
    [
        ("admin:acquisition_pullrun_changelist", {"status": "\x00"}),
        ("admin:acquisition_pullrun_changelist", {"q": "a\x00b"}),
        ("admin:pulls_pullconfiguration_changelist", {"schedule_type__exact": "\x00"}),
        ("admin:stations_monitoringlocation_changelist", {"state_code__exact": "M\x00"}),
        ("admin:stations_monitoringlocation_changelist", {"q": "\x00"}),
    ],
    ids=["run-status", "run-search", "config-schedule", "location-state", "location-search"],
)
def test_a_nul_byte_in_an_admin_list_filter_is_refused_without_a_500(changelist, params, world, superuser_http):
    response = superuser_http.get(reverse(changelist), params)
    assert response.status_code == 400, response.status_code


def test_a_description_of_the_maximum_length_is_accepted(world, operator_http):
    _basket(operator_http, [world["location"].monitoring_location_id])
    response = operator_http.post(reverse("pulls:create"), {**VALID, "description": "x" * 2000})
    assert response.status_code == 302
    assert len(PullConfiguration.objects.get(name="Potomac hourly").description) == 2000


@pytest.mark.parametrize("write", ["save", "update"])
def test_an_endless_error_message_is_stored_cut_to_its_bound(write, world):
    # last_error holds what upstream said; a hostile server can say a lot. Every writer is bounded, update() too.
    from pulls.models import StationProgress

    progress = StationProgress.objects.get(configuration=world["config"], location=world["location"])
    error = "USGS answered HTTP 500: " + "z" * 1_000_000
    if write == "save":
        progress.last_error = error
        progress.save()
    else:
        StationProgress.objects.filter(pk=progress.pk).update(last_error=error)

    progress.refresh_from_db()
    assert len(progress.last_error) == StationProgress._meta.get_field("last_error").max_length
    assert progress.last_error.startswith("USGS answered HTTP 500: zzz")
    assert progress.last_error.endswith("…")


# --- Hostile data that got in (issue 12: items 3, 4, 8, 10) ---------------------------------------------------------

stored_text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1)


@pytest.mark.django_db
@FUZZ
@given(location_id=st.one_of(st.sampled_from(["USGS-01/../x", 'USGS-"<b>', "..", "%2F", "a/b/c", " "]), stored_text))
def test_a_malformed_stored_station_id_never_takes_a_page_down(location_id):
    from django.db import transaction

    from tests.factories import MonitoringLocationFactory, PullConfigurationFactory, UserFactory

    with transaction.atomic():
        user = UserFactory(username="fuzz-viewer", is_superuser=True)
        location = MonitoringLocationFactory(monitoring_location_id=location_id[:40], site_number="1")
        config = PullConfigurationFactory(name="Fuzzed")
        config.memberships.create(location=location)
        client = Client()
        client.force_login(user)
        for url in (reverse("monitoring:dashboard"), config.get_absolute_url(), reverse("stations:search")):
            assert client.get(url).status_code == 200, (url, location_id)
        for name in ("stations:detail", "monitoring:station_data", "monitoring:station_data_csv"):
            assert client.get(reverse(name, args=[location.monitoring_location_id])).status_code < 500
        transaction.set_rollback(True)


@pytest.mark.django_db
@FUZZ
@given(
    values=st.lists(st.one_of(st.none(), st.floats()), min_size=1, max_size=8),
    qualifier=st.one_of(st.sampled_from(['=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]), st.text()),
)
def test_any_stored_value_or_qualifier_never_breaks_the_data_page_or_the_csv(values, qualifier):
    import csv
    import datetime as dt
    import io

    from django.db import transaction

    from acquisition.models import DailyValue
    from monitoring.csv_safe import DANGEROUS_FIRST
    from tests.factories import TimeSeriesFactory, UserFactory

    with transaction.atomic():
        user = UserFactory(username="fuzz-viewer", is_superuser=True)
        series = TimeSeriesFactory(kind="daily")
        DailyValue.objects.bulk_create(
            DailyValue(series=series, date=dt.date(2026, 1, 1) + dt.timedelta(days=i), value=v, qualifiers=[qualifier])
            for i, v in enumerate(values)
        )
        client = Client()
        client.force_login(user)
        location_id = series.location.monitoring_location_id
        assert client.get(reverse("monitoring:station_data", args=[location_id])).status_code == 200
        response = client.get(reverse("monitoring:station_data_csv", args=[location_id]))
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode()
        rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
        assert len(rows) == len(values)
        for row in rows:
            assert row[1].lower() not in ("inf", "-inf", "nan", "infinity", "-infinity")
            assert not row[4] or row[4][0] not in DANGEROUS_FIRST
        transaction.set_rollback(True)


@pytest.mark.django_db
@FUZZ
@given(cell=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300)), position=st.integers(0, 2))
def test_a_hostile_cell_in_an_import_file_is_a_rejected_row_or_a_refused_file_never_half_written(cell, position):
    import csv
    import tempfile
    from io import StringIO
    from pathlib import Path

    from django.core.management import CommandError, call_command
    from django.db import transaction

    from stations.models import MonitoringLocation

    rows = [
        ["USGS-01646500", "POTOMAC", "MD"],
        ["USGS-01594440", "PATUXENT", "MD"],
        ["USGS-01491000", "CHOPTANK", "MD"],
    ]
    rows[position][1] = cell
    with tempfile.TemporaryDirectory() as directory, transaction.atomic():
        path = Path(directory) / "sites.csv"
        with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as f:
            writer = csv.writer(f)
            writer.writerow(["monitoring_location_id", "name", "state"])
            writer.writerows(rows)
        try:
            call_command("import_stations", "--file", str(path), stdout=StringIO())
        except CommandError as exc:
            assert "Nothing was imported" in str(exc)
            assert MonitoringLocation.objects.count() == 0
        else:
            assert MonitoringLocation.objects.count() in (2, 3)
        transaction.set_rollback(True)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("url", [u for _, u in SSRF_REFUSED], ids=[name for name, _ in SSRF_REFUSED])
def test_a_webhook_address_reaching_the_inside_is_a_form_error_and_nothing_is_saved(url, htmx, world, operator_http):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    before = snapshot()

    response = operator_http.post(reverse("monitoring:channel_create"), {"name": "Hook", "kind": "webhook", "url": url},
                                  **headers)  # fmt: skip

    assert response.status_code == 400, url
    assert snapshot() == before
