"""What the engine tells the layers above it. Acquisition never imports monitoring: monitoring listens.

The janitor's two signals go up inside this app: the janitor (a plain module) asks for a task to be sent again,
and acquisition.tasks, at the top of the app, listens and sends it (acquisition.apps connects it in every process).
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent once when a run reaches a terminal status (succeeded, partial, failed, skipped), with `run`: the PullRun.
run_finished = Signal()

# The janitor wants a batch's task sent again, with `run_id` and `number`.
batch_task_due = Signal()
# The janitor wants a queued run's task sent again, with `run`: the PullRun.
run_task_due = Signal()
