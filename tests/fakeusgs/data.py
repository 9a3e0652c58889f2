"""Deterministic data of the fake USGS API: stations, their series, and every value of every series.

Nothing here is copied from recordings: stations are written out below (real site numbers and names, approximate
coordinates and areas) and values come from a seasonal curve plus hash-based noise of (series, time), so any test
can recompute exactly what the server will answer.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

_TICK = timedelta(milliseconds=1)
APPROVAL_LAG_DAYS = 120  # values older than this many days before "today" are Approved
NORTHERN_STATES = {"24", "42", "36", "55", "08", "53", "16", "30", "27"}  # where winter days carry ICE


@dataclass
class FakeStation:
    """A monitoring location of the fake, with the discharge series it has."""

    monitoring_location_id: str  # "USGS-01646500"
    name: str
    state_code: str = "24"  # FIPS
    state_name: str = "Maryland"
    county_code: str = "031"
    county_name: str = "Montgomery County"
    huc: str = "020700081005"  # 12 digits
    latitude: float = 39.0
    longitude: float = -77.0
    drainage_area: float | None = 100.0  # mi²
    site_type_code: str = "ST"
    time_zone_abbreviation: str = "EST"
    uses_daylight_savings: str = "Y"
    daily_begin: date | None = date(1990, 1, 1)  # None: no daily discharge series
    continuous_begin: date | None = date(2007, 10, 1)
    continuous_interval: int | None = 15  # minutes (5 or 15); None: no continuous series
    duplicate_daily: bool = False  # a second, non-primary daily-mean series overlapping the primary one
    mean_flow: float | None = None  # cfs; derived from the drainage area when None
    # Parameter codes it measures (PARAMETERS below); discharge unless said otherwise. "00060" absent: no discharge.
    parameters: tuple[str, ...] = ("00060",)

    @property
    def agency_code(self) -> str:
        return self.monitoring_location_id.partition("-")[0]

    @property
    def site_number(self) -> str:
        return self.monitoring_location_id.partition("-")[2]

    @property
    def flow(self) -> float:
        if self.mean_flow is not None:
            return self.mean_flow
        return max(0.5, 1.1 * (self.drainage_area or 10.0))


@dataclass(frozen=True)
class FakeParameter:
    """How the fake writes a parameter: its names and unit as time-series-metadata gives them (STATISTICS-PARAMETERS
    C.1), its daily statistics, and the decimals of its values."""

    name: str
    description: str
    unit: str
    daily_statistics: tuple[str, ...]
    decimals: int | None  # None: 3 significant figures, as discharge


PARAMETERS = {
    "00060": FakeParameter("Discharge", "Discharge, cubic feet per second", "ft^3/s", ("00003",), None),
    "00065": FakeParameter("Gage height", "Gage height, feet", "ft", ("00003",), 2),
    "00010": FakeParameter(
        "Temperature, water", "Temperature, water, degrees Celsius", "degC", ("00003", "00001", "00002"), 1
    ),
    "00095": FakeParameter(
        "Specific cond at 25C",
        "Specific conductance, water, unfiltered, microsiemens per centimeter at 25 degrees Celsius",
        "uS/cm", ("00003",), 0,
    ),
    "63680": FakeParameter(
        "Turbidity, Form Neph", "Turbidity, water, unfiltered, monochrome near infra-red LED light, 780-900 nm, "
        "detection angle 90 +-2.5 degrees, formazin nephelometric units (FNU)", "_FNU", ("00003",), 1,
    ),
    "00300": FakeParameter("Dissolved oxygen", "Dissolved oxygen, water, unfiltered, milligrams per liter", "mg/l",
                           ("00003",), 1),
    "00400": FakeParameter("pH", "pH, water, unfiltered, field, standard units", "std units", ("00003",), 1),
    "00045": FakeParameter("Precipitation", "Precipitation, total, inches", "in", ("00006",), 2),
}  # fmt: skip
COMPUTATION = {"00003": "Mean", "00001": "Max", "00002": "Min", "00006": "Sum"}


def series_id_for(
    monitoring_location_id: str, kind: str, primary: bool, parameter_code: str = "00060", statistic_id: str = ""
) -> str:
    """32 lowercase hex chars, stable for (site, kind, primary[, parameter, statistic]) like the real ids are stable
    per series (discharge keeps the key it always had)."""
    key = f"{monitoring_location_id}|{kind}|{'primary' if primary else 'secondary'}"
    if parameter_code != "00060":
        key += f"|{parameter_code}|{statistic_id}"
    return hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()


def sig3(value: float) -> str:
    """A value rounded to 3 significant figures, written the way USGS writes it ("3800", "12.4", "0.560")."""
    if value <= 0:
        return "0.00"
    rounded = float(f"{value:.2e}")
    exponent = math.floor(math.log10(rounded))
    if exponent >= 2:
        return str(int(rounded))
    return f"{rounded:.{2 - exponent}f}"


@dataclass
class Row:
    time: date | datetime
    value: str | None
    qualifier: list[str] | None
    approval_status: str | None
    last_modified: datetime
    feature_id: str


@dataclass
class Revision:
    value: float | None
    last_modified: datetime
    approval_status: str | None = None  # None: keep what the row would have


@dataclass
class Series:
    """One time series of a station; knows how to compute any of its rows."""

    station: FakeStation
    kind: str  # "daily" | "continuous"
    primary: bool
    begin: date | datetime
    end_offset_days: int = 0  # a non-primary series stops this many days before "today"
    scale: float = 1.0
    seed: int = 0
    revisions: dict = field(default_factory=dict)  # time -> Revision
    approvals: list = field(default_factory=list)  # [(through_day, last_modified)]
    # The same changes with the fake's epoch at which each was made, so a test can ask what the series was then.
    revision_log: list = field(default_factory=list)  # [(epoch, time, Revision)]
    approval_log: list = field(default_factory=list)  # [(epoch, through_day, last_modified)]
    parameter_code: str = "00060"
    statistic_id: str = ""  # daily: 00003 / 00001 / 00002 / 00006; continuous: "" (data rows say 00011)

    @cached_property
    def id(self) -> str:  # computed once: every row of the series uses it
        return series_id_for(
            self.station.monitoring_location_id, self.kind, self.primary, self.parameter_code, self.statistic_id
        )

    @property
    def parameter(self) -> FakeParameter:
        return PARAMETERS[self.parameter_code]

    @property
    def data_statistic(self) -> str:
        """The statistic_id its data rows carry."""
        return "00011" if self.kind == "continuous" else (self.statistic_id or "00003")

    @property
    def interval(self) -> timedelta:
        return timedelta(days=1) if self.kind == "daily" else timedelta(minutes=self.station.continuous_interval)

    def last_time(self, today: date, until: datetime | None = None) -> date | datetime:
        """The newest row's time. ``until`` (the fake's clock) keeps continuous rows strictly before it."""
        last_day = today - timedelta(days=self.end_offset_days)
        if self.kind == "daily":
            return last_day
        step = self.station.continuous_interval
        last = datetime.combine(last_day, time(23, 60 - step), tzinfo=UTC)
        if until is not None and until <= last:
            first = self.first_time()
            if until <= first:
                return first - self.interval  # nothing yet
            last = first + ((until - first - timedelta(microseconds=1)) // self.interval) * self.interval
        return last

    def first_time(self) -> date | datetime:
        if self.kind == "daily":
            return self.begin
        return datetime.combine(self.begin, time(0), tzinfo=UTC)

    def times(
        self,
        start: date | datetime | None,
        end: date | datetime | None,
        today: date,
        until: datetime | None = None,
    ):
        """Row times within [start, end] (inclusive), oldest first, aligned to the series interval."""
        first, last = self.first_time(), self.last_time(today, until)
        lo = first if start is None or start < first else start
        hi = last if end is None or end > last else end
        if lo > hi:
            return
        step = self.interval
        if self.kind == "continuous":
            # Align up to the next interval boundary.
            offset = (lo - first) % step
            if offset:
                lo = lo + (step - offset)
        t = lo
        while t <= hi:
            yield t
            t += step

    def _flow(self, t: date | datetime, series_id: str, scale: float, digest: bytes | None = None) -> float:
        """Discharge at `t` as the series `series_id` reports it (the station's discharge for other parameters);
        `digest`: that series' row digest at `t`, where the caller has it."""
        day = t if self.kind == "daily" else t.date()
        doy = day.timetuple().tm_yday
        seasonal = 1.0 + 0.55 * math.sin(2 * math.pi * (doy + 100) / 365.25)
        if digest is None:
            digest = hashlib.md5(f"{series_id}|{t.isoformat()}|{self.seed}".encode(), usedforsecurity=False).digest()
        if self.kind == "daily":
            noise = int.from_bytes(digest[0:4]) / 0xFFFFFFFF
            return self.station.flow * scale * seasonal * math.exp(0.8 * (noise - 0.5))
        # Day-level noise plus a small diurnal swing and jitter, so 5-minute values move smoothly.
        day_key = f"{series_id}|{day.isoformat()}|{self.seed}".encode()
        day_noise = int.from_bytes(hashlib.md5(day_key, usedforsecurity=False).digest()[0:4]) / 0xFFFFFFFF
        jitter = int.from_bytes(digest[0:4]) / 0xFFFFFFFF
        minute = t.hour * 60 + t.minute
        value = self.station.flow * scale * seasonal * math.exp(0.8 * (day_noise - 0.5))
        return value * (1.0 + 0.04 * math.sin(2 * math.pi * minute / 1440)) * (0.99 + 0.02 * jitter)

    def _temperature(self, t: date | datetime) -> float:
        """Water temperature (°C) at `t`, or the day's mean for a daily series: a seasonal curve, day-to-day noise
        and (continuous) a diurnal swing peaking mid-afternoon; northern stations dip below 0 °C in winter."""
        day = t if isinstance(t, date) and not isinstance(t, datetime) else t.date()
        doy = day.timetuple().tm_yday
        north = self.station.state_code in NORTHERN_STATES
        mean, amplitude = (9.0, 11.5) if north else (15.0, 9.0)
        key = f"{self.station.monitoring_location_id}|temp|{day.isoformat()}|{self.seed}".encode()
        day_noise = int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[0:4]) / 0xFFFFFFFF
        value = mean + amplitude * math.sin(2 * math.pi * (doy - 115) / 365.25) + 2.0 * (day_noise - 0.5)
        if isinstance(t, datetime):
            local_minute = (t.hour * 60 + t.minute - 300) % 1440
            value += 1.6 * math.sin(2 * math.pi * (local_minute - 600) / 1440)
        return value

    def _value(self, t: date | datetime, digest: bytes) -> str:
        """The value at `t` as text, by parameter: stage tied to discharge, conductance falling as flow rises,
        turbidity rising with it, oxygen falling as the water warms, daily max/min around the mean."""
        code = self.parameter_code
        if code == "00060":
            return sig3(self._flow(t, self.id, self.scale, digest))
        flow_id = series_id_for(self.station.monitoring_location_id, self.kind, True)
        ratio = self._flow(t, flow_id, 1.0) / self.station.flow
        noise = int.from_bytes(digest[0:4]) / 0xFFFFFFFF
        if code == "00065":
            value = 1.2 + 2.4 * ratio**0.45
        elif code == "00010":
            value = self._temperature(t)
            if self.statistic_id == "00001":
                value += 1.2 + 0.6 * noise
            elif self.statistic_id == "00002":
                value -= 1.2 + 0.6 * noise
        elif code == "00095":
            value = 140 + 320 / (0.6 + ratio)
        elif code == "63680":
            value = 2.5 * ratio**1.6 * (0.9 + 0.2 * noise)
        elif code == "00300":
            value = 14.4 - 0.36 * self._temperature(t) + 0.4 * (noise - 0.5)
        elif code == "00400":
            value = (
                7.4 + 0.3 * (noise - 0.5) + (0.15 * math.sin(2 * math.pi * t.hour / 24) if self.kind != "daily" else 0)
            )
        elif code == "00045":
            day = t if self.kind == "daily" else t.date()
            key = f"{self.station.monitoring_location_id}|rain|{day.isoformat()}|{self.seed}".encode()
            wet = int.from_bytes(hashlib.md5(key, usedforsecurity=False).digest()[0:4]) / 0xFFFFFFFF
            total = max(0.0, (wet - 0.7) * 4.0)  # inches that day; 70 % of days dry
            if self.kind == "daily":
                value = total
            else:  # decumulated: the day's rain falls evenly between 14:00 and 18:00 UTC
                steps = 240 // (self.station.continuous_interval or 15)
                value = total / steps if 14 <= t.hour < 18 else 0.0
        else:
            value = 1.0 + noise
        return f"{value:.{self.parameter.decimals}f}"

    def row(self, t: date | datetime, today: date) -> Row:
        station = self.station
        day = t if self.kind == "daily" else t.date()
        iso = t.isoformat()
        digest = hashlib.md5(f"{self.id}|{iso}|{self.seed}".encode(), usedforsecurity=False).digest()
        missing_every = 97 if self.kind == "daily" else 997
        missing = int.from_bytes(digest[4:6]) % missing_every == 0
        text = None if missing else self._value(t, digest)
        roll = digest[6]
        qualifier = None
        icy = self.parameter_code in ("00060", "00065")
        if not missing:
            if icy and day.month in (12, 1, 2) and station.state_code in NORTHERN_STATES and roll < 40:
                qualifier = ["ICE", "ESTIMATED"]
            elif roll < 12:
                qualifier = ["ESTIMATED"]
        approved = day < today - timedelta(days=APPROVAL_LAG_DAYS)
        micro = int.from_bytes(digest[7:10]) % 1_000_000
        if self.kind == "daily":
            # Computed the next morning; approval refreshes the record about four months later.
            stamp_day = day + timedelta(days=APPROVAL_LAG_DAYS + 1 if approved else 1)
            last_modified = datetime.combine(stamp_day, time(7, digest[10] % 60, digest[11] % 60, micro), UTC)
        else:
            # Continuous values arrive in hourly batches at about HH:58; one stamp per batch.
            last_modified = t.replace(minute=58, second=19, microsecond=731858)
            if approved:
                last_modified += timedelta(days=APPROVAL_LAG_DAYS + 1)
        approval = "Approved" if approved else "Provisional"
        # A change to a record always stamps it later than the version it replaces, as USGS's does (the computed
        # stamps above can lie ahead of a test's clock; a change stamped "now" must still read as the newer one).
        if not approved:
            for through, stamp in self.approvals:
                if day <= through:
                    approval, last_modified = "Approved", max(stamp, last_modified + _TICK)
                    break
        revision = self.revisions.get(t)
        if revision is not None:
            decimals = self.parameter.decimals
            text = None if revision.value is None else (
                sig3(revision.value) if decimals is None else f"{revision.value:.{decimals}f}"
            )  # fmt: skip
            last_modified = max(revision.last_modified, last_modified + _TICK)
            if revision.approval_status is not None:
                approval = revision.approval_status
        # The feature id is a record-version UUID: it changes whenever the record is refreshed.
        version = hashlib.md5(f"{self.id}|{iso}|{last_modified.isoformat()}".encode(), usedforsecurity=False)
        feature_id = str(uuid.UUID(bytes=version.digest(), version=4))
        return Row(t, text, qualifier, approval, last_modified, feature_id)


