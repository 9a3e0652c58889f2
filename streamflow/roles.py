"""The two roles. Operators change and run; Viewers look. Kept in code so migrations and tests agree."""

from __future__ import annotations

OPERATORS = "Operators"
VIEWERS = "Viewers"

# (app_label, codename) pairs.
_VIEW = [
    ("stations", "view_monitoringlocation"),
    ("stations", "view_timeseries"),
    ("pulls", "view_pullconfiguration"),
    ("pulls", "view_pullconfigurationstation"),
    ("pulls", "view_stationprogress"),
    ("acquisition", "view_pullrun"),
    ("acquisition", "view_pullrunstation"),
    ("acquisition", "view_pulllogentry"),
    ("acquisition", "view_dailyvalue"),
    ("acquisition", "view_continuousvalue"),
]
_CHANGE = [
    ("stations", "add_monitoringlocation"),
    ("stations", "change_monitoringlocation"),
    ("pulls", "add_pullconfiguration"),
    ("pulls", "change_pullconfiguration"),
    ("pulls", "delete_pullconfiguration"),
    ("pulls", "run_pullconfiguration"),
    ("pulls", "add_pullconfigurationstation"),
    ("pulls", "change_pullconfigurationstation"),
    ("pulls", "delete_pullconfigurationstation"),
    # Alert channels and their rules (monitoring/channels.py); deliveries are only read.
    ("monitoring", "view_alertchannel"),
    ("monitoring", "add_alertchannel"),
    ("monitoring", "change_alertchannel"),
    ("monitoring", "delete_alertchannel"),
    ("monitoring", "view_alertrule"),
    ("monitoring", "add_alertrule"),
    ("monitoring", "change_alertrule"),
    ("monitoring", "delete_alertrule"),
    ("monitoring", "view_alertdelivery"),
]

GROUP_PERMISSIONS = {VIEWERS: _VIEW, OPERATORS: _VIEW + _CHANGE}


def ensure_groups(**kwargs) -> None:
    """Create the groups with their permissions if missing (idempotent).

    Connected to post_migrate so a database flush (TransactionTestCase, `manage.py flush`) gets them back;
    the data migration streamflow/0001 creates them on a fresh database.
    """
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for group_name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = [Permission.objects.get(content_type__app_label=a, codename=c) for a, c in perms]
        group.permissions.add(*wanted)
