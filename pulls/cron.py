"""Cron expressions as Celery beat will run them: validation, words, and the next run times.

The next run times come from django-celery-beat's own `TzAwareCrontab` (a `celery.schedules.crontab` in the
configuration's time zone), stepped the way beat steps it: each run's time becomes the next `last_run_at`.
So the preview is what beat will do, DST gaps and overlaps included, not what classic cron would do.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from functools import cache

from cron_descriptor import FormatException, MissingFieldException, Options, WrongArgumentException, get_description
from django.utils import timezone
from django_celery_beat.tzcrontab import TzAwareCrontab

MONTH_NAMES = {name: number for number, name in enumerate(calendar.month_abbr) if name}
DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


@dataclass(frozen=True)
class _FieldSpec:
    label: str
    low: int
    high: int
    names: dict[str, int]
    hint: str


FIELDS = (
    _FieldSpec("minute", 0, 59, {}, "0-59"),
    _FieldSpec("hour", 0, 23, {}, "0-23"),
    _FieldSpec("day-of-month", 1, 31, {}, "1-31"),
    _FieldSpec("month", 1, 12, {k.lower(): v for k, v in MONTH_NAMES.items()}, "1-12 or jan-dec"),
    _FieldSpec("day-of-week", 0, 6, DAY_NAMES, "0-6 or sun-sat, Sunday is 0"),
)
MAX_DIGITS = 4  # leading zeros allowed ("0005"); anything longer is out of range in every field
_ITEM = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")


class CronError(ValueError):
    """An expression Celery would refuse or never run; the message is a sentence for the user."""


@dataclass(frozen=True)
class CronFields:
    """A valid expression, split into the fields django-celery-beat's CrontabSchedule stores (names as numbers)."""

    minute: str
    hour: str
    day_of_month: str
    month_of_year: str
    day_of_week: str

    def as_dict(self) -> dict[str, str]:
        return {
            "minute": self.minute,
            "hour": self.hour,
            "day_of_month": self.day_of_month,
            "month_of_year": self.month_of_year,
            "day_of_week": self.day_of_week,
        }

    @property
    def expression(self) -> str:
        return f"{self.minute} {self.hour} {self.day_of_month} {self.month_of_year} {self.day_of_week}"


def _shown(text: str) -> str:
    """A user's token as quoted in an error: a 4,000-digit number is not repeated back in full."""
    return text if len(text) <= 12 else f"{text[:12]}…"


def _value(token: str, spec: _FieldSpec, original: str) -> int:
    if token in spec.names:
        return spec.names[token]
    if not token.isdigit():
        raise CronError(f"“{original}” is not a valid {spec.label} value; use {spec.hint}.")
    if len(token) > MAX_DIGITS:  # int() refuses over 4,300 digits with a ValueError; no field needs more than 2
        raise CronError(f"{_shown(token)} is out of range in the {spec.label} field; use {spec.hint}.")
    number = int(token)
    if spec.label == "day-of-week" and number == 7:
        raise CronError("Celery does not accept 7 for Sunday in the day-of-week field; use 0 or sun instead.")
    if not spec.low <= number <= spec.high:
        raise CronError(f"{number} is out of range in the {spec.label} field; use {spec.hint}.")
    return number


def _parse_field(text: str, spec: _FieldSpec) -> tuple[str, set[int]]:
    """Returns (the field with names replaced by numbers, the set of values it matches)."""
    values: set[int] = set()
    normalized = []
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise CronError(
                f"“{text}” is not a valid {spec.label} field; use {spec.hint}, ranges (1-5), lists (1,3) "
                f"or steps (*/15)."
            )
        range_text, step_text = match["range"], match["step"]
        if range_text == "*":
            low, high, range_out = spec.low, spec.high, "*"
        elif "-" in range_text:
            first, last = range_text.split("-")
            low, high = _value(first, spec, first), _value(last, spec, last)
            if low > high:
                raise CronError(
                    f"The range {range_text} in the {spec.label} field goes backwards; write the smaller value first."
                )
            range_out = f"{low}-{high}"
        else:
            low = high = _value(range_text, spec, range_text)
            range_out = str(low)
            if step_text is not None:
                raise CronError(
                    f"Write a step as */{step_text} or as a range with a step (e.g. 0-30/{step_text}) in the"
                    f" {spec.label} field, not {item}."
                )
        step = 1
        if step_text is not None:
            step = int(step_text) if len(step_text) <= MAX_DIGITS else spec.high + 1
            if step < 1 or step > spec.high:
                raise CronError(
                    f"The step /{_shown(step_text)} in the {spec.label} field must be between 1 and {spec.high}."
                )
            range_out += f"/{step}"
        values.update(range(low, high + 1, step))
        normalized.append(range_out)
    return ",".join(normalized), values


