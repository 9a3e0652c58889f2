"""On a phone (Bootstrap's xs) list tables hide secondary columns so the actions stay on screen."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import MonitoringLocationFactory, PullConfigurationFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
HIDDEN_ON_PHONES = "d-none d-md-table-cell"


def test_search_results_hide_huc_and_drainage_on_phones_but_keep_the_add_button(viewer_client):
    MonitoringLocationFactory(name="POTOMAC RIVER AT POINT OF ROCKS, MD", huc="020700080913")
    for headers in ({}, HTMX):
        body = viewer_client.get("/stations/?q=potomac", headers=headers).content.decode()
        assert ("<html" in body) is not bool(headers)
        assert f'<td class="{HIDDEN_ON_PHONES}">020700080913</td>' in body
        row = body.split('data-location-id="')[1].split("</tr>")[0]
        last_cell = row.rsplit("<td", 1)[1]
        assert last_cell.startswith(">")  # the basket button's cell is never hidden


def test_the_configuration_list_keeps_name_state_and_actions_on_phones(operator_client):
    config = PullConfigurationFactory()
    for headers in ({}, HTMX):
        body = operator_client.get(reverse("pulls:list"), headers=headers).content.decode()
        assert ("<html" in body) is not bool(headers)
        row = body.split(f'id="config-row-{config.pk}"')[1].split("</tr>")[0]
        assert f'<td data-label="Name"><a href="{config.get_absolute_url()}">' in row
        assert 'class="d-none d-lg-table-cell"' in row and ">Pause</button>" in row