def build_series(station: FakeStation, seed: int = 0) -> list[Series]:
    out: list[Series] = []
    discharge = "00060" in station.parameters
    if station.daily_begin is not None and discharge:
        out.append(Series(station, "daily", True, station.daily_begin, seed=seed))
        if station.duplicate_daily:
            # An older, discontinued-looking companion: overlapping dates, values a few percent off.
            begin = max(station.daily_begin, date(2015, 10, 1))
            out.append(Series(station, "daily", False, begin, end_offset_days=200, scale=0.93, seed=seed))
    if station.continuous_interval and station.continuous_begin is not None and discharge:
        out.append(Series(station, "continuous", True, station.continuous_begin, seed=seed))
    # Other parameters: the same periods as discharge, one daily series per statistic, one continuous series.
    for code in station.parameters:
        if code == "00060":
            continue
        if station.daily_begin is not None:
            for stat in PARAMETERS[code].daily_statistics:
                out.append(
                    Series(
                        station, "daily", True, station.daily_begin, seed=seed, parameter_code=code, statistic_id=stat
                    )
                )
        if station.continuous_interval and station.continuous_begin is not None:
            out.append(Series(station, "continuous", True, station.continuous_begin, seed=seed, parameter_code=code))
    return out


# ----------------------------------------------------------------------------------------------------
# The default catalog: 62 stations, 38 of them in Maryland so that paging by state runs over many pages.
# (site number, name, county code, county name, HUC-8, drainage area mi², lat, lon)
# ----------------------------------------------------------------------------------------------------

