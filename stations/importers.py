"""Reading station lists into plain rows: USGS site-service RDB (basic and expanded), CSV, GAGES-II TSV, and the
normalised dicts of the USGS Water Data API client.

A row is a dict of MonitoringLocation field values holding only the fields its source provides, so that a basic RDB
re-imported after an expanded one does not blank the drainage area it never had. Parsing never touches the database.

A file is streamed, twice (LocationFile): a validation pass reads every row before anything is written, so a
malformed file fails first and every bad row is reported with its line number; the write pass then reads the rows
again. Memory is one line plus the ids seen (to report repeats), not the file: a 1M-line CSV once held 1.13 GB.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from . import states
from .models import AGENCY_CODE, SITE_NUMBER

SITE_NUMBER_RE = re.compile(r"^\d{8,15}$")
AGENCY_RE = re.compile(AGENCY_CODE)
# The rule of stations.models.validate_monitoring_location_id, with the parts as groups.
LOCATION_ID_RE = re.compile(rf"({AGENCY_CODE})-({SITE_NUMBER})")
HUC_RE = re.compile(r"^(\d\d){1,6}$")
SQKM_PER_SQMI = 2.589988110336
# C0 controls but tab, LF and CR, and DEL: no station field holds them, and PostgreSQL refuses NUL in text outright.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_LINE_BYTES = 1 << 20  # far beyond any station list's line; a longer one is not a station list
MAX_KEPT_REJECTIONS = 1000  # kept to show; beyond it rejections are only counted by reason


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unknown format, missing columns); nothing was written."""


@dataclass
class Rejection:
    line: int
    reason: str
    location_id: str = ""

    def __str__(self) -> str:
        who = f" ({self.location_id})" if self.location_id else ""
        return f"line {self.line}{who}: {self.reason}"


def reason_kind(rejection: Rejection) -> str:
    """The reason without the values it quotes, to count rejections of one kind ("site number", "state")."""
    return rejection.reason.split("'")[0].strip()


@dataclass
class ParsedFile:
    format: str
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (line number, row)
    rejected: list[Rejection] = field(default_factory=list)


@dataclass
class FileCheck:
    """What the validation pass of a file found: its format, the rows to write and the rows rejected."""

    format: str
    rows: int = 0
    rejected: list[Rejection] = field(default_factory=list)  # the first MAX_KEPT_REJECTIONS
    rejected_total: int = 0
    reasons: Counter = field(default_factory=Counter)  # reason_kind -> rejections

    def reject(self, rejection: Rejection) -> None:
        self.rejected_total += 1
        self.reasons[reason_kind(rejection)] += 1
        if len(self.rejected) < MAX_KEPT_REJECTIONS:
            self.rejected.append(rejection)


class RowError(ValueError):
    pass


# --- field converters (raise RowError with a sentence) ------------------------------------------------------
def _text(value: str | None) -> str:
    return (value or "").strip()


def _float(value: str | None, label: str, lo: float | None = None, hi: float | None = None) -> float | None:
    text = _text(value)
    if not text or text.lower() in {"none", "nan", "na"}:
        return None
    try:
        number = float(text)
    except ValueError:
        raise RowError(f"{label} {text!r} is not a number") from None
    if not math.isfinite(number) or (lo is not None and number < lo) or (hi is not None and number > hi):
        raise RowError(f"{label} {text!r} is out of range")
    return number


def _agency(value: str | None) -> str:
    text = _text(value) or "USGS"
    if not AGENCY_RE.fullmatch(text):
        raise RowError(f"agency {text!r} is not 1 to 10 letters or digits (e.g. USGS)")
    return text


def _location_id(value: str, label: str = "monitoring_location_id") -> tuple[str, str]:
    """(agency, number) of an AGENCY-NUMBER id; a RowError for anything else ("/", quotes, a second hyphen)."""
    match = LOCATION_ID_RE.fullmatch(value)
    if not match:
        raise RowError(f"{label} {value!r} is not AGENCY-NUMBER (letters or digits, a hyphen, digits: USGS-01646500)")
    return match.group(1), match.group(2)


