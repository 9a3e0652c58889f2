"""Run the fake USGS API in the foreground: ``python -m tests.fakeusgs --port 8765 [--today 2026-11-20]``.

``--stations N`` serves N synthetic gages (USGS-90000000...; daily + 15-minute series) instead of the built-in 62.

Point the app at it with USGS_BASE_URL=http://127.0.0.1:8765/ogcapi/v1. One log line per request; Ctrl-C stops.
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import date

from tests.fakeusgs import FakeUSGS, synthetic_catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakeusgs", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="the fake's clock (default: today)")
    parser.add_argument("--slow", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stations", type=int, default=None, help="N synthetic stations instead of the catalog")
    parser.add_argument("--require-key", default=None, help="answer 403 unless this X-Api-Key is sent")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction of requests answering 5xx")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stations = synthetic_catalog(args.stations) if args.stations else None
    fake = FakeUSGS(stations, today=args.today or date.today(), seed=args.seed, require_key=args.require_key)
    fake.faults.slow_seconds = args.slow
    fake.faults.error_rate = args.error_rate
    url = fake.start(port=args.port, host=args.host)
    print(
        f"Fake USGS Water Data API at {url} (today={fake.today}, {len(fake.stations)} stations); Ctrl-C stops.",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
