"""What monitoring's plain modules ask of its task module: send a task once the caller's transaction commits.

monitoring.tasks sits at the top of the app and calls alerts, channels and quality_alerts; they never import it
back. When one of them has a task to send, it sends one of these signals and monitoring.tasks (connected in every
process by monitoring.apps) queues the task.
"""

from __future__ import annotations

from django.dispatch import Signal

# An alert email is due (monitoring.alerts), with `state_id`, `subject` and `body`: task send_alert_email.
alert_email_due = Signal()
# A channel delivery is due (monitoring.channels), with `delivery_id`: task deliver_alert.
delivery_due = Signal()
# A finished run's stations are to be checked for quality alerts (monitoring.quality_alerts), with `run_id`.
quality_check_due = Signal()


def ask(signal: Signal, **kwargs) -> None:
    """Send `signal`; raises when nobody listens (monitoring.tasks not loaded), so the callers' fallbacks run."""
    if not signal.has_listeners():
        raise RuntimeError("monitoring.tasks is not loaded (monitoring.apps connects it): the task cannot be sent")
    signal.send(sender=__name__, **kwargs)