def _finite(value, label: str, lo: float | None = None, hi: float | None = None) -> float | None:
    """A number from the API client (already a float or None): refused when not finite or out of range."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"{label} {value!r} is not a number")
    if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise RowError(f"{label} {value!r} is out of range")
    return float(value)


def _site_number(value: str | None) -> str:
    text = _text(value)
    if not SITE_NUMBER_RE.match(text):
        raise RowError(f"site number {text!r} is not 8 to 15 digits")
    return text


def _huc(value: str | None) -> str:
    text = _text(value)
    if text and not HUC_RE.match(text):
        raise RowError(f"HUC {text!r} is not 2 to 12 digits")
    return text


def _state(value: str | None) -> dict:
    text = _text(value)
    if not text:
        return {"state_code": "", "state_fips": ""}
    state = states.lookup(text)
    if state is None:
        raise RowError(f"state {text!r} is not a US state or territory")
    return {"state_code": state.postal, "state_fips": state.fips}


def _name(value: str | None) -> str:
    text = " ".join(_text(value).split())
    if not text:
        raise RowError("the station name is empty")
    if len(text) > 255:
        raise RowError("the station name is longer than 255 characters")
    return text


def _coordinates(lat: str | None, lon: str | None) -> dict:
    return {
        "latitude": _float(lat, "latitude", -90, 90),
        "longitude": _float(lon, "longitude", -180, 180),
    }


# --- formats -----------------------------------------------------------------------------------------------
def _rdb_row(rec: dict[str, str]) -> dict:
    agency = _agency(rec.get("agency_cd"))
    site = _site_number(rec.get("site_no"))
    row = {
        "monitoring_location_id": f"{agency}-{site}",
        "agency_code": agency,
        "site_number": site,
        "name": _name(rec.get("station_nm")),
        **_coordinates(rec.get("dec_lat_va"), rec.get("dec_long_va")),
    }
    if "site_tp_cd" in rec:
        row["site_type"] = _text(rec["site_tp_cd"])[:10]
    if "huc_cd" in rec:
        row["huc"] = _huc(rec["huc_cd"])
    if "state_cd" in rec:
        row.update(_state(rec["state_cd"]))
    if "county_cd" in rec:
        county = _text(rec["county_cd"])
        row["county_code"] = f"{_text(rec.get('state_cd'))}{county}" if county else ""
    if "drain_area_va" in rec:
        row["drainage_area_sqmi"] = _float(rec["drain_area_va"], "drainage area", 0)
    if "tz_cd" in rec:
        row["tz_abbreviation"] = _text(rec["tz_cd"])[:8]
    if "local_time_fg" in rec:
        flag = _text(rec["local_time_fg"]).upper()
        row["uses_dst"] = {"Y": True, "N": False}.get(flag)
    return row


def _csv_row(rec: dict[str, str]) -> dict:
    location_id = _text(rec.get("monitoring_location_id"))
    if location_id:
        agency, site = _location_id(location_id)
        _site_number(site)
    else:
        agency, site = _agency(rec.get("agency")), _site_number(rec.get("site_no"))
        location_id = f"{agency}-{site}"
    row = {
        "monitoring_location_id": location_id,
        "agency_code": agency,
        "site_number": site,
        "name": _name(rec.get("name")),
    }
    if "state" in rec:
        row.update(_state(rec["state"]))
    if "huc" in rec:
        row["huc"] = _huc(rec["huc"])
    if "drainage_area_sqmi" in rec:
        row["drainage_area_sqmi"] = _float(rec["drainage_area_sqmi"], "drainage area", 0)
    if "lat" in rec or "lon" in rec:
        row.update(_coordinates(rec.get("lat"), rec.get("lon")))
    if "site_type" in rec:
        row["site_type"] = _text(rec["site_type"])[:10]
    return row


def _gages2_row(rec: dict[str, str]) -> dict:
    site = _site_number(rec.get("STAID"))
    area_km2 = _float(rec.get("DRAIN_SQKM"), "drainage area", 0)
    return {
        "monitoring_location_id": f"USGS-{site}",
        "agency_code": "USGS",
        "site_number": site,
        "name": _name(rec.get("STANAME")),
        **_state(rec.get("STATE")),
        # GAGES-II only gives the 2-digit region ("10U"/"10L" split the Missouri); it is a true prefix of the HUC.
        "huc": _huc(re.sub(r"\D+$", "", _text(rec.get("HUC02")))),
        "drainage_area_sqmi": None if area_km2 is None else round(area_km2 / SQKM_PER_SQMI, 2),
        **_coordinates(rec.get("LAT_GAGE"), rec.get("LNG_GAGE")),
        "site_type": "ST",
    }


FORMATS = {
    # name: (required columns, row builder)
    "rdb": ({"site_no", "station_nm"}, _rdb_row),
    "csv": ({"name"}, _csv_row),
    "gages2": ({"STAID", "STANAME"}, _gages2_row),
}


class LocationFile:
    """A station file read as a stream: check() validates every row before anything is written, rows() then
    yields the rows check() accepted, reading the file again. Both raise ImportFileError for a malformed file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.checked: FileCheck | None = None

    def check(self) -> FileCheck:
        with self._open() as binary:
            fmt, header, build, records = _records(_lines(binary, str(self.path)), str(self.path))
            result = FileCheck(format=fmt)
            for _, item in _unique_rows(header, build, records):
                if isinstance(item, Rejection):
                    result.reject(item)
                else:
                    result.rows += 1
        self.checked = result
        return result

    def rows(self) -> Iterator[dict]:
        """The accepted rows; the caller writes them in one transaction, so a file that changed since check()
        (an ImportFileError at the end) leaves nothing written."""
        if self.checked is None:
            raise RuntimeError("check() the file before reading its rows")
        written = 0
        with self._open() as binary:
            _, header, build, records = _records(_lines(binary, str(self.path)), str(self.path))
            for _, item in _unique_rows(header, build, records):
                if not isinstance(item, Rejection):
                    written += 1
                    yield item
        if written != self.checked.rows:
            raise ImportFileError(f"{self.path} changed while it was being imported; import it again.")

    def _open(self):
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise ImportFileError(f"Cannot read {self.path}: {exc.strerror}.") from None


