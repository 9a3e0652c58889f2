from django.apps import AppConfig


class AcquisitionConfig(AppConfig):
    name = "acquisition"
    verbose_name = "Acquisition"

    def ready(self) -> None:
        from acquisition import enqueueing
        from pulls import run_requests

        # Pulls' "Run now" and backfill reach the engine through this hook, not by importing upward (DESIGN §2).
        run_requests.plug_in(enqueueing)
        from acquisition import normal_tasks  # noqa: F401 - registers the normals refresh task (not in tasks.py)

        from . import tasks  # noqa: F401  (connects the senders of the janitor's tasks, in every process)
