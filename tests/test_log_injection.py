"""A value from a user or an upstream cannot forge a log line (issue 22, item 9): control characters in a message
are escaped, in the plain and the JSON format alike; tracebacks keep their own line breaks."""

from __future__ import annotations

import io
import json
import logging

import pytest

from monitoring import channels
from monitoring.models import AlertChannel, AlertDelivery
from monitoring.tasks import deliver_alert
from streamflow import logs

pytestmark = pytest.mark.django_db

HOSTILE_NAME = "hdr\r\nBcc: attacker@evil.example\n2026-01-01 00:00:00,000 ERROR forged: \x1b[31mred\u2028x"


@pytest.fixture(params=["plain", "json"])
def log_lines(request):
    """What the root logger writes through the handler LOG_FORMAT configures; a function returning the lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter_for(request.param))
    handler.addFilter(logs.ContextFilter())
    handler.addFilter(logs.RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: stream.getvalue().splitlines()
    root.removeHandler(handler)


def test_a_channel_name_with_line_breaks_stays_on_its_one_log_line(log_lines):
    channel = AlertChannel.objects.create(name=HOSTILE_NAME, kind="slack", url="http://10.0.0.1/hook")
    delivery = channels.send_test(channel)

    deliver_alert.apply(args=[delivery.pk])

    assert AlertDelivery.objects.get(pk=delivery.pk).status == AlertDelivery.Status.FAILED
    failed = [line for line in log_lines() if "failed" in line and "alert delivery" in line]
    assert len(failed) == 1
    assert not any(line.lstrip().startswith(("Bcc:", "2026-01-01")) for line in log_lines())
    assert "\x1b" not in "".join(log_lines()) and "\u2028" not in "".join(log_lines())
    text = json.loads(failed[0])["message"] if failed[0].startswith("{") else failed[0]
    assert "hdr\\r\\nBcc: attacker@evil.example\\n2026" in text and "\\x1b[31mred\\u2028x" in text


def test_a_traceback_keeps_its_line_breaks(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("tests").exception("while doing %s", "a\nb")

    lines = log_lines()
    if lines[0].startswith("{"):
        (entry,) = [json.loads(line) for line in lines]
        message, traceback = entry["message"], entry["exception"]
    else:
        message, traceback = lines[0], "\n".join(lines[1:])
    assert message.endswith("while doing a\\nb")
    assert traceback.startswith("Traceback (most recent call last)") and traceback.endswith("ValueError: boom")
