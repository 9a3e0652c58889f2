"""The USGS parameters the product pulls, and how each is read: its statistics, its unit in words, its chart.

A configuration names parameter codes; each becomes one or more *selections* (parameter code, statistic): daily
pulls take the parameter's daily statistics (the mean, 00003; for water temperature also the daily maximum 00001 and
minimum 00002; for precipitation the daily sum 00006), continuous pulls its instantaneous points (00011). A selection
is stored with the statistic written out except the parameter's *usual* one (daily mean or sum, or instantaneous),
which is stored as "" so that a configuration switched between daily and continuous keeps its progress, as it always
has for discharge (pulls.StationProgress, acquisition.PullRunStation).

Units are the series' own strings from time-series-metadata (SPEC C.5: the parameter-codes collection spells them
differently, so they are never keyed on that); `unit_in_words` is the one place they become words, and a string it
does not know is shown as given.
"""

from __future__ import annotations

from dataclasses import dataclass

DISCHARGE = "00060"
MEAN, MAXIMUM, MINIMUM, SUM, INSTANTANEOUS = "00003", "00001", "00002", "00006", "00011"
STATISTIC_NAMES = {MEAN: "mean", MAXIMUM: "maximum", MINIMUM: "minimum", SUM: "sum", INSTANTANEOUS: "instantaneous",
                   "00008": "median"}  # fmt: skip


@dataclass(frozen=True)
class Parameter:
    code: str
    name: str  # as people say it: "Gage height"
    unit: str  # the time-series unit string USGS uses for it
    daily_statistics: tuple[str, ...]  # the first is the usual one
    decimals: int  # chart ticks and tooltips
    log_axis: bool = False  # a log axis makes sense (discharge spans orders of magnitude)
    negative_is_error: bool = True  # a negative value is a screening error (not for temperature in °C)

    @property
    def usual_daily(self) -> str:
        return self.daily_statistics[0]


PARAMETERS: dict[str, Parameter] = {
    p.code: p
    for p in (
        Parameter(DISCHARGE, "Discharge", "ft^3/s", (MEAN,), 0, log_axis=True),
        Parameter("00065", "Gage height", "ft", (MEAN,), 2),
        Parameter("00010", "Water temperature", "degC", (MEAN, MAXIMUM, MINIMUM), 1, negative_is_error=False),
        Parameter("00095", "Specific conductance", "uS/cm", (MEAN,), 0),
        Parameter("63680", "Turbidity", "_FNU", (MEAN,), 1),
        Parameter("00300", "Dissolved oxygen", "mg/l", (MEAN,), 1),
        Parameter("00400", "pH", "std units", (MEAN,), 1),
        Parameter("00045", "Precipitation", "in", (SUM,), 2),
    )
}

# The time-series unit strings (and the parameter-codes collection's spellings of the same, SPEC C.5) in words.
UNIT_WORDS = {
    "ft^3/s": "ft³/s",
    "ft3/s": "ft³/s",
    "m^3/s": "m³/s",
    "ft": "ft",
    "degC": "°C",
    "deg C": "°C",
    "degF": "°F",
    "uS/cm": "µS/cm at 25 °C",
    "uS/cm @25C": "µS/cm at 25 °C",
    "_FNU": "FNU",
    "FNU": "FNU",
    "in": "in",
    "mg/l": "mg/L",
    "std units": "pH units",
    "tons/day": "tons/day",
    "lbs/day": "lb/day",
}


def unit_in_words(unit: str | None) -> str:
    """A series' unit as people read it ("degC" → "°C"); a unit this table does not know, as given."""
    if not unit:
        return ""
    return UNIT_WORDS.get(unit, unit)


def parameter(code: str | None) -> Parameter | None:
    return PARAMETERS.get(code or DISCHARGE)


def parameter_name(code: str | None) -> str:
    """ "Gage height" for 00065; an unknown code as "parameter 99133"."""
    p = parameter(code)
    return p.name if p else f"parameter {code}"


def selections(codes: list[str], *, daily: bool) -> list[tuple[str, str]]:
    """The (parameter code, statistic) pairs a configuration of these parameters pulls, in the order given, with
    the usual statistic written as "" (module docstring)."""
    out = []
    for code in codes:
        p = PARAMETERS.get(code)
        out.append((code, ""))
        if daily and p is not None:
            out.extend((code, stat) for stat in p.daily_statistics[1:])
    return out


def resolve_statistic(code: str, statistic: str, *, daily: bool) -> str:
    """The statistic id a selection asks USGS for: "" is the parameter's usual one for the data type."""
    if statistic:
        return statistic
    if not daily:
        return INSTANTANEOUS
    p = PARAMETERS.get(code)
    return p.usual_daily if p else MEAN


def selection_label(code: str, statistic: str, *, daily: bool) -> str:
    """ "Water temperature, daily maximum"; "Gage height" where the statistic is the usual one."""
    name = parameter_name(code)
    if not statistic:
        return name
    return f"{name}, daily {STATISTIC_NAMES.get(statistic, statistic)}" if daily else f"{name} ({statistic})"


def series_label(code: str, statistic_id: str | None, kind: str) -> str:
    """A stored series in words: "Discharge, daily mean", "Water temperature, continuous"."""
    name = parameter_name(code)
    if kind != "daily":
        return f"{name}, continuous"
    return f"{name}, daily {STATISTIC_NAMES.get(statistic_id or MEAN, statistic_id)}"
