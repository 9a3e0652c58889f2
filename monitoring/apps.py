from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from acquisition.signals import run_finished
        from monitoring import percentile_alerts  # noqa: F401 - registers its Celery tasks

        from . import tasks  # noqa: F401  (connects the senders of the tasks the plain modules ask for)

        run_finished.connect(_alert_on_run_finished, dispatch_uid="monitoring.alerts.run_finished")
        run_finished.connect(_quality_alerts_on_run_finished, dispatch_uid="monitoring.quality_alerts.run_finished")
        run_finished.connect(
            _percentile_alerts_on_run_finished, dispatch_uid="monitoring.percentile_alerts.run_finished"
        )

        from streamflow.signals import process_alive

        # The worker's and beat's heartbeats (sent by the kernel's Celery wiring), for /health/.
        process_alive.connect(_record_heartbeat, dispatch_uid="monitoring.heartbeats.process_alive")


def _alert_on_run_finished(sender, run, **kwargs) -> None:
    from monitoring import alerts  # looked up at each call: tests replace alerts.run_finished

    alerts.run_finished(run)


def _quality_alerts_on_run_finished(sender, run, **kwargs) -> None:
    from monitoring import quality_alerts

    quality_alerts.run_finished(run)


def _record_heartbeat(sender, name: str, **kwargs) -> None:
    from monitoring.heartbeats import record_heartbeat

    record_heartbeat(name)


def _percentile_alerts_on_run_finished(sender, run, **kwargs) -> None:
    from monitoring import percentile_alerts

    percentile_alerts.run_finished(run)
