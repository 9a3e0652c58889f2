"""NWIS directions in station names and queries, and one short-word rule for every query word (issue 23, item 6)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from stations import search
from stations.models import MonitoringLocation
from stations.names import search_name
from tests.factories import MonitoringLocationFactory

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def named():
    names = {
        "hyattsville": "NW BR ANACOSTIA RIVER NR HYATTSVILLE, MD",
        "colesville": "NW BRANCH ANACOSTIA RIVER NEAR COLESVILLE, MD",
        "northeast_branch": "NORTHEAST BRANCH ANACOSTIA RIVER AT RIVERDALE, MD",
        "zachary": "White Bayou SE of Zachary, LA",
        "iowa": "South Fork Iowa River NE of New Providence, IA",
        "meadville": "PLUM CREEK AT MEADVILLE, NE",
        "norfolk": "ELKHORN R AT NORFOLK NE",
        "shenandoah": "S F SHENANDOAH RIVER NEAR LURAY, VA",
        "potomac_north": "N BR POTOMAC RIVER AT STEYER, MD",
        "seneca": "SENECA CREEK AT DAWSONVILLE, MD",
    }
    return {key: MonitoringLocationFactory(name=name).monitoring_location_id for key, name in names.items()}


def found(client, q: str) -> list[str]:
    response = client.get("/stations/", {"q": q}, headers=HX)
    assert response.status_code == 200
    return sorted(location.monitoring_location_id for location in response.context["result"].locations)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("northwest branch anacostia", ["hyattsville", "colesville"]),
        ("NW BR", ["hyattsville", "colesville"]),
        ("nw br anacostia hyattsville", ["hyattsville"]),
        ("nw", ["hyattsville", "colesville"]),
        ("ne branch", ["northeast_branch"]),
        ("southeast zachary", ["zachary"]),
        ("se", ["zachary"]),
        ("northeast iowa", ["iowa"]),
        ("south fork shenandoah", ["shenandoah"]),
        ("n br potomac", ["potomac_north"]),
        ("north branch potomac", ["potomac_north"]),
    ],
)
def test_directions_are_read_as_their_words_on_both_sides(q, expected, viewer_client, named):
    assert found(viewer_client, q) == sorted(named[key] for key in expected)


def test_a_state_code_ending_a_name_is_the_state_not_a_direction(viewer_client, named):
    # "NE" ends two Nebraska names: a search for northeast must not list them, and the state stays searchable.
    assert named["meadville"] not in found(viewer_client, "northeast")
    assert named["norfolk"] not in found(viewer_client, "ne")
    assert search_name("PLUM CREEK AT MEADVILLE, NE") == " plum creek at meadville ne "
    assert search_name("ELKHORN R AT NORFOLK NE") == " elkhorn river at norfolk ne "
    assert search_name("SURRY MT DAM NR KEENE, MT") == " surry mountain dam near keene mt "


def test_a_direction_alone_no_longer_matches_every_station(viewer_client, named):
    everything = MonitoringLocation.objects.count()
    response = viewer_client.get("/stations/", {"q": "nw"}, headers=HX)

    assert 0 < response.context["result"].count < everything
    assert 'id="search-ignored"' not in response.content.decode()


def test_one_short_word_rule_for_every_word():
    # Read as its word, a word is searched if it has 3 letters or more: abbreviations always, "dc" or "a" never.
    assert search.parse_query("NW BR") == ("words", ["northwest", "branch"])
    assert search.parse_query("n") == ("words", ["north"])
    assert search.short_words("nw br dc a") == ["dc", "a"]
    assert search.short_words("NW BR") == []


def test_the_ignored_words_notice_names_only_the_words_it_ignored(viewer_client, named):
    body = viewer_client.get("/stations/", {"q": "nw br md"}, headers=HX).content.decode()

    assert "“md”" in body and "“nw”" not in body and "“br”" not in body


def test_the_migration_rewrites_the_search_form_of_names_read_differently_now(named):
    migration = importlib.import_module("stations.migrations.0006_search_name_nwis_directions")
    MonitoringLocation.objects.filter(monitoring_location_id=named["hyattsville"]).update(
        search_name=" nw branch anacostia river near hyattsville md "  # as stored before issue 23
    )

    migration.refill(django_apps, None)

    stored = MonitoringLocation.objects.get(monitoring_location_id=named["hyattsville"]).search_name
    assert stored == " northwest branch anacostia river near hyattsville md "


@pytest.mark.postgres
def test_a_direction_word_uses_the_trigram_index_on_postgresql(named):
    from tests.test_stations_indexes import plan

    assert "loc_search_name_trgm" in plan(search.search_queryset(q="nw br").values("pk"), "indexscan")
