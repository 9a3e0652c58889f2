from django.apps import AppConfig


class StreamflowConfig(AppConfig):
    name = "streamflow"
    verbose_name = "Streamflow DataOps"
