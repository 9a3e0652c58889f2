"""The Celery app. Settings come from Django settings with the CELERY_ prefix."""

from __future__ import annotations

import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamflow.settings")

app = Celery("streamflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

WORKER_HEARTBEAT_SECONDS = 15


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Record that this worker is alive, in the database, so /health/ works with any broker
    (the embedded filesystem broker has no broadcast channel for `control.ping`)."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        self.tref = None

    def start(self, worker):
        self.hostname = worker.hostname
        self._beat()
        self.tref = worker.timer.call_repeatedly(WORKER_HEARTBEAT_SECONDS, self._beat, priority=10)

    def stop(self, worker):
        if self.tref:
            self.tref.cancel()
            self.tref = None

    def _beat(self):
        from django.db import close_old_connections

        from streamflow.signals import process_alive

        try:
            # The timer thread keeps its own long-lived connection; drop it if the server closed it.
            close_old_connections()
            # Monitoring records it (a hook, so the kernel does not import monitoring).
            process_alive.send(sender=WorkerHeartbeat, name=f"worker:{self.hostname}")
        except Exception:  # a database hiccup must never take the worker down
            import logging

            logging.getLogger(__name__).warning("could not record worker heartbeat", exc_info=True)


app.steps["worker"].add(WorkerHeartbeat)


# Worker and beat logs: the same filters (context ids, redaction) and, with LOG_FORMAT=json, the same JSON lines as
# the web process (streamflow/logs.py).
from streamflow.logs import connect_celery  # noqa: E402

connect_celery()
