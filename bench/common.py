"""Helpers shared by the benchmark scripts (each runs as `python bench/<name>.py`, so this imports as `common`)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# `python bench/<name>.py` puts bench/ first on sys.path, where bench/requests.py would hide the requests library
# from everything imported after this module (the USGS client, dataretrieval): move it to the end.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH] + [str(BENCH)]


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 50)
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "streamflow.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def bench_parser(doc: str | None, database: str) -> argparse.ArgumentParser:
    """A benchmark's argument parser: its docstring as the help, and --database-url (PostgreSQL; by default
    BENCH_DATABASE_URL, else the benchmark's own `database` on the local server)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}"),
    )
    return parser


def start(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """What every benchmark does first: read its arguments, create its database if needed, set Django up on it and
    migrate it. Refuses anything but PostgreSQL."""
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("the benchmark needs PostgreSQL (--database-url postgres://…)")
    ensure_database(args.database_url)
    setup_django(args.database_url)
    migrate()
    return args


def migrate() -> None:
    """Migrate, then create the monthly partitions of continuous values (acquisition/partitions.py) from 2000 to two
    years ahead: the engine creates the months it writes, but a bench that inserts values itself needs them first."""
    import datetime as dt

    from django.core.management import call_command

    from acquisition import partitions

    call_command("migrate", verbosity=0)
    if partitions.is_partitioned():
        partitions.ensure(partitions.months(dt.date(2000, 1, 1), dt.date.today() + dt.timedelta(days=2 * 366)))


def viewer(username: str):
    """A user in the Viewers group, so the timings include the permission checks every real request pays."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from streamflow.roles import VIEWERS

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.add(Group.objects.get(name=VIEWERS))
    return user


def viewer_client(username: str):
    """A test client logged in as a Viewer (`viewer`): the requests go through Django's whole stack, in process."""
    from django.test import Client

    client = Client()
    client.force_login(viewer(username))
    return client


def ensure_database(database_url: str) -> None:
    """Create the benchmark's PostgreSQL database if it does not exist yet."""
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def percentiles(samples: list[float]) -> tuple[float, float]:
    """(p50, p95) of the samples."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call of `fn`."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def empty(table: str) -> None:
    """Empty `table` and leave it vacuumed and checkpointed: the same start for every measurement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("CHECKPOINT")
