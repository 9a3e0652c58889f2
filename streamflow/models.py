"""The project package has no models of its own; this module exists so post_migrate reaches StreamflowConfig
(see streamflow/roles.py: ensure_groups)."""