def parse(expression: str) -> CronFields:
    """Validate a five-field expression against what Celery beat accepts and will actually run."""
    parts = (expression or "").lower().split()
    if len(parts) != 5:
        raise CronError(
            f"A cron expression has five fields separated by spaces (minute hour day-of-month month day-of-week), "
            f"for example “*/15 6-18 * * 1-5”; this one has {len(parts)}."
        )
    parsed = [_parse_field(text, spec) for text, spec in zip(parts, FIELDS, strict=True)]
    (minute, _), (hour, _), (dom, dom_values), (month, month_values), (dow, dow_values) = parsed
    dom_restricted = dom_values != set(range(1, 32))
    dow_restricted = dow_values != set(range(7))
    if dom_restricted and dow_restricted:
        raise CronError(
            "Restrict either the day of the month or the day of the week, not both: Celery runs only on days that "
            "match both (classic cron runs on days that match either), which is rarely what is meant. Set one of "
            "the two fields to *."
        )
    # February counts with 29 days: Celery rolls forward to the next leap year.
    longest = {m: calendar.monthrange(2024, m)[1] for m in range(1, 13)}
    if not any(day <= longest[m] for m in month_values for day in dom_values):
        raise CronError(
            "This schedule never runs: none of the chosen months has the chosen day of the month (e.g. 30 February "
            "or 31 April). Pick a day that exists in those months."
        )
    fields = CronFields(minute, hour, dom, month, dow)
    try:
        _crontab(fields, "UTC")
    except ValueError as exc:  # Celery has the last word on what it accepts.
        raise CronError(f"Celery does not accept this expression ({exc}); check each field.") from exc
    return fields


def is_valid_timezone(name: str) -> bool:
    return name in available_timezones()


# In the tz database but not zones a configuration can mean: "localtime" is the server's own zone under a file
# name (it changes with the host), "Factory" a placeholder whose abbreviation is "-00".
NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@cache
def available_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_ZONES


def _crontab(fields: CronFields, tz_name: str) -> TzAwareCrontab:
    return TzAwareCrontab(**fields.as_dict(), tz=zoneinfo.ZoneInfo(tz_name))


def describe(fields: CronFields) -> str:
    options = Options()
    options.use_24hour_time_format = True
    try:
        return get_description(fields.expression, options)
    except (FormatException, MissingFieldException, WrongArgumentException):
        return fields.expression


def _now() -> dt.datetime:
    # Kept separate so tests can pin the clock (the DST case of issue 4).
    return timezone.now()


def next_runs(fields: CronFields, tz_name: str, count: int = 5, after: dt.datetime | None = None) -> list[dt.datetime]:
    """The next `count` times beat will send the task, as aware datetimes in the configuration's time zone.

    Beat asks the schedule "how long until the next run after last_run_at?" and, once it has run, stores the run
    time as the new last_run_at. We do the same, starting from `after` (now by default).
    """
    tz = zoneinfo.ZoneInfo(tz_name)
    schedule = _crontab(fields, tz_name)
    reference = (after or _now()).astimezone(dt.UTC)
    schedule.nowfun = lambda: reference.astimezone(tz)
    runs: list[dt.datetime] = []
    last = reference
    for _ in range(count):
        # remaining_estimate() is measured from the pinned "now", so now + remaining is the absolute run time.
        run = reference + schedule.remaining_estimate(last.astimezone(tz))
        runs.append(run.astimezone(tz))
        last = run
    return runs


@dataclass
class Preview:
    """What the form shows beside the schedule: the words and the next runs, or the reason there are none."""

    expression: str
    tz_name: str
    words: str = ""
    runs: list[dt.datetime] = field(default_factory=list)
    error: str = ""

    @property
    def run_labels(self) -> list[tuple[str, str]]:
        # Formatted here, not with the |date filter, which would convert to the site's time zone.
        return [(run.isoformat(), run.strftime("%a %Y-%m-%d %H:%M %Z")) for run in self.runs]


def preview(expression: str, tz_name: str, count: int = 5) -> Preview:
    result = Preview(expression=expression, tz_name=tz_name)
    if not (expression or "").strip():
        result.error = "Type a cron expression to see when it runs."
        return result
    try:
        fields = parse(expression)
    except CronError as exc:
        result.error = str(exc)
        return result
    result.words = describe(fields)
    if not is_valid_timezone(tz_name):
        result.error = f"“{tz_name}” is not a known time zone; use an IANA name such as America/New_York."
        return result
    result.runs = next_runs(fields, tz_name, count)
    return result
