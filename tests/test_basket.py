"""The selection basket: add, add again, add all, remove, clear; HTMX fragments with an OOB counter, plain redirects."""

from __future__ import annotations

import pytest

from stations import views
from tests.factories import MonitoringLocationFactory

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def basket_of(client) -> list[str]:
    return list(client.session.get("basket", []))


@pytest.fixture
def three():
    return [MonitoringLocationFactory(site_number=f"0164{i}000", name=f"CREEK {i}") for i in range(3)]


def test_htmx_add_returns_the_button_and_an_out_of_band_counter(viewer_client, three):
    response = viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id}, headers=HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body
    assert f'id="basket-button-{three[0].pk}"' in body and "Added ✓" in body
    assert 'id="basket-count"' in body and 'hx-swap-oob="true"' in body and ">1</span>" in body
    assert basket_of(viewer_client) == [three[0].monitoring_location_id]


def test_adding_twice_is_harmless(viewer_client, three):
    for _ in range(2):
        response = viewer_client.post("/stations/basket/add/", {"id": three[1].monitoring_location_id}, headers=HX)
    assert ">1</span>" in response.content.decode()
    assert basket_of(viewer_client) == [three[1].monitoring_location_id]


def test_plain_add_redirects_back_with_a_message(viewer_client, three):
    response = viewer_client.post(
        "/stations/basket/add/", {"id": three[0].monitoring_location_id, "next": "/stations/?q=creek"}, follow=True
    )
    assert response.redirect_chain == [("/stations/?q=creek", 302)]
    assert f"Added {three[0].monitoring_location_id} to the basket." in response.content.decode()
    assert basket_of(viewer_client) == [three[0].monitoring_location_id]


def test_plain_add_never_redirects_off_site(viewer_client, three):
    response = viewer_client.post(
        "/stations/basket/add/", {"id": three[0].monitoring_location_id, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/stations/"


def test_adding_an_unknown_station_is_a_404_and_changes_nothing(viewer_client):
    response = viewer_client.post("/stations/basket/add/", {"id": "USGS-00000000"}, headers=HX)
    assert response.status_code == 404
    assert basket_of(viewer_client) == []


def test_basket_changes_need_a_post(viewer_client, three):
    assert viewer_client.get("/stations/basket/add/", {"id": three[0].monitoring_location_id}).status_code == 405
    assert basket_of(viewer_client) == []


def test_remove_from_the_search_page_turns_the_button_back_to_add(viewer_client, three):
    for loc in three:
        viewer_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})
    response = viewer_client.post("/stations/basket/remove/", {"id": three[1].monitoring_location_id}, headers=HX)
    body = response.content.decode()
    assert ">Add</button>" in body and "Added ✓" not in body
    assert ">2</span>" in body
    assert basket_of(viewer_client) == [three[0].monitoring_location_id, three[2].monitoring_location_id]


def test_remove_from_the_basket_page_rerenders_the_list(viewer_client, three):
    for loc in three:
        viewer_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})
    response = viewer_client.post(
        "/stations/basket/remove/", {"id": three[0].monitoring_location_id, "fragment": "basket-list"}, headers=HX
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="basket-list">')
    assert "2 stations in the basket" in body
    assert three[0].name not in body and three[1].name in body
    assert ">2</span>" in body


def test_plain_remove_redirects_to_the_basket(viewer_client, three):
    viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id})
    response = viewer_client.post("/stations/basket/remove/", {"id": three[0].monitoring_location_id})
    assert response.status_code == 302 and response["Location"] == "/stations/basket/"
    assert basket_of(viewer_client) == []


def test_empty_the_basket_asks_first_and_changes_nothing_until_confirmed(viewer_client, three):
    for loc in three:
        viewer_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})
    basket_page = viewer_client.get("/stations/basket/").content.decode()

    confirm = viewer_client.get("/stations/basket/clear/")

    assert 'id="basket-clear" href="/stations/basket/clear/"' in basket_page  # a step, not a POST button
    assert confirm.status_code == 200 and "This removes the 3 stations in your basket" in confirm.content.decode()
    assert len(basket_of(viewer_client)) == 3
    viewer_client.post("/stations/basket/clear/")
    assert basket_of(viewer_client) == []


def test_asking_to_empty_an_empty_basket_goes_back_to_it(viewer_client):
    response = viewer_client.get("/stations/basket/clear/", follow=True)
    assert response.redirect_chain[-1][0] == "/stations/basket/" and "already empty" in response.content.decode()


def test_clear_empties_the_basket(viewer_client, three):
    for loc in three:
        viewer_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})
    response = viewer_client.post("/stations/basket/clear/", headers=HX)
    assert "The basket is empty" in response.content.decode() and ">0</span>" in response.content.decode()
    assert basket_of(viewer_client) == []


def test_add_all_adds_every_result_of_the_search(viewer_client, three):
    other = MonitoringLocationFactory(site_number="11264500", state_code="CA", name="MERCED R")
    viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id})

    response = viewer_client.post("/stations/basket/add-all/", {"state": "MD"}, headers=HX)

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert "Added 2 stations to the basket (1 already there)." in body
    assert ">3</span>" in body
    assert sorted(basket_of(viewer_client)) == sorted(loc.monitoring_location_id for loc in three)
    assert other.monitoring_location_id not in basket_of(viewer_client)