_MD = [
    ("01646500", "POTOMAC RIVER NEAR WASH, DC LITTLE FALLS PUMP STA", "031", "Montgomery", "02070008", 11560.0,
     38.9497, -77.1276),
    ("01638500", "POTOMAC RIVER AT POINT OF ROCKS, MD", "021", "Frederick", "02070008", 9651.0, 39.2737, -77.5430),
    ("01643000", "MONOCACY RIVER AT JUG BRIDGE NEAR FREDERICK, MD", "021", "Frederick", "02070009", 817.0,
     39.4029, -77.3661),
    ("01645000", "SENECA CREEK AT DAWSONVILLE, MD", "031", "Montgomery", "02070008", 101.0, 39.1284, -77.3369),
    ("01650500", "NORTHWEST BRANCH ANACOSTIA RIVER NEAR COLESVILLE, MD", "031", "Montgomery", "02070010", 21.1,
     39.0656, -77.0292),
    ("01651000", "NW BR ANACOSTIA RIVER NR HYATTSVILLE, MD", "033", "Prince George's", "02070010", 49.4,
     38.9523, -76.9660),
    ("01649500", "NORTHEAST BRANCH ANACOSTIA RIVER AT RIVERDALE, MD", "033", "Prince George's", "02070010", 72.8,
     38.9604, -76.9260),
    ("01594440", "PATUXENT RIVER NEAR BOWIE, MD", "033", "Prince George's", "02060006", 348.0, 38.9559, -76.6938),
    ("01594526", "WESTERN BRANCH AT UPPER MARLBORO, MD", "033", "Prince George's", "02060006", 89.7,
     38.8145, -76.7477),
    ("01593500", "LITTLE PATUXENT RIVER AT GUILFORD, MD", "027", "Howard", "02060006", 38.0, 39.1679, -76.8516),
    ("01594000", "LITTLE PATUXENT RIVER AT SAVAGE, MD", "027", "Howard", "02060006", 98.4, 39.1337, -76.8166),
    ("01591000", "PATUXENT RIVER NEAR UNITY, MD", "031", "Montgomery", "02060006", 34.8, 39.2384, -77.0561),
    ("01589000", "PATAPSCO RIVER AT HOLLOFIELD, MD", "005", "Baltimore", "02060003", 285.0, 39.3101, -76.7922),
    ("01586000", "NORTH BRANCH PATAPSCO RIVER AT CEDARHURST, MD", "013", "Carroll", "02060003", 56.6,
     39.5037, -76.8847),
    ("01588000", "PINEY RUN AT SYKESVILLE, MD", "013", "Carroll", "02060003", 11.4, 39.3818, -76.9808),
    ("01585200", "WEST BRANCH HERRING RUN AT IDLEWYLDE, MD", "005", "Baltimore", "02060003", 2.13,
     39.3740, -76.5844),
    ("01582500", "GUNPOWDER FALLS AT GLENCOE, MD", "005", "Baltimore", "02060003", 160.0, 39.5496, -76.6358),
    ("01583500", "WESTERN RUN AT WESTERN RUN, MD", "005", "Baltimore", "02060003", 59.8, 39.5107, -76.6769),
    ("01581500", "BYNUM RUN AT BEL AIR, MD", "025", "Harford", "02060003", 8.52, 39.5412, -76.3302),
    ("01580000", "DEER CREEK AT ROCKS, MD", "025", "Harford", "02050306", 94.4, 39.6301, -76.4036),
    ("01578310", "SUSQUEHANNA RIVER AT CONOWINGO, MD", "015", "Cecil", "02050306", 27100.0, 39.6579, -76.1747),
    ("01495000", "BIG ELK CREEK AT ELK MILLS, MD", "015", "Cecil", "02060002", 52.6, 39.6573, -75.8222),
    ("01491000", "CHOPTANK RIVER NEAR GREENSBORO, MD", "011", "Caroline", "02060005", 113.0, 38.9973, -75.7858),
    ("01493000", "UNICORN BRANCH NEAR MILLINGTON, MD", "035", "Queen Anne's", "02060002", 19.7, 39.2496, -75.8611),
    ("01485000", "POCOMOKE RIVER NEAR WILLARDS, MD", "045", "Wicomico", "02080111", 60.5, 38.3890, -75.3249),
    ("01486000", "MANOKIN BRANCH NEAR PRINCESS ANNE, MD", "039", "Somerset", "02080111", 4.80, 38.2137, -75.6713),
    ("01661500", "ST. MARY'S RIVER AT GREAT MILLS, MD", "037", "St. Mary's", "02070011", 24.0, 38.2429, -76.5038),
    ("01637500", "CATOCTIN CREEK NEAR MIDDLETOWN, MD", "021", "Frederick", "02070008", 66.9, 39.4268, -77.5566),
    ("01639000", "MONOCACY RIVER AT BRIDGEPORT, MD", "013", "Carroll", "02070009", 173.0, 39.6787, -77.2347),
    ("01641000", "HUNTING CREEK AT JIMTOWN, MD", "021", "Frederick", "02070009", 18.4, 39.5948, -77.3972),
    ("01619500", "ANTIETAM CREEK NEAR SHARPSBURG, MD", "043", "Washington", "02070004", 281.0, 39.4498, -77.7300),
    ("01617800", "MARSH RUN AT GRIMES, MD", "043", "Washington", "02070004", 18.9, 39.5148, -77.7772),
    ("01613000", "POTOMAC RIVER AT HANCOCK, MD", "043", "Washington", "02070004", 4073.0, 39.6970, -78.1772),
    ("01601500", "WILLS CREEK NEAR CUMBERLAND, MD", "001", "Allegany", "02070002", 247.0, 39.6698, -78.7881),
    ("01596500", "SAVAGE RIVER NEAR BARTON, MD", "023", "Garrett", "02070002", 49.1, 39.5701, -79.1028),
    ("01595500", "NORTH BRANCH POTOMAC RIVER AT STEYER, MD", "023", "Garrett", "02070002", 73.0, 39.3020, -79.3075),
]  # fmt: skip

