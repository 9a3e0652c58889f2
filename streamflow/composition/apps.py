from django.apps import AppConfig


class CompositionConfig(AppConfig):
    """Installed so Django finds its management commands (demo_setup, runstack); it has no models."""

    name = "streamflow.composition"
    label = "composition"
    verbose_name = "Streamflow DataOps (composition)"
