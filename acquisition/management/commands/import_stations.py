"""manage.py import_stations: load monitoring locations (and their discharge series) from a file or the USGS API."""

from __future__ import annotations

import re
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, transaction

from stations import states
from stations.importers import ImportFileError, LocationFile, Rejection, RowError, reason_kind, row_from_api
from stations.parameters import DISCHARGE, MEAN, PARAMETERS, parameter_name
from stations.upserts import UpsertCounts, upsert_locations, upsert_series

BBOX_RE = re.compile(r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$")
SHOW_REJECTED = 50
SERIES_BATCH = 200  # ids per time-series-metadata request: keeps the URL well under 8 KB


class Command(BaseCommand):
    help = (
        "Import monitoring locations from a file (--file: USGS RDB, CSV, GAGES-II TSV) or from the USGS Water "
        "Data API (--state / --huc / --bbox). Re-importing updates rows and never duplicates them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", help="USGS site-service RDB (basic or expanded), CSV, or GAGES-II TSV.")
        parser.add_argument("--state", help="Postal code or name, e.g. MD or Maryland.")
        parser.add_argument("--huc", help="Hydrologic unit code prefix, e.g. 0207.")
        parser.add_argument("--bbox", help="minLon,minLat,maxLon,maxLat")
        parser.add_argument("--site-type", default="ST", help="USGS site type code (default ST, stream).")
        parser.add_argument(
            "--with-series", action="store_true", help="Also fetch each location's time series (see --parameters)."
        )
        parser.add_argument(
            "--parameters",
            default=DISCHARGE,
            help="With --with-series: the USGS parameter codes whose series to discover, comma-separated "
            f"(default {DISCHARGE}, discharge; known: {', '.join(PARAMETERS)}).",
        )
        parser.add_argument("--progress-every", type=int, default=1000, help="Report progress every N rows.")

    def handle(self, *args, **options) -> None:
        self.progress_every = max(1, options["progress_every"])
        self.parameter_codes = _parameter_codes(options.get("parameters") or DISCHARGE)
        api_filters = [options[k] for k in ("state", "huc", "bbox")]
        if options["file"] and any(api_filters):
            raise CommandError("Use either --file or the API filters (--state/--huc/--bbox), not both.")
        if options["file"]:
            if options["with_series"]:
                raise CommandError("--with-series needs the API; import the file first, then run with --state.")
            self.import_file(options["file"])
        elif any(api_filters):
            self.import_api(options)
        else:
            raise CommandError("Say what to import: --file PATH, or --state / --huc / --bbox for the USGS API.")

    # --- reporting -------------------------------------------------------------------------------------------
    def report(
        self,
        counts: UpsertCounts,
        rejected: list[Rejection],
        what: str = "locations",
        total: int | None = None,
        reasons: Counter | None = None,
    ) -> None:
        """`rejected` may be the first few of `total` rejections, counted by kind in `reasons`."""
        total = len(rejected) if total is None else total
        self.stdout.write(
            self.style.SUCCESS(
                f"{what}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged, "
                f"{total} rejected"
            )
        )
        for rejection in rejected[:SHOW_REJECTED]:
            self.stdout.write(self.style.WARNING(f"  rejected {rejection}"))
        if total > SHOW_REJECTED:
            reasons = reasons if reasons is not None else Counter(reason_kind(r) for r in rejected)
            self.stdout.write(self.style.WARNING(f"  … and {total - SHOW_REJECTED} more; all rejections by reason:"))
            for reason, n in reasons.most_common():
                self.stdout.write(self.style.WARNING(f"    {n} × {reason}"))

    # --- file ------------------------------------------------------------------------------------------------
    def import_file(self, path: str) -> None:
        # A validation pass over the whole file first, then the rows again, written in one transaction: a malformed
        # file, or any failure while writing, leaves the catalog as it was (README: refused before anything is
        # written). Both passes stream the file.
        source = LocationFile(path)
        try:
            checked = source.check()
        except ImportFileError as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        self.stdout.write(f"Read {path} ({checked.format}): {checked.rows} rows to import.")
        step = self.progress_every

        def progress(counts: UpsertCounts) -> None:
            if checked.rows > step:
                self.stdout.write(f"  … {counts.total} / {checked.rows}")

        try:
            with transaction.atomic():
                counts = upsert_locations(source.rows(), batch_size=step, progress=progress)
        except ImportFileError as exc:
            raise CommandError(f"{exc} Nothing was imported.") from None
        except DatabaseError as exc:
            raise CommandError(f"The database refused a write ({exc}). Nothing was imported.") from exc
        self.report(counts, checked.rejected, total=checked.rejected_total, reasons=checked.reasons)

    # --- USGS API --------------------------------------------------------------------------------------------
    def import_api(self, options: dict) -> None:
        # The USGS client, throttled by the request budget every worker shares (an import of a whole state must not
        # spend the pulls' quota behind their back): why this command lives in acquisition, above stations.
        from acquisition.throttled_client import build_client

        filters: dict = {"site_type": options["site_type"]}
        if options["state"]:
            state = states.lookup(options["state"])
            if state is None:
                raise CommandError(f"Unknown state {options['state']!r}: use a postal code (MD) or a name (Maryland).")
            filters["state_code"] = state.fips
        if options["huc"]:
            if not re.fullmatch(r"\d{2,12}", options["huc"]):
                raise CommandError(f"--huc {options['huc']!r} should be 2 to 12 digits, e.g. 0207.")
            filters["huc"] = options["huc"]
        if options["bbox"]:
            if not BBOX_RE.match(options["bbox"]):
                raise CommandError("--bbox should be minLon,minLat,maxLon,maxLat, e.g. -77.5,38.5,-76.5,39.5")
            filters["bbox"] = tuple(float(v) for v in options["bbox"].split(","))

        client = build_client()
        self.stdout.write(f"Fetching monitoring locations from {settings.USGS_API_URL} ({filters}) …")
        rejected: list[Rejection] = []
        ids: list[str] = []

        def rows():
            for number, location in enumerate(client.monitoring_locations(**filters, with_geometry=True), 1):
                try:
                    row = row_from_api(location)
                except RowError as exc:
                    rejected.append(Rejection(number, str(exc), str(location.get("monitoring_location_id", ""))))
                    continue
                ids.append(row["monitoring_location_id"])
                yield row

        counts = upsert_locations(rows(), batch_size=self.progress_every, progress=self._report_rows)
        self.report(counts, rejected)
        if options["with_series"]:
            self.import_series(client, ids)

    def _report_rows(self, counts: UpsertCounts) -> None:
        self.stdout.write(f"  … {counts.total} locations written")

    def import_series(self, client, ids: list[str]) -> None:
        codes = self.parameter_codes
        names = ", ".join(parameter_name(code).lower() for code in codes)
        self.stdout.write(f"Fetching {names} series of {len(ids)} locations …")
        statistics = sorted({stat for code in codes for stat in _daily_statistics(code)})
        total = UpsertCounts()
        for start in range(0, len(ids), SERIES_BATCH):
            chunk = ids[start : start + SERIES_BATCH]
            found = []
            for kind in ("daily", "continuous"):
                listed = client.time_series_metadata(
                    chunk, kind=kind, parameter_codes=codes, statistic_ids=statistics if kind == "daily" else None
                )
                for info in listed:
                    found.append(_series_row(info, kind))
            total.add(upsert_series(found))
            self.stdout.write(f"  … series of {min(start + SERIES_BATCH, len(ids))} / {len(ids)} locations")
        self.report(total, [], what="series")


def _series_row(info, kind: str) -> dict:
    """A SeriesInfo from the client as the dict upsert_series takes."""
    get = info.get if isinstance(info, dict) else lambda name, default=None: getattr(info, name, default)
    return {
        "monitoring_location_id": get("monitoring_location_id"),
        "time_series_id": get("time_series_id"),
        "kind": kind,
        "parameter_code": get("parameter_code") or DISCHARGE,
        "statistic_id": get("statistic_id") or ("00003" if kind == "daily" else "00011"),
        "primary": bool(get("primary")),
        "begin": get("begin"),
        "end": get("end"),
        "unit": get("unit") or get("unit_of_measure"),
    }


def _parameter_codes(text: str) -> list[str]:
    """--parameters as a list of 5-digit codes, or a CommandError that says what is wrong."""
    codes = list(dict.fromkeys(code.strip() for code in text.split(",") if code.strip()))
    bad = [code for code in codes if not (len(code) == 5 and code.isdigit())]
    if bad or not codes:
        raise CommandError(
            f"--parameters takes 5-digit USGS parameter codes separated by commas, e.g. 00060,00065; "
            f"not {', '.join(bad) or 'nothing'}."
        )
    return codes


def _daily_statistics(code: str) -> tuple[str, ...]:
    p = PARAMETERS.get(code)
    return p.daily_statistics if p else (MEAN,)
