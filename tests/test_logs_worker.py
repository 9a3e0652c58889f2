"""Must show (issue 16): a REAL Celery worker with LOG_FORMAT=json writes only JSON lines during a pull, each of the
run's lines carries the run id, and neither the USGS API key nor a webhook secret appears anywhere in its output."""

from __future__ import annotations

import json
import time

import pytest

from acquisition.models import PullRun
from acquisition.tasks import run_configuration
from monitoring import channels
from monitoring.models import AlertChannel, AlertDelivery
from tests.acquisition_factories import make_configuration, wait_for_run
from tests.worker_fixtures import WorkerProcess

pytest_plugins = ["tests.worker_fixtures"]  # fake_usgs
pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.redis]

API_KEY = "usgs-key-that-must-never-be-logged-7f3a9c"
WEBHOOK_SECRET = "whsec-never-logged-0123456789abcdef"


def test_a_worker_writes_json_lines_with_the_run_id_and_no_secret(transactional_db, fake_usgs):

    fake_usgs.require_key = API_KEY
    fake_usgs.faults.retry_after = 0
    fake_usgs.faults.rate_limit_next = 1
    # A private address: the worker loads the channel (and its secret), refuses to send, and logs that it failed.
    hook = AlertChannel.objects.create(
        name="Ops hook", kind=AlertChannel.Kind.WEBHOOK, url="http://10.255.255.1/hook", secret=WEBHOOK_SECRET
    )
    worker = WorkerProcess(fake_usgs.base_url, extra_env={"LOG_FORMAT": "json", "USGS_API_KEY": API_KEY})
    worker.start()
    try:
        started_at = len(worker.output())
        config = make_configuration(fake_usgs, ["USGS-01646500", "USGS-01638500"])
        run_configuration.delay(config.pk)
        run = wait_for_run(config)
        delivery = channels.send_test(hook)  # queued on commit (autocommit here): the worker sends it
        deadline = time.monotonic() + 30
        while AlertDelivery.objects.get(pk=delivery.pk).finished_at is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # the last lines of the tasks
        output = worker.output()
    finally:
        worker.stop()

    assert run.status == PullRun.Status.SUCCEEDED, run.message
    assert all(r.headers.get("X-Api-Key") == API_KEY for r in fake_usgs.requests)
    during = [line for line in output[started_at:].splitlines() if line.strip()]
    parsed = [json.loads(line) for line in during]  # every line is one JSON object
    run_lines = [line for line in parsed if line["message"].startswith(f"run {run.pk}: ")]
    assert len(run_lines) >= 5
    assert all(line["run"] == run.pk for line in run_lines)
    assert any("HTTP 429" in line["message"] for line in run_lines)
    assert AlertDelivery.objects.get(pk=delivery.pk).result.startswith("Refused to send")
    assert any(line["logger"] == "monitoring.channels" for line in parsed)
    assert API_KEY not in output and WEBHOOK_SECRET not in output
