from django.apps import AppConfig


class AcquisitionConfig(AppConfig):
    name = "acquisition"
    verbose_name = "Acquisition"

    def ready(self) -> None:
        from . import tasks  # noqa: F401  (connects the senders of the janitor's tasks, in every process)