def read_location_file(path: str | Path) -> ParsedFile:
    """Parse a whole station file into memory (small files, tests); imports stream it with LocationFile."""
    try:
        with Path(path).open("rb") as binary:
            return _parsed(_lines(binary, str(path)), str(path))
    except OSError as exc:
        raise ImportFileError(f"Cannot read {path}: {exc.strerror}.") from None


def parse_location_text(text: str, source: str = "the file") -> ParsedFile:
    return _parsed(iter(io.StringIO(text.removeprefix("\ufeff"), newline="")), source)


def _parsed(lines: Iterator[str], source: str) -> ParsedFile:
    fmt, header, build, records = _records(lines, source)
    parsed = ParsedFile(format=fmt)
    for line_no, item in _unique_rows(header, build, records):
        if isinstance(item, Rejection):
            parsed.rejected.append(item)
        else:
            parsed.rows.append((line_no, item))
    return parsed


def _lines(binary, source: str) -> Iterator[str]:
    """A file's lines, decoded one by one, so a UTF-8 error names its line; bounded, so one endless line cannot
    fill the memory."""
    for number, raw in enumerate(iter(partial(binary.readline, MAX_LINE_BYTES), b""), 1):
        if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
            raise ImportFileError(f"{source}: line {number} is longer than {MAX_LINE_BYTES:,} bytes.")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{source} is not UTF-8 text: line {number} ({exc.reason} at byte {exc.start + 1} of the line)."
            ) from None
        yield line.removeprefix("\ufeff") if number == 1 else line


def _records(lines: Iterator[str], source: str):
    """(format, header, row builder, records) of a file from its header; records yields (line number, fields)."""
    # Header: the first line that is neither blank nor an RDB comment.
    number = 0
    for number, line in enumerate(lines, 1):  # noqa: B007 - the header's line number is used below
        if line.strip() and not line.startswith("#"):
            break
    else:
        raise ImportFileError(f"{source} has no header row; expected an RDB, CSV or GAGES-II file.")
    header_line = line.rstrip("\r\n")
    if "\t" in header_line:
        header = [h.strip() for h in header_line.split("\t")]
        if "site_no" in header:
            fmt, first_data = "rdb", number + 2
            fmt_line = next(lines, "")
            fmt_row = fmt_line.rstrip("\r\n").split("\t") if fmt_line else []
            # The RDB format row ("5s 15s 50s …") must follow the header; without it this is not RDB.
            if len(fmt_row) != len(header) or not all(re.fullmatch(r"\d+[sdn]", c.strip()) for c in fmt_row):
                raise ImportFileError(
                    f"{source}: line {number + 1} should be the RDB format row (5s 15s …); the file looks truncated "
                    "or edited. Download it again from the site service."
                )
        elif "STAID" in header:
            fmt, first_data = "gages2", number + 1
        else:
            raise ImportFileError(
                f"{source}: the tab-separated header has neither site_no (USGS RDB) nor STAID (GAGES-II)."
            )
        records: Iterable = ((n, text.rstrip("\r\n").split("\t")) for n, text in enumerate(lines, first_data))
    else:
        reader = csv.reader(itertools.chain([line], lines))
        header = [h.strip() for h in _csv_next(reader, number, source) or []]
        if not ({"monitoring_location_id", "site_no"} & set(header)):
            raise ImportFileError(
                f"{source}: the CSV header needs a monitoring_location_id or site_no column "
                f"(found: {', '.join(header[:8]) or 'nothing'})."
            )
        fmt, records = "csv", _csv_records(reader, number - 1, source)
    required, build = FORMATS[fmt]
    missing = required - set(header)
    if missing:
        raise ImportFileError(f"{source}: the header is missing the column(s) {', '.join(sorted(missing))}.")
    return fmt, header, build, records


