"""What the engine tells the layers above it. Acquisition never imports monitoring: monitoring listens."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once when a run reaches a terminal status (succeeded, partial, failed, skipped), with `run`: the PullRun.
run_finished = Signal()
