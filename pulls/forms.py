"""The configuration form (create and edit), and the admin's form that applies the same rules."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.conf import settings
from django.utils import timezone

from stations import parameters
from stations.models import MonitoringLocation, TimeSeries

from . import cron
from .models import SCHEDULE_PRESETS, PullConfiguration

EARLIEST_START = dt.date(1850, 1, 1)


def default_start_date(today: dt.date | None = None) -> dt.date:
    """1 January of last year: a full calendar year of history for a new configuration, daily or continuous."""
    today = today or timezone.localdate()
    return dt.date(today.year - 1, 1, 1)


class ConfigurationRulesMixin:
    """Field rules shared by the page form and the admin form; both must refuse what beat cannot run."""

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        others = PullConfiguration.objects.filter(name__iexact=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(
                "A configuration named “%(name)s” already exists; choose another name.", params={"name": name}
            )
        return name

    def clean_timezone(self) -> str:
        name = self.cleaned_data["timezone"].strip()
        if not cron.is_valid_timezone(name):
            raise forms.ValidationError(
                "“%(name)s” is not a known time zone; use an IANA name such as America/New_York or UTC.",
                params={"name": name},
            )
        return name

    def clean_start_date(self) -> dt.date:
        start = self.cleaned_data["start_date"]
        if start < EARLIEST_START:
            raise forms.ValidationError("USGS records begin in the 1850s; pick a start date on or after 1850-01-01.")
        # "Today" where the configuration lives; a zone ahead of the server may already be on tomorrow.
        tz_name = self.data.get(self.add_prefix("timezone"), "") if self.is_bound else ""
        tz = zoneinfo.ZoneInfo(tz_name) if cron.is_valid_timezone(tz_name) else timezone.get_current_timezone()
        today = timezone.now().astimezone(tz).date()
        if start > today:
            raise forms.ValidationError(
                "The start date is in the future; pick today (%(today)s) or an earlier day.", params={"today": today}
            )
        return start

    def _clean_schedule(self, cleaned: dict) -> None:
        schedule_type = cleaned.get("schedule_type")
        if schedule_type in SCHEDULE_PRESETS:
            cleaned["cron_expression"] = SCHEDULE_PRESETS[schedule_type]
        elif schedule_type == PullConfiguration.ScheduleType.CUSTOM:
            expression = " ".join((cleaned.get("cron_expression") or "").split())
            if not expression:
                self.add_error(
                    "cron_expression", "Enter a cron expression for the custom schedule, e.g. “*/15 6-18 * * 1-5”."
                )
                return
            try:
                cron.parse(expression)
            except cron.CronError as exc:
                self.add_error("cron_expression", str(exc))
                return
            cleaned["cron_expression"] = expression


KIND_WORDS = {
    PullConfiguration.DataType.DAILY_MEAN: "daily",
    PullConfiguration.DataType.CONTINUOUS: "continuous (15/5-minute)",
}
SERIES_KIND = {
    PullConfiguration.DataType.DAILY_MEAN: TimeSeries.Kind.DAILY,
    PullConfiguration.DataType.CONTINUOUS: TimeSeries.Kind.CONTINUOUS,
}


def stations_without_series(stations: list[MonitoringLocation], data_type: str) -> list[MonitoringLocation]:
    """The stations the catalog says have no discharge series of this data type.

    A station counts only when the catalog knows its series (it has TimeSeries rows, of the other kind): one
    whose series were never imported is not known to lack anything, and is not listed.
    """
    kind = SERIES_KIND.get(data_type)
    if kind is None or not stations:
        return []
    flag = "has_daily" if kind == TimeSeries.Kind.DAILY else "has_continuous"
    candidates = [location for location in stations if not getattr(location, flag)]
    if not candidates:
        return []
    known = set(
        TimeSeries.objects.filter(location__in=[c.pk for c in candidates]).values_list("location_id", flat=True)
    )
    return [location for location in candidates if location.pk in known]


def parameter_choices() -> list[tuple[str, str]]:
    """Each parameter with its daily statistics in words: "Water temperature (°C; daily mean, maximum, minimum)"."""
    out = []
    for p in parameters.PARAMETERS.values():
        stats = ", ".join(parameters.STATISTIC_NAMES[s] for s in p.daily_statistics)
        out.append((p.code, f"{p.name} ({parameters.unit_in_words(p.unit)}; daily {stats})"))
    return out


class PullConfigurationForm(ConfigurationRulesMixin, forms.ModelForm):
    parameters = forms.MultipleChoiceField(
        label="Parameters",
        required=False,  # absent (the API, which does not send it yet): kept as they are; the page sends a marker
        choices=parameter_choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Pick at least one parameter to pull (discharge is the usual one).",
            "invalid_choice": "%(value)s is not a parameter this product pulls; pick from the list.",
        },
        help_text="Each station pulls every parameter it has; one it lacks is reported once and skipped. "
        "Requests do not grow with parameters, only with series (about 2 per 200 series a run).",
    )
    keep_without_series = forms.BooleanField(
        required=False, label="Keep them anyway: every run will skip them (nothing pulled) until USGS has such a series"
    )
    cron_expression = forms.CharField(
        label="Cron expression",
        required=False,
        max_length=120,
        help_text="minute hour day-of-month month day-of-week, e.g. */15 6-18 * * 1-5",
    )

    class Meta:
        model = PullConfiguration
        fields = [
            "name",
            "description",
            "data_type",
            "strategy",
            "start_date",
            "schedule_type",
            "cron_expression",
            "timezone",
            "enabled",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "data_type": forms.RadioSelect,
            "strategy": forms.RadioSelect,
        }

    def __init__(self, *args, stations: list[MonitoringLocation] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stations = list(stations or [])
        self.fields["start_date"].error_messages["required"] = (
            "Pick the first day to pull, for example 1 January of last year (YYYY-MM-DD)."
        )
        if not self.is_bound and not self.instance.pk and not self.initial.get("start_date"):
            self.initial["start_date"] = default_start_date()
        if not self.is_bound and "parameters" not in self.initial:
            self.initial["parameters"] = self.instance.parameter_codes if self.instance.pk else [parameters.DISCHARGE]
        self.fields["timezone"].widget.attrs.update({"list": "timezone-options", "autocomplete": "off"})
        self.fields["name"].widget.attrs["autocomplete"] = "off"

    def clean_parameters(self) -> list[str]:
        codes = self.cleaned_data.get("parameters") or []
        if codes:
            return codes
        if self.data.get(self.add_prefix("parameters_shown")):  # the page's checkboxes, all left unticked
            raise forms.ValidationError(self.fields["parameters"].error_messages["required"], code="required")
        return self.instance.parameter_codes if self.instance.pk else [parameters.DISCHARGE]

    def clean(self) -> dict:
        cleaned = super().clean()
        self._clean_schedule(cleaned)
        if not self.stations:
            raise forms.ValidationError(
                "A configuration needs at least one station: add stations to the basket from the Stations page, "
                "then come back to this form."
            )
        # One cap on every path that sets a configuration's stations (the basket's, so a basket always fits): this
        # form serves the pages and the API's create, edit and add-stations alike.
        cap = settings.BASKET_MAX_STATIONS
        if len(self.stations) > cap:
            raise forms.ValidationError(
                f"A configuration holds at most {cap:,} stations (BASKET_MAX_STATIONS) and this one would have "
                f"{len(self.stations):,}: remove some, or split them into several configurations."
            )
        # The catalog's flags know discharge series; other parameters a station lacks are reported at run time.
        pulls_discharge = parameters.DISCHARGE in (cleaned.get("parameters") or [parameters.DISCHARGE])
        data_type = cleaned.get("data_type") or ""
        self.without_series = stations_without_series(self.stations, data_type) if pulls_discharge else []
        if self.without_series and not cleaned.get("keep_without_series"):
            kind = KIND_WORDS.get(data_type, "") + " discharge"
            n = len(self.without_series)
            raise forms.ValidationError(
                f"{n} station{'s have' if n != 1 else ' has'} no {kind} series in the catalog, so every run would "
                f"skip {'them' if n != 1 else 'it'} (nothing pulled): remove {'them' if n != 1 else 'it'} (the button "
                "beside the list), choose the other data type, or tick “Keep them anyway”."
            )
        return cleaned

    def save_with_stations(self, user) -> PullConfiguration:
        """Save the configuration and make its stations exactly `self.stations`, in order (call inside atomic)."""
        config = self.save(commit=False)
        # In the catalog's order (stations.parameters), whatever order the checkboxes arrived in.
        chosen = set(self.cleaned_data["parameters"])
        config.parameters = [code for code in parameters.PARAMETERS if code in chosen]
        if not config.pk:
            config.created_by = user
        config.updated_by = user
        config.save()
        wanted = [location.pk for location in self.stations]
        current = set(config.memberships.values_list("location_id", flat=True))
        if removed := current - set(wanted):
            config.stations.remove(*removed)
        config.add_stations(wanted)
        return config


class PullConfigurationAdminForm(ConfigurationRulesMixin, forms.ModelForm):
    cron_expression = forms.CharField(
        required=False, max_length=120, help_text=PullConfigurationForm.base_fields["cron_expression"].help_text
    )
    parameters = forms.MultipleChoiceField(
        required=False,
        choices=parameter_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: discharge (or, when editing, the parameters it had).",
    )

    def clean_parameters(self) -> list[str]:
        chosen = set(self.cleaned_data.get("parameters") or [])
        if not chosen:
            return self.instance.parameter_codes if self.instance.pk else [parameters.DISCHARGE]
        return [code for code in parameters.PARAMETERS if code in chosen]

    class Meta:
        model = PullConfiguration
        fields = "__all__"

    def clean(self) -> dict:
        cleaned = super().clean()
        self._clean_schedule(cleaned)
        return cleaned


class BackfillForm(forms.Form):
    """Re-pull a date range of a configuration (DESIGN §1.4): upserts that range, never moves progress backwards."""

    start = forms.DateField(label="From", input_formats=["%Y-%m-%d"])
    end = forms.DateField(label="To", input_formats=["%Y-%m-%d"])

    def __init__(self, *args, configuration: PullConfiguration | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.configuration = configuration

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return data
        today = timezone.localdate()
        if start < EARLIEST_START:
            raise forms.ValidationError("USGS records begin in the 1850s; pick a day on or after 1850-01-01.")
        if end > today:
            raise forms.ValidationError(f"The range ends in the future; end it today ({today}) or earlier.")
        if start > end:
            raise forms.ValidationError("The range starts after it ends; swap the two dates.")
        first = self.configuration.start_date if self.configuration is not None else None
        if first is not None and start < first:
            # DESIGN §4.8: nothing before the start date is ever stored, whichever run brought it.
            raise forms.ValidationError(
                f"The range starts before the configuration's start date ({first}), and nothing before that date is "
                f"ever stored. Start the range on {first} or later, or move the start date earlier first."
            )
        return data
