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
    ("monitoring", "view_pullrun"),
    ("monitoring", "view_pullrunstation"),
    ("monitoring", "view_pulllogentry"),
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
]

GROUP_PERMISSIONS = {VIEWERS: _VIEW, OPERATORS: _VIEW + _CHANGE}
