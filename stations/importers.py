"""Reading station lists into plain rows: USGS site-service RDB (basic and expanded), CSV, GAGES-II TSV, and the
normalised dicts of the USGS Water Data API client.

A row is a dict of MonitoringLocation field values holding only the fields its source provides, so that a basic RDB
re-imported after an expanded one does not blank the drainage area it never had. Parsing never touches the database:
a file is read completely first, so a malformed file fails before anything is written.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import states
from .models import AGENCY_CODE, SITE_NUMBER

SITE_NUMBER_RE = re.compile(r"^\d{8,15}$")
AGENCY_RE = re.compile(AGENCY_CODE)
# The rule of stations.models.validate_monitoring_location_id, with the parts as groups.
LOCATION_ID_RE = re.compile(rf"({AGENCY_CODE})-({SITE_NUMBER})")
HUC_RE = re.compile(r"^(\d\d){1,6}$")
SQKM_PER_SQMI = 2.589988110336


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


@dataclass
class ParsedFile:
    format: str
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (line number, row)
    rejected: list[Rejection] = field(default_factory=list)


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


def read_location_file(path: str | Path) -> ParsedFile:
    """Parse a station file, recognising its format from its header. Raises ImportFileError for a bad file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except OSError as exc:
        raise ImportFileError(f"Cannot read {path}: {exc.strerror}.") from None
    return parse_location_text(text, source=str(path))


def parse_location_text(text: str, source: str = "the file") -> ParsedFile:
    lines = text.splitlines()
    # Header: the first line that is neither blank nor an RDB comment.
    start = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")), None)
    if start is None:
        raise ImportFileError(f"{source} has no header row; expected an RDB, CSV or GAGES-II file.")
    header_line = lines[start]
    if "\t" in header_line:
        header = [h.strip() for h in header_line.split("\t")]
        if "site_no" in header:
            fmt, first_data = "rdb", start + 2
            fmt_row = lines[start + 1].split("\t") if start + 1 < len(lines) else []
            # The RDB format row ("5s 15s 50s …") must follow the header; without it this is not RDB.
            if len(fmt_row) != len(header) or not all(re.fullmatch(r"\d+[sdn]", c.strip()) for c in fmt_row):
                raise ImportFileError(
                    f"{source}: line {start + 2} should be the RDB format row (5s 15s …); the file looks truncated "
                    "or edited. Download it again from the site service."
                )
        elif "STAID" in header:
            fmt, first_data = "gages2", start + 1
        else:
            raise ImportFileError(
                f"{source}: the tab-separated header has neither site_no (USGS RDB) nor STAID (GAGES-II)."
            )
        records = [line.split("\t") for line in lines[first_data:]]
    else:
        reader = csv.reader(io.StringIO("\n".join(lines[start:])))
        header = [h.strip() for h in next(reader)]
        if not ({"monitoring_location_id", "site_no"} & set(header)):
            raise ImportFileError(
                f"{source}: the CSV header needs a monitoring_location_id or site_no column "
                f"(found: {', '.join(header[:8]) or 'nothing'})."
            )
        fmt, first_data = "csv", start + 1
        records = list(reader)
    required, build = FORMATS[fmt]
    missing = required - set(header)
    if missing:
        raise ImportFileError(f"{source}: the header is missing the column(s) {', '.join(sorted(missing))}.")

    parsed = ParsedFile(format=fmt)
    seen: dict[str, int] = {}
    for offset, values in enumerate(records):
        line_no = first_data + offset + 1
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            parsed.rejected.append(Rejection(line_no, f"has {len(values)} fields where the header has {len(header)}"))
            continue
        try:
            row = build(dict(zip(header, values, strict=True)))
        except RowError as exc:
            parsed.rejected.append(Rejection(line_no, str(exc)))
            continue
        location_id = row["monitoring_location_id"]
        if location_id in seen:
            parsed.rejected.append(Rejection(line_no, f"repeats line {seen[location_id]}", location_id))
            continue
        seen[location_id] = line_no
        parsed.rows.append((line_no, row))
    return parsed


def row_from_api(location: dict) -> dict:
    """A row from the USGS client's normalised monitoring-location dict. Raises RowError when it cannot be stored."""
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
