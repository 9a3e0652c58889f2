"""Run history is read-only in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from acquisition.models import PullRun
from tests.factories import PullLogEntryFactory, PullRunStationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_superusers_can_look_at_runs_stations_and_logs(admin_client):
    station = PullRunStationFactory()
    entry = PullLogEntryFactory(run=station.run, message="Fetched page 1")
    for name, obj in (("pullrun", station.run), ("pullrunstation", station), ("pulllogentry", entry)):
        assert admin_client.get(reverse(f"admin:acquisition_{name}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:acquisition_{name}_change", args=[obj.pk])).status_code == 200
    assert admin_client.get(reverse("admin:acquisition_heartbeat_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:monitoring_alertstate_changelist")).status_code == 200


def test_nobody_can_add_change_or_delete_runs_in_the_admin(admin_client):
    run = PullRunStationFactory().run
    assert admin_client.get(reverse("admin:acquisition_pullrun_add")).status_code == 403
    response = admin_client.post(reverse("admin:acquisition_pullrun_change", args=[run.pk]), {"status": "failed"})
    assert response.status_code == 403
    response = admin_client.post(reverse("admin:acquisition_pullrun_delete", args=[run.pk]), {"post": "yes"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == PullRun.Status.SUCCEEDED
