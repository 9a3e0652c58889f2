"""`make load`: many logged-in users against gunicorn + PostgreSQL, with figures per endpoint.

    .venv/bin/python bench/load.py [--users 50] [--duration 45] [--pollers 200] [--poll-duration 30]
                                   [--stations 20000] [--workers 4] [--database-url postgres://…/streamflow_load]

1. Recreates the database (default streamflow_load), migrates, and seeds N stations, operators, configurations and
   runs with thousands of log lines (one run stays "running", so polls answer 200 and keep polling).
2. Starts gunicorn (several workers, whitenoise for static files, DEBUG off) on a free port.
3. Profile "mixed": `--users` operators who log in through the login form (CSRF token from the page) and then
   search stations (HTMX fragment and full page), add stations to the basket (HTMX POST, CSRF header), open
   configuration pages and poll a run log. Profile "pollers": `--pollers` open run pages polling every ~2 s.
   Stats are reset once every user is spawned, so the figures are the steady state, not the ramp (each form login
   costs one PBKDF2 hash, ~0.5 s of CPU; the pollers carry sessions made directly, for the same reason).
4. Prints throughput, p50/p95/p99 per endpoint and the error count; stops gunicorn and drops the database.

Exit status: 1 if any request failed; the latency target (p95 of searches and polls < 200 ms with 50 users) is
reported, not enforced (a shared CI machine's speed is not a property of the code).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "load"
PASSWORD = "load-test-" + secrets.token_hex(8)
TARGET_MS = 200
TARGETED = ("search (htmx)", "search page", "run log poll")
STATES = ["MD", "VA", "PA", "CA", "TX", "CO", "NY", "GA", "WA", "OR", "MT", "FL"]
NAME_PARTS = (
    ["POTOMAC", "BIG", "LITTLE", "MILL", "BEAR", "DEER", "CEDAR", "WILLOW", "SENECA", "PINE", "ROCK", "SANDY"],
    ["CREEK", "RIVER", "RUN", "BRANCH", "FORK", "BROOK"],
    ["NEAR", "AT", "BELOW", "ABOVE"],
    ["FREDERICK", "AUSTIN", "DENVER", "ATLANTA", "ALBANY", "SALEM", "DAYTON", "MADISON", "HELENA", "DOVER"],
)


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "PLAIN_HTTP": "1",  # locust logs in over http://127.0.0.1: Secure cookies would not come back
            "SECRET_KEY": os.environ.get("LOAD_SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Nothing here enqueues tasks, but settings must not point at the shared default broker db.
            "CELERY_BROKER_URL": os.environ.get("LOAD_BROKER_URL", "redis://127.0.0.1:6379/5"),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def recreate_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1].split("?")[0]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(n_stations: int, rng: random.Random) -> dict[str, str]:
    """Stations, ten operators, five configurations, runs with log lines; returns the LOAD_* variables."""
    import datetime as dt

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from acquisition.models import PullLogEntry, PullRun, PullRunStation
    from pulls.models import PullConfiguration, PullConfigurationStation
    from stations.models import MonitoringLocation
    from streamflow.roles import OPERATORS

    rows = []
    for i in range(n_stations):
        site = f"{rng.randint(1, 15):02d}{i:06d}"
        name = " ".join(rng.choice(part) for part in NAME_PARTS) + f", {rng.choice(STATES)}"
        rows.append(
            MonitoringLocation(
                monitoring_location_id=f"USGS-{site}",
                site_number=site,
                name=name,
                state_code=rng.choice(STATES),
                huc=f"{rng.randint(1, 18):02d}{rng.randint(0, 999999):06d}",
                has_daily=rng.random() < 0.7,
                has_continuous=rng.random() < 0.5,
            )
        )
    MonitoringLocation.objects.bulk_create(rows, batch_size=5000)
    locations = list(MonitoringLocation.objects.order_by("?").values_list("pk", "monitoring_location_id")[:500])

    operators = Group.objects.get(name=OPERATORS)
    hashed = make_password(PASSWORD)  # one hash for every user: seeding should not take minutes
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"load-op-{i}", password=hashed) for i in range(10)
    )
    for user in users:
        user.groups.add(operators)

    configs, runs, last_log = [], [], {}
    now = timezone.now()
    for c in range(5):
        # bulk_create: no post_save, so no beat task (pulls.schedules' select_for_update + select_related
        # of the nullable crontab fails on PostgreSQL at the time of writing; beat is not part of this test).
        (config,) = PullConfiguration.objects.bulk_create(
            [
                PullConfiguration(
                    name=f"Load configuration {c}", start_date=dt.date(2020, 1, 1), enabled=False, created_by=users[0]
                )
            ]
        )
        members = locations[c * 40 : c * 40 + 40]
        PullConfigurationStation.objects.bulk_create(
            PullConfigurationStation(configuration=config, location_id=pk) for pk, _ in members
        )
        configs.append(config.pk)
        for r in range(3):
            # Each configuration's newest run is running: a page polls only while its run is active (a finished
            # run answers 286 once and htmx stops), so the pollers watch these.
            active = r == 2
            run = PullRun.objects.create(
                configuration=config,
                configuration_name=config.name,
                status=PullRun.Status.RUNNING if active else PullRun.Status.SUCCEEDED,
                data_type=config.data_type,
                strategy=config.strategy,
                started_at=now - dt.timedelta(hours=3 - r),
                finished_at=None if active else now - dt.timedelta(hours=3 - r, minutes=-5),
                heartbeat_at=now,
                stations_total=len(members),
            )
            PullRunStation.objects.bulk_create(
                PullRunStation(run=run, location_id=pk, status="running" if active else "succeeded")
                for pk, _ in members
            )
            PullLogEntry.objects.bulk_create(
                (
                    PullLogEntry(
                        run=run,
                        location_id=members[i % len(members)][0],
                        level=rng.choice([20, 20, 20, 30]),
                        message=f"{members[i % len(members)][1]}: page {i} — 1000 values received <ok>",
                    )
                    for i in range(3000)
                ),
                batch_size=3000,
            )
            if active:
                runs.append(run.pk)
            last_log[run.pk] = PullLogEntry.objects.filter(run=run).order_by("-pk").values_list("pk", flat=True)[0]

    sessions = []
    for i in range(250):
        user = users[i % len(users)]
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)

    return {
        "LOAD_PASSWORD": PASSWORD,
        "LOAD_USERNAMES": ",".join(u.username for u in users),
        "LOAD_STATION_IDS": ",".join(mid for _, mid in locations),
        "LOAD_CONFIG_IDS": ",".join(map(str, configs)),
        "LOAD_RUN_IDS": ",".join(map(str, runs)),  # the running runs
        "LOAD_RUN_LAST_LOG": ",".join(f"{k}:{v}" for k, v in last_log.items()),
        "LOAD_SESSIONS": ",".join(sessions),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}; see {OUT / 'gunicorn.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def run_locust(name: str, user_class: str, users: int, spawn_rate: float, seconds: int, host: str, env: dict) -> list:
    ramp = int(users / spawn_rate) + 3
    prefix = OUT / name
    cmd = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), user_class,
        "--headless", "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{ramp + seconds}s",
        "--host", host, "--csv", str(prefix), "--reset-stats", "--only-summary", "--stop-timeout", "5",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    print(f"\n== {name}: {users} {user_class} users, ramp ~{ramp} s, then {seconds} s measured", flush=True)
    with open(OUT / f"{name}-locust.log", "w") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=ramp + seconds + 120, check=False)
    with open(f"{prefix}_stats.csv") as fh:
        return list(csv.DictReader(fh))


def print_table(name: str, rows: list[dict], seconds: int) -> tuple[int, dict[str, float]]:
    print(f"{'endpoint':<22} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>7}")
    errors, p95s = 0, {}
    for row in rows:
        label = "TOTAL" if row["Name"] == "Aggregated" else row["Name"]
        failures = int(row["Failure Count"])
        if row["Name"] != "Aggregated":
            errors += failures
            p95s[label] = float(row["95%"] or 0)
        print(
            f"{label:<22} {row['Request Count']:>9} {float(row['Requests/s']):>7.1f} {row['50%']:>7} "
            f"{row['95%']:>7} {row['99%']:>7} {failures:>7}"
        )
    return errors, p95s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/streamflow_load"),
    )
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=45, help="measured seconds of the mixed profile")
    parser.add_argument("--pollers", type=int, default=200)
    parser.add_argument("--poll-duration", type=int, default=30)
    parser.add_argument("--stations", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--keep-db", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    env = _env(args.database_url)
    for key in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CELERY_BROKER_URL"):
        os.environ[key] = env[key]
    os.environ["DJANGO_SETTINGS_MODULE"] = "streamflow.settings"
    sys.path.insert(0, str(ROOT))

    started = time.monotonic()
    print(f"== database {args.database_url}: recreate, migrate, seed {args.stations:,} stations", flush=True)
    recreate_database(args.database_url)
    gunicorn = None
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        load_env = seed(args.stations, random.Random(7))
        from django.db import connections

        connections.close_all()
        print(f"   seeded in {time.monotonic() - started:.0f} s", flush=True)

        port = free_port()
        host = f"http://127.0.0.1:{port}"
        with open(OUT / "gunicorn.log", "w") as log:
            gunicorn = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")), "streamflow.wsgi:application",
                    "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--threads", str(args.threads),
                    "--worker-class", "gthread", "--access-logfile", "-", "--log-level", "warning",
                    # Longer than the 2 s poll interval: with gunicorn's default of 2 s, an idle keep-alive
                    # connection closes just as the next poll is sent (ECONNRESET on the client, not an app error).
                    "--keep-alive", "10",
                ],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        wait_until_up(f"{host}/accounts/login/", gunicorn)
        print(f"== gunicorn: {args.workers} workers × {args.threads} threads on {host}", flush=True)

        locust_env = {**env, **load_env}
        total_errors = 0
        mixed = run_locust("mixed", "OperatorUser", args.users, 5, args.duration, host, locust_env)
        errors, p95s = print_table("mixed", mixed, args.duration)
        total_errors += errors
        polls = run_locust("pollers", "PollerUser", args.pollers, 50, args.poll_duration, host, locust_env)
        errors_p, p95_polls = print_table("pollers", polls, args.poll_duration)
        total_errors += errors_p

        print("\n== verdict")
        slow = {k: v for k, v in p95s.items() if k in TARGETED and v >= TARGET_MS}
        if slow:
            print(f"   target MISSED with {args.users} users: p95 ≥ {TARGET_MS} ms for {slow}")
        else:
            shown = ", ".join(f"{k} {v:.0f} ms" for k, v in p95s.items() if k in TARGETED)
            print(f"   target met with {args.users} users: p95 < {TARGET_MS} ms ({shown})")
        print(f"   {args.pollers} pollers: p95 of polls {p95_polls.get('run log poll', 0):.0f} ms")
        print(f"   errors: {total_errors}   (total {time.monotonic() - started:.0f} s; logs in {OUT})")
        return 1 if total_errors else 0
    finally:
        stop(gunicorn)
        if not args.keep_db:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:
                pass
            drop_database(args.database_url)


if __name__ == "__main__":
    sys.exit(main())
