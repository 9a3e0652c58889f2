"""The composition: the top floor of the house (DESIGN §2). It puts the apps together and nothing imports it.

The kernel (the rest of `streamflow`: settings, htmx, fields, logs, roles, the Celery app, ...) sits below every
app; this package sits above them all: the root URLconf, /health/, and the `demo_setup` and `runstack` commands.
"""
