from django.apps import AppConfig


class PullsConfig(AppConfig):
    name = "pulls"
    verbose_name = "Pull configurations"

    def ready(self):
        from . import signals  # noqa: F401  (connects schedule sync)
