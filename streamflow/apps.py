from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StreamflowConfig(AppConfig):
    name = "streamflow"
    verbose_name = "Streamflow DataOps"

    def ready(self):
        from .roles import ensure_groups

        post_migrate.connect(ensure_groups, sender=self, dispatch_uid="streamflow-ensure-groups")

        from django.contrib.auth.signals import user_logged_out

        from .login import say_logged_out

        user_logged_out.connect(say_logged_out, dispatch_uid="streamflow-say-logged-out")