def _csv_next(reader, line: int, source: str) -> list[str] | None:
    try:
        return next(reader, None)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportFileError(
                f"{source}: line {line} has a field longer than {csv.field_size_limit():,} characters; "
                "no station field is anywhere near that long."
            ) from None
        raise ImportFileError(f"{source}: line {line} is not valid CSV ({exc}).") from None


def _csv_records(reader, offset: int, source: str) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, fields): a quoted field may span lines."""
    while True:
        line = offset + reader.line_num + 1
        values = _csv_next(reader, line, source)
        if values is None:
            return
        yield line, values


def _unique_rows(header: list[str], build, records: Iterable) -> Iterator[tuple[int, dict | Rejection]]:
    """(line number, row or Rejection) of each data line; a repeated id is rejected, naming its first line."""
    seen: dict[str, int] = {}
    width = len(header)
    for line_no, values in records:
        if not any(v.strip() for v in values):
            continue
        if len(values) != width:
            yield line_no, Rejection(line_no, f"has {len(values)} fields where the header has {width}")
            continue
        if CONTROL_RE.search("\t".join(values)):
            name, value = next((h, v) for h, v in zip(header, values, strict=True) if CONTROL_RE.search(v))
            char = CONTROL_RE.search(value).group()
            yield line_no, Rejection(line_no, f"the {name} field holds a control character ({char!r})")
            continue
        try:
            row = build(dict(zip(header, values, strict=True)))
        except RowError as exc:
            yield line_no, Rejection(line_no, str(exc))
            continue
        location_id = row["monitoring_location_id"]
        if location_id in seen:
            yield line_no, Rejection(line_no, f"repeats line {seen[location_id]}", location_id)
            continue
        seen[location_id] = line_no
        yield line_no, row


def row_from_api(location: dict) -> dict:
    """A row from the USGS client's normalised monitoring-location dict. Raises RowError when it cannot be stored."""
    for name, value in location.items():
        if isinstance(value, str) and CONTROL_RE.search(value):
            raise RowError(f"the {name} field holds a control character ({CONTROL_RE.search(value).group()!r})")
    location_id = _text(location.get("monitoring_location_id"))
    agency, number = _location_id(location_id, "monitoring location id")
    # The separate fields, when given, must be the id's own parts: they are stored and searched on their own.
    for label, given, part in (
        ("agency", location.get("agency_code"), agency),
        ("site number", location.get("site_number"), number),
    ):
        if _text(given) and _text(given) != part:
            raise RowError(f"{label} {_text(given)!r} is not the one in the id {location_id!r}")
    state = states.lookup(location.get("state_fips")) or states.lookup(location.get("state_name"))
    county = _text(location.get("county_code"))
    row = {
        "monitoring_location_id": location_id,
        "agency_code": agency,
        "site_number": number,
        "name": _name(location.get("name")),
        "state_code": state.postal if state else "",
        "state_fips": state.fips if state else _text(location.get("state_fips"))[:2],
        "county_code": f"{state.fips}{county}" if state and len(county) == 3 else county[:5],
        "county_name": _text(location.get("county_name"))[:80],
        "huc": _text(location.get("huc"))[:16],
        "drainage_area_sqmi": _finite(location.get("drainage_area_sqmi"), "drainage area", 0),
        "site_type": _text(location.get("site_type"))[:10],
        "tz_abbreviation": _text(location.get("tz_abbreviation"))[:8],
        "uses_dst": location.get("uses_dst"),
    }
    # Coordinates only when the request asked for geometry; absent keys leave stored values alone.
    if location.get("latitude") is not None or location.get("longitude") is not None:
        row["latitude"] = _finite(location.get("latitude"), "latitude", -90, 90)
        row["longitude"] = _finite(location.get("longitude"), "longitude", -180, 180)
    return row