_MD_WELLS = [
    ("391727076481301", "BA Dc 1179", "005", "Baltimore", "02060003", 39.2908, -76.8036),
    ("385806077012801", "MO Fe 20", "031", "Montgomery", "02070008", 38.9683, -77.0244),
]

# (site, name, state FIPS, state name, county code, county, HUC-8, area, lat, lon, tz, dst)
_OTHERS = [
    ("01631000", "S F SHENANDOAH RIVER AT FRONT ROYAL, VA", "51", "Virginia", "187", "Warren", "02070005", 1642.0,
     38.9137, -78.2111, "EST", "Y"),
    ("01634000", "N F SHENANDOAH RIVER NEAR STRASBURG, VA", "51", "Virginia", "171", "Shenandoah", "02070006",
     768.0, 38.9768, -78.3364, "EST", "Y"),
    ("01668000", "RAPPAHANNOCK RIVER NEAR FREDERICKSBURG, VA", "51", "Virginia", "179", "Stafford", "02080103",
     1596.0, 38.3221, -77.5180, "EST", "Y"),
    ("02037500", "JAMES RIVER NEAR RICHMOND, VA", "51", "Virginia", "760", "Richmond city", "02080206", 6758.0,
     37.5632, -77.5472, "EST", "Y"),
    ("01570500", "SUSQUEHANNA RIVER AT HARRISBURG, PA", "42", "Pennsylvania", "043", "Dauphin", "02050305",
     24100.0, 40.2548, -76.8866, "EST", "Y"),
    ("01576000", "SUSQUEHANNA RIVER AT MARIETTA, PA", "42", "Pennsylvania", "071", "Lancaster", "02050306",
     25990.0, 40.0545, -76.5311, "EST", "Y"),
    ("01358000", "HUDSON RIVER AT GREEN ISLAND NY", "36", "New York", "001", "Albany", "02020003", 8090.0,
     42.7523, -73.6890, "EST", "Y"),
    ("02196000", "STEVENS CREEK NEAR MODOC, SC", "45", "South Carolina", "065", "McCormick", "03060107", 545.0,
     33.7293, -82.1848, "EST", "Y"),
    ("02336000", "CHATTAHOOCHEE RIVER AT ATLANTA, GA", "13", "Georgia", "121", "Fulton", "03130002", 1450.0,
     33.8595, -84.4545, "EST", "Y"),
    ("02335000", "CHATTAHOOCHEE RIVER NEAR NORCROSS, GA", "13", "Georgia", "135", "Gwinnett", "03130001", 1170.0,
     33.9973, -84.2019, "EST", "Y"),
    ("02217500", "MIDDLE OCONEE RIVER NEAR ATHENS, GA", "13", "Georgia", "059", "Clarke", "03070101", 398.0,
     33.9468, -83.4227, "EST", "Y"),
    ("02238500", "OCKLAWAHA RIVER AT MOSS BLUFF, FL", "12", "Florida", "083", "Marion", "03080102", 879.0,
     29.0811, -81.8808, "EST", "Y"),
    ("08158000", "COLORADO RV AT AUSTIN, TX", "48", "Texas", "453", "Travis", "12090205", 39009.0, 30.2444,
     -97.6944, "CST", "Y"),
    ("08167000", "GUADALUPE RV AT COMFORT, TX", "48", "Texas", "259", "Kendall", "12100201", 839.0, 29.9661,
     -98.8925, "CST", "Y"),
    ("08057000", "TRINITY RV AT DALLAS, TX", "48", "Texas", "113", "Dallas", "12030105", 6106.0, 32.7746,
     -96.8219, "CST", "Y"),
    ("05427718", "YAHARA RIVER AT WINDSOR, WI", "55", "Wisconsin", "025", "Dane", "07090002", 73.6, 43.2089,
     -89.3525, "CST", "Y"),
    ("06904500", "CHARITON RIVER AT NOVINGER, MO", "29", "Missouri", "001", "Adair", "10280201", 1370.0, 40.2343,
     -92.6864, "CST", "Y"),
    ("06719505", "CLEAR CREEK AT GOLDEN, CO", "08", "Colorado", "059", "Jefferson", "10190004", 400.0, 39.7527,
     -105.2361, "MST", "Y"),
    ("06752260", "CACHE LA POUDRE RIVER AT FORT COLLINS, CO", "08", "Colorado", "069", "Larimer", "10190007",
     1127.0, 40.5883, -105.0697, "MST", "Y"),
    ("09085000", "ROARING FORK RIVER AT GLENWOOD SPRINGS, CO", "08", "Colorado", "045", "Garfield", "14010004",
     1451.0, 39.5439, -107.3289, "MST", "Y"),
    ("09380000", "COLORADO RIVER AT LEES FERRY, AZ", "04", "Arizona", "005", "Coconino", "14070006", 111800.0,
     36.8647, -111.5878, "MST", "N"),
    ("11264500", "MERCED R A HAPPY ISLES BRIDGE NR YOSEMITE CA", "06", "California", "043", "Mariposa",
     "18040008", 181.0, 37.7313, -119.5590, "PST", "Y"),
    ("11276500", "TUOLUMNE R NR HETCH HETCHY CA", "06", "California", "109", "Tuolumne", "18040009", 459.0,
     37.9374, -119.7982, "PST", "Y"),
    ("11447650", "SACRAMENTO R A FREEPORT CA", "06", "California", "067", "Sacramento", "18020163", None,
     38.4561, -121.5005, "PST", "Y"),
    ("12451000", "STEHEKIN RIVER AT STEHEKIN, WA", "53", "Washington", "007", "Chelan", "17020009", 321.0,
     48.3296, -120.6918, "PST", "Y"),
    ("12113000", "GREEN RIVER NEAR AUBURN, WA", "53", "Washington", "033", "King", "17110013", 399.0, 47.3126,
     -122.2029, "PST", "Y"),
]  # fmt: skip


