from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StreamflowConfig(AppConfig):
    name = "streamflow"
    verbose_name = "Streamflow DataOps"

    def ready(self):
        from .roles import ensure_groups

        post_migrate.connect(ensure_groups, sender=self, dispatch_uid="streamflow-ensure-groups")
