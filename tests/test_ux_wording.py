"""One word for a configuration that does not run on its schedule: "Paused" (with "Pause" / "Resume" buttons)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PullConfigurationFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def test_the_dashboard_counts_active_and_paused_configurations(viewer_client):
    PullConfigurationFactory(enabled=True)
    PullConfigurationFactory(enabled=False)
    body = viewer_client.get("/").content.decode()
    assert "<html" in body
    assert "1 active</span>" in body and "1 paused</span>" in body
    assert "enabled</span>" not in body


def test_the_dashboard_fragment_uses_the_same_words(viewer_client):
    PullConfigurationFactory(enabled=False)
    body = viewer_client.get("/", headers=HTMX).content.decode()
    assert "<html" not in body
    assert "0 active</span>" in body and "1 paused</span>" in body


def test_the_list_says_paused_and_offers_resume(operator_client):
    config = PullConfigurationFactory(enabled=False)
    body = operator_client.get(reverse("pulls:list")).content.decode()
    assert "Paused</span>" in body and ">Resume</button>" in body
    assert "Disabled" not in body
    config.refresh_from_db()
    assert config.enabled is False


def test_the_configuration_form_labels_the_checkbox_active(operator_client):
    body = operator_client.get(reverse("pulls:create")).content.decode()
    assert "untick to pause" in body
    assert "Enabled (run on schedule)" not in body