# Stations that measure more than discharge: the Choptank has a water-quality monitor (as the real one does,
# STATISTICS-PARAMETERS C.1), the Yahara (Wisconsin: water below 0 °C in winter) a rain gage.
_EXTRA_PARAMETERS = {
    "01491000": ("00060", "00065", "00010", "00095", "63680", "00300", "00400"),
    "01589000": ("00060", "00065"),
    "05427718": ("00060", "00065", "00010", "00045"),
    "01570500": ("00060", "00065", "00010"),
    "06904500": ("00060", "00065"),
}


def _huc12(site: str, huc8: str) -> str:
    tail = int(hashlib.md5(site.encode(), usedforsecurity=False).hexdigest()[:6], 16) % 10000
    return f"{huc8}{tail:04d}"


def default_catalog() -> list[FakeStation]:
    """The built-in stations. Some have records from 1990, others from water year 2006; most have 15-minute
    continuous data, USGS-01646500 has 5-minute data, a few have none, and USGS-02196000 has two daily series."""
    stations: list[FakeStation] = []
    for i, (site, name, cc, county, huc8, area, lat, lon) in enumerate(_MD):
        stations.append(
            FakeStation(
                f"USGS-{site}", name, "24", "Maryland", cc, f"{county} County", _huc12(site, huc8), lat, lon, area,
                daily_begin=date(1990, 1, 1) if i % 2 == 0 else date(2005, 10, 1),
                continuous_interval=5 if site == "01646500" else (None if i % 7 == 6 else 15),
                parameters=_EXTRA_PARAMETERS.get(site, ("00060",)),
            )
        )  # fmt: skip
    for site, name, cc, county, huc8, lat, lon in _MD_WELLS:
        stations.append(
            FakeStation(
                f"USGS-{site}", name, "24", "Maryland", cc, f"{county} County", _huc12(site, huc8), lat, lon, None,
                site_type_code="GW", daily_begin=None, continuous_interval=None,
            )
        )  # fmt: skip
    for i, (site, name, fips, state, cc, county, huc8, area, lat, lon, tz, dst) in enumerate(_OTHERS):
        county_name = county if county.endswith("city") else f"{county} County"
        stations.append(
            FakeStation(
                f"USGS-{site}", name, fips, state, cc, county_name, _huc12(site, huc8), lat, lon, area,
                time_zone_abbreviation=tz, uses_daylight_savings=dst,
                daily_begin=date(1990, 1, 1) if i % 2 else date(2005, 10, 1),
                continuous_interval=None if i % 5 == 4 else 15,
                duplicate_daily=site == "02196000",
                parameters=_EXTRA_PARAMETERS.get(site, ("00060",)),
            )
        )  # fmt: skip
    return stations


