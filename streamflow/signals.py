"""Hooks the kernel offers the apps above it, so the kernel never imports them (DESIGN §2).

`process_alive` is sent by the Celery worker's heartbeat step (streamflow/celery.py) and by beat's scheduler
(streamflow/beat.py) every 15 s, with `name` ("beat", "worker:<hostname>"). Monitoring connects it to
`record_heartbeat` in its AppConfig.ready, which is what /health/ reads. A receiver's error reaches the sender,
which logs it and carries on.
"""

from __future__ import annotations

from django.dispatch import Signal

process_alive = Signal()  # sent with name=<process name>
