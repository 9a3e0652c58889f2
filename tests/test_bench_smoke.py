"""The benchmark scripts still run end to end (tiny sizes; the figures themselves are not checked here)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.postgres

SMALL = {
    "admin_list": ["--rows", "3000", "--repeat", "2"],
    "search": ["--n", "600", "--repeat", "2"],
    "poll": ["--lines", "20000", "--stations", "5", "--repeat", "3"],  # the polled run has 10,000 lines
    "chart": ["--values", "3000", "--repeat", "2"],
    "ingest": ["--stations", "2", "--days", "1500", "--continuous-values", "3000"],
    "memory": ["--years", "0.1", "--stations", "3"],
    "api_values": ["--values", "5000"],
    "commit_phase": ["--smoke"],
    "quality": ["--stations", "3", "--rollup-days", "400", "--daily-days", "800", "--continuous-values", "3000",
                "--repeat", "2", "--goal-stations", "2", "--goal-years", "1"],
}  # fmt: skip
# What each prints once it has measured everything.
FIGURES = {
    "admin_list": "says: ",
    "search": "p95",
    "poll": "p95",
    "chart": "p95",
    "ingest": "x bulk_create (target >= 3)",
    "memory": "< 400 MB: met",
    "api_values": "goal: every value",
    "commit_phase": "flat in the stage size",
    "quality": "goal p95",
}


@pytest.fixture
def bench_database():
    db = settings.DATABASES["default"]
    name = f"sf_bench_smoke_{uuid.uuid4().hex[:8]}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
    yield url
    admin = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    with psycopg.connect(admin, autocommit=True, password=db.get("PASSWORD") or None) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("script", sorted(SMALL))
def test_the_benchmark_runs_and_prints_its_figures(script, bench_database):
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-smoke-key")}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, f"bench/{script}.py", "--database-url", bench_database, *SMALL[script]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert FIGURES[script] in result.stdout