def test_add_all_refuses_more_than_the_limit_and_adds_nothing(viewer_client, three, monkeypatch):
    monkeypatch.setattr(views, "ADD_ALL_LIMIT", 2)
    response = viewer_client.post("/stations/basket/add-all/", {"q": "creek"}, follow=True)
    assert "More than 2 stations match" in response.content.decode()
    assert response.redirect_chain == [("/stations/?q=creek", 302)]
    assert basket_of(viewer_client) == []


def test_the_basket_page_lists_stations_in_the_order_added_and_links_to_create_a_configuration(operator_client, three):
    for loc in reversed(three):
        operator_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})
    response = operator_client.get("/stations/basket/")
    body = response.content.decode()
    assert "<html" in body
    assert [loc.monitoring_location_id for loc in response.context["locations"]] == [
        loc.monitoring_location_id for loc in reversed(three)
    ]
    assert 'id="create-configuration"' in body and "/pulls/new/" in body
    assert 'id="basket-count" class="badge bg-light text-primary">3<' in body


def test_viewers_are_told_that_operators_create_configurations(viewer_client, three):
    viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id})
    body = viewer_client.get("/stations/basket/").content.decode()
    assert 'id="create-configuration"' not in body
    assert "Operators create configurations" in body


def test_the_basket_page_fragment_for_htmx(viewer_client, three):
    viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id})
    body = viewer_client.get("/stations/basket/", headers=HX).content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="basket-list">')


def test_an_empty_basket_says_how_to_fill_it(viewer_client):
    body = viewer_client.get("/stations/basket/").content.decode()
    assert "The basket is empty" in body and "create-configuration" not in body


def test_the_basket_survives_navigation(viewer_client, three):
    viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id})
    viewer_client.get("/")
    body = viewer_client.get("/stations/").content.decode()
    assert 'id="basket-count" class="badge bg-light text-primary">1<' in body


# --- The basket's cap (issue 12, item 9): 40 "add all"s made a 40,000-station basket and a 41.8 MB page ----------


def test_the_basket_cap_is_a_setting_of_2000(settings):
    assert settings.BASKET_MAX_STATIONS == 2000


def test_add_all_that_would_pass_the_cap_adds_nothing_and_says_why(viewer_client, three, settings):
    settings.BASKET_MAX_STATIONS = 4
    for loc in MonitoringLocationFactory.create_batch(2, state_code="CA"):
        viewer_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})

    response = viewer_client.post("/stations/basket/add-all/", {"state": "MD"}, headers=HX)

    body = response.content.decode()
    assert "holds at most 4 stations" in body and "has 2" in body
    assert len(basket_of(viewer_client)) == 2
    assert ">2</span>" in body  # the counter, unchanged


def test_add_all_up_to_the_cap_is_allowed(viewer_client, three, settings):
    settings.BASKET_MAX_STATIONS = 3
    response = viewer_client.post("/stations/basket/add-all/", {"state": "MD"}, follow=True)
    assert "Added 3 stations" in response.content.decode()
    assert len(basket_of(viewer_client)) == 3


def test_adding_one_to_a_full_basket_is_refused_with_a_message(viewer_client, three, settings):
    settings.BASKET_MAX_STATIONS = 2
    for loc in three[:2]:
        viewer_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})

    plain = viewer_client.post("/stations/basket/add/", {"id": three[2].monitoring_location_id}, follow=True)
    htmx = viewer_client.post("/stations/basket/add/", {"id": three[2].monitoring_location_id}, headers=HX)

    assert "holds at most 2 stations" in plain.content.decode()
    body = htmx.content.decode()
    assert "<html" not in body
    assert 'id="messages" hx-swap-oob="true"' in body and "holds at most 2 stations" in body
    assert basket_of(viewer_client) == [loc.monitoring_location_id for loc in three[:2]]


def test_a_station_already_in_a_full_basket_can_be_added_again_harmlessly(viewer_client, three, settings):
    settings.BASKET_MAX_STATIONS = 1
    viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id})
    response = viewer_client.post("/stations/basket/add/", {"id": three[0].monitoring_location_id}, follow=True)
    assert "already in the basket" in response.content.decode()


def test_the_basket_page_shows_its_stations_a_page_at_a_time(viewer_client, monkeypatch):
    monkeypatch.setattr(views, "BASKET_PER_PAGE", 2)
    locations = MonitoringLocationFactory.create_batch(5)
    for loc in locations:
        viewer_client.post("/stations/basket/add/", {"id": loc.monitoring_location_id})
    ids = [loc.monitoring_location_id for loc in locations]

    first = viewer_client.get("/stations/basket/")
    last = viewer_client.get("/stations/basket/", {"page": "3"}, headers=HX)

    assert [loc.monitoring_location_id for loc in first.context["locations"]] == ids[:2]
    body = first.content.decode()
    assert "5 stations in the basket" in body
    assert 'href="?page=2"' in body and 'hx-get="?page=2"' in body
    assert [loc.monitoring_location_id for loc in last.context["locations"]] == ids[4:]
    assert last.content.decode().lstrip().startswith('<div id="basket-list">')
