"""The station search page: filters, word / prefix matching, counts, HTMX fragment vs full page, escaping."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stations import search
from stations.models import MonitoringLocation
from tests.factories import MonitoringLocationFactory

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def catalog():
    make = MonitoringLocationFactory
    return {
        "potomac": make(
            site_number="01646500",
            name="POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA",
            huc="020700081005",
            has_daily=True,
            has_continuous=True,
        ),
        "seneca": make(
            site_number="01645000", name="SENECA CREEK AT DAWSONVILLE, MD", huc="020700080203", has_daily=True
        ),
        "choptank": make(site_number="01491000", name="CHOPTANK RIVER NEAR GREENSBORO, MD", huc="020600050101"),
        "merced": make(
            site_number="11264500",
            name="MERCED R A HAPPY ISLES BRIDGE NR YOSEMITE CA",
            state_code="CA",
            state_fips="06",
            huc="18040008",
        ),
    }


def rows(response) -> list[str]:
    return [loc.monitoring_location_id for loc in response.context["result"].locations]


def test_the_plain_page_is_a_full_page_with_the_form_and_results(viewer_client, catalog):
    response = viewer_client.get("/stations/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body and 'id="search-form"' in body and 'id="results"' in body
    assert "4 stations match" in body
    assert rows(response) == ["USGS-01491000", "USGS-01645000", "USGS-01646500", "USGS-11264500"]


def test_an_htmx_request_gets_only_the_results_fragment(viewer_client, catalog):
    response = viewer_client.get("/stations/?q=potomac", headers=HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'id="search-form"' not in body
    assert body.lstrip().startswith('<div id="results">')
    assert "POTOMAC RIVER NEAR WASH" in body
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_a_history_restore_request_gets_the_full_page(viewer_client, catalog):
    response = viewer_client.get("/stations/?q=potomac", headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.content.decode()


def test_a_lowercase_word_finds_the_uppercase_name(viewer_client, catalog):
    response = viewer_client.get("/stations/", {"q": "potomac"})
    assert rows(response) == ["USGS-01646500"]
    assert "1 station matches" in response.content.decode()


def test_every_word_must_appear_in_the_name(viewer_client, catalog):
    assert rows(viewer_client.get("/stations/", {"q": "river greensboro"})) == ["USGS-01491000"]
    assert rows(viewer_client.get("/stations/", {"q": "creek yosemite"})) == []


def test_digits_match_a_site_number_prefix_and_an_id_prefix_matches_the_id(viewer_client, catalog):
    assert rows(viewer_client.get("/stations/", {"q": "0164"})) == ["USGS-01645000", "USGS-01646500"]
    assert rows(viewer_client.get("/stations/", {"q": "01646500"})) == ["USGS-01646500"]
    assert rows(viewer_client.get("/stations/", {"q": "usgs-0149"})) == ["USGS-01491000"]
    # a prefix, not a substring
    assert rows(viewer_client.get("/stations/", {"q": "646500"})) == []


def test_state_and_huc_prefix_filter_together(viewer_client, catalog):
    assert rows(viewer_client.get("/stations/", {"state": "MD", "huc": "0207"})) == ["USGS-01645000", "USGS-01646500"]
    assert rows(viewer_client.get("/stations/", {"state": "CA"})) == ["USGS-11264500"]
    assert rows(viewer_client.get("/stations/", {"state": "CA", "huc": "0207"})) == []


def test_series_filters_use_the_has_daily_and_has_continuous_flags(viewer_client, catalog):
    assert rows(viewer_client.get("/stations/", {"series": "daily"})) == ["USGS-01645000", "USGS-01646500"]
    assert rows(viewer_client.get("/stations/", {"series": "continuous"})) == ["USGS-01646500"]


def test_invalid_filters_are_explained_and_list_nothing(viewer_client, catalog):
    response = viewer_client.get("/stations/", {"huc": "02x7", "state": "ZZ"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "A HUC prefix is 1 to 12 digits" in body
    assert rows(response) == []


def test_a_live_search_with_an_invalid_huc_shows_the_error_and_no_results(viewer_client, catalog):
    response = viewer_client.get("/stations/", {"q": "river", "huc": "02x7"}, headers=HX)
    body = response.content.decode()

    assert "<html" not in body
    assert 'id="search-errors"' in body and "A HUC prefix is 1 to 12 digits, e.g. 0207." in body
    assert rows(response) == []
    assert "Add all" not in body


def test_add_all_with_an_invalid_huc_adds_nothing(viewer_client, catalog):
    response = viewer_client.post(reverse("stations:basket-add-all"), {"huc": "02x7"}, headers=HX)

    assert "A HUC prefix is 1 to 12 digits" in response.content.decode()
    assert viewer_client.session.get("basket", []) == []


def test_results_are_paginated_50_a_page_with_links_that_work_without_javascript(viewer_client):
    MonitoringLocationFactory.create_batch(120)
    first = viewer_client.get("/stations/", {"state": "MD"})
    body = first.content.decode()
    assert len(rows(first)) == 50
    assert "120 stations match" in body and "showing 1–50" in body
    assert 'href="?state=MD&amp;page=2"' in body and 'hx-get="?state=MD&amp;page=2"' in body

    last = viewer_client.get("/stations/", {"state": "MD", "page": 3}, headers=HX)
    assert len(rows(last)) == 20
    assert "showing 101–120" in last.content.decode()
    assert "Next" not in last.content.decode()
    # a page past the end shows the last page instead of an error
    assert viewer_client.get("/stations/", {"state": "MD", "page": 99}).context["result"].page == 3


def test_a_count_past_the_cap_is_shown_as_more_than_never_as_a_total(viewer_client, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 10)
    MonitoringLocationFactory.create_batch(12)
    response = viewer_client.get("/stations/")
    body = response.content.decode()
    assert "More than 10 stations match" in body
    assert "12 stations" not in body
    assert response.context["result"].capped


def test_a_station_name_is_escaped(viewer_client):
    MonitoringLocationFactory(site_number="09999999", name='<script>alert("x")</script> CREEK')
    body = viewer_client.get("/stations/", {"q": "creek"}).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; CREEK" in body


def test_rows_in_the_basket_show_added(viewer_client, catalog):
    viewer_client.post("/stations/basket/add/", {"id": "USGS-01646500"})
    body = viewer_client.get("/stations/", {"q": "0164"}).content.decode()
    assert body.count("Added ✓") == 1
    assert body.count(">Add</button>") == 1


def test_anonymous_users_are_sent_to_log_in(anonymous_client):
    response = anonymous_client.get("/stations/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_parse_query_tells_site_numbers_ids_and_words_apart():
    assert search.parse_query(" 0164 ") == ("site", "0164")
    assert search.parse_query("usgs-0164") == ("id", "USGS-0164")
    assert search.parse_query("Potomac river") == ("words", ["potomac", "river"])
    assert search.parse_query("  ") == ("none", "")


def test_the_prefix_lookup_escapes_wildcards():
    MonitoringLocationFactory(site_number="01646500", huc="0207")
    assert not MonitoringLocation.objects.filter(huc__prefix="0_07").exists()
    assert not MonitoringLocation.objects.filter(huc__prefix="*").exists()
    assert not MonitoringLocation.objects.filter(huc__prefix="%").exists()
    assert MonitoringLocation.objects.filter(huc__prefix="02").exists()


def test_a_word_search_count_stops_at_its_own_lower_cap(viewer_client, monkeypatch):
    monkeypatch.setattr(search, "WORD_COUNT_CAP", 2)
    MonitoringLocationFactory.create_batch(3)  # "TEST CREEK n NEAR SOMEWHERE, MD"
    body = viewer_client.get("/stations/", {"q": "creek"}).content.decode()
    assert "More than 2 stations match" in body
    assert "“Add all” works up to" in body  # no add-all button for an uncounted set


def test_the_htmx_search_pushes_its_address_without_empty_filters(viewer_client):
    response = viewer_client.get(
        reverse("stations:search"), {"q": "creek", "state": "", "huc": "", "series": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/stations/?q=creek"


# --- Short terms (issue 12, item 9): a name word under 3 letters cannot use the trigram index --------------------


@pytest.mark.parametrize("q", ["a", "_", "%", "xy", "a b", "_ %", "o'"])
def test_a_name_word_under_three_letters_is_ignored_with_a_notice(q, viewer_client, catalog):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = viewer_client.get("/stations/", {"q": q})

    assert response.status_code == 200
    assert not any("LIKE" in query["sql"].upper() for query in queries.captured_queries)
    assert len(rows(response)) == 4  # as if no name words were given
    assert "at least 3 letters" in response.content.decode()


def test_short_words_beside_a_long_one_are_dropped_and_the_long_one_filters(viewer_client, catalog):
    response = viewer_client.get("/stations/", {"q": "seneca at md"}, headers=HX)

    assert rows(response) == [catalog["seneca"].monitoring_location_id]
    body = response.content.decode()
    assert "at least 3 letters" in body and "“at”" in body and "“md”" in body


def test_parse_query_keeps_words_of_three_letters_or_more():
    assert search.parse_query("a") == ("none", "")
    assert search.parse_query("st. mary's") == ("words", ["saint", "marys"])
    assert search.parse_query("dc") == ("none", "")
    assert search.short_words("seneca at md") == ["at", "md"]


# --- NWIS abbreviations and punctuation (issue 13, defect 3) ----------------------------------------------------


@pytest.fixture
def abbreviated():
    make = MonitoringLocationFactory
    names = {
        "trinity": "TRINITY RV AT DALLAS, TX",
        "anacostia": "NW BR ANACOSTIA R NR HYATTSVILLE, MD",
        "potomac": "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA",
        "stmarys": "ST. MARY'S RIVER AT ST. MARY'S CITY, MD",
        "merced": "MERCED R A HAPPY ISLES BRIDGE NR YOSEMITE CA",
        "colorado_full": "COLORADO RIVER NEAR CAMERON, AZ",
        "colorado_short": "COLORADO R AB NATIONAL CANYON NR SUPAI AZ",
        "patuxent": "PATUXENT RIVER NEAR LAUREL, MD",
        "powder": "NF POWDER RIVER BELOW PASS CREEK, NR MAYOWORTH, WY",
        "seneca": "SENECA CREEK AT DAWSONVILLE, MD",
        "rondout": "RONDOUT CR ABOVE RED BROOK AT PEEKAMOOSE NY",
    }
    return {key: make(name=name).monitoring_location_id for key, name in names.items()}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("trinity river", ["trinity"]),
        ("near hyattsville", ["anacostia"]),
        ("washington", ["potomac"]),
        ("st marys", ["stmarys"]),
        ("saint mary's", ["stmarys"]),
        ("merced river", ["merced"]),
        ("colorado river", ["colorado_full", "colorado_short"]),
        ("anacostia branch", ["anacostia"]),
        ("north fork powder", ["powder"]),
    ],
)
def test_a_written_out_word_finds_its_nwis_abbreviation(q, expected, viewer_client, abbreviated):
    response = viewer_client.get("/stations/", {"q": q}, headers=HX)

    assert sorted(rows(response)) == sorted(abbreviated[key] for key in expected)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nr laurel", ["patuxent"]),
        ("patuxent rv", ["patuxent"]),
        ("seneca ck", ["seneca"]),
        ("rondout creek", ["rondout"]),
        ("nf powder", ["powder"]),
        ("wash dc", ["potomac"]),
    ],
)
def test_an_abbreviation_typed_finds_the_word_written_out(q, expected, viewer_client, abbreviated):
    response = viewer_client.get("/stations/", {"q": q}, headers=HX)

    assert sorted(rows(response)) == sorted(abbreviated[key] for key in expected)


def test_punctuation_in_the_name_or_the_query_is_ignored(viewer_client, abbreviated):
    for q in ["marys", "mary's city", "st. mary's", "dallas, tx"]:
        assert rows(viewer_client.get("/stations/", {"q": q})) != [], q


def test_the_search_form_of_a_name_follows_the_name_through_save_and_upserts(db):
    from stations.upserts import upsert_locations

    location = MonitoringLocationFactory(name="TRINITY RV AT DALLAS, TX")
    assert location.search_name == " trinity river at dallas tx "

    upsert_locations([{"monitoring_location_id": location.monitoring_location_id, "name": "ELM FK TRINITY RV"}])
    upsert_locations([{"monitoring_location_id": "USGS-08057000", "site_number": "08057000", "name": "W FK NR X"}])

    location.refresh_from_db()
    assert location.search_name == " elm fork trinity river "
    assert MonitoringLocation.objects.get(site_number="08057000").search_name == " west fork near x "


# --- "search this area" (the map's bbox filter, understood by the list too) ---------------------------------


def test_a_bbox_keeps_only_the_stations_inside_it(viewer_client):
    inside = MonitoringLocationFactory(name="ANACOSTIA", latitude=38.95, longitude=-76.93)
    MonitoringLocationFactory(name="MERCED", latitude=37.73, longitude=-119.55)
    MonitoringLocationFactory(name="NOWHERE", latitude=None, longitude=None)

    response = viewer_client.get("/stations/", {"bbox": "-77.5,38.5,-76.5,39.5"}, headers=HX)

    assert rows(response) == [inside.monitoring_location_id]
    assert 'id="search-area"' not in response.content.decode()  # the form (outside the fragment) says it
    page = viewer_client.get("/stations/", {"bbox": "-77.5,38.5,-76.5,39.5"}).content.decode()
    assert 'id="search-area"' in page and "Search everywhere" in page


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "10,0,5,1", "-77,50,-76,40", "-200,0,0,1"])
def test_a_bbox_that_is_not_an_area_is_explained_and_lists_nothing(bbox, viewer_client, catalog):
    response = viewer_client.get("/stations/", {"bbox": bbox}, headers=HX)

    assert rows(response) == []
    assert 'id="search-errors"' in response.content.decode()