def synthetic_catalog(
    n: int, *, continuous_interval: int = 15, daily_begin: date = date(2005, 10, 1)
) -> list[FakeStation]:
    """``n`` made-up stream gages (USGS-90000000, USGS-90000001, ...), each with one daily and one continuous
    discharge series: the catalog for network-scale tests and benches (10,000 stations build in well under a
    second). States, coordinates and drainage areas vary deterministically with the index."""
    states = [("24", "Maryland"), ("42", "Pennsylvania"), ("51", "Virginia"), ("36", "New York"),
              ("13", "Georgia"), ("48", "Texas"), ("08", "Colorado"), ("06", "California"), ("53", "Washington"),
              ("55", "Wisconsin")]  # fmt: skip
    out = []
    for i in range(n):
        fips, state = states[i % len(states)]
        site = f"{90000000 + i:08d}"
        out.append(
            FakeStation(
                f"USGS-{site}", f"SYNTHETIC CREEK {i} NEAR NOWHERE", fips, state, "001", "Synthetic County",
                _huc12(site, f"0{(i * 7) % 9 + 1}0{(i * 3) % 9 + 1}0001"), 30.0 + (i % 1700) / 100,
                -120.0 + (i % 4500) / 100, 5.0 + (i * 37) % 2000,
                daily_begin=daily_begin, continuous_begin=daily_begin, continuous_interval=continuous_interval,
            )
        )  # fmt: skip
    return out


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
