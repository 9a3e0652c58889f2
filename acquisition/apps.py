from django.apps import AppConfig


class AcquisitionConfig(AppConfig):
    name = "acquisition"
    verbose_name = "Acquisition"

    def ready(self) -> None:
        from acquisition import normal_tasks  # noqa: F401 - registers the normals refresh task (not in tasks.py)
