"""The simulation of issue 21 (DESIGN §4.10), on SQLite (`make test`) and PostgreSQL alike.

- In `make test` / CI: a fixed budget (SIM_CI_EXAMPLES sequences of at most SIM_CI_STEPS steps, derandomized:
  the same sequences every run), no shrinking.
- `make simulate` (SIM_EXAMPLES, SIM_STEPS, SIM_SECONDS): random sequences for as long as asked, each failure
  shrunk to its shortest sequence and printed; the summary line says how many sequences, steps and invariant
  checks ran and how many failures were found.
"""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.simulation.machine import STATS, MirrorMachine

pytestmark = pytest.mark.django_db(transaction=True)

SIMULATE = any(os.environ.get(name) for name in ("SIM_EXAMPLES", "SIM_SECONDS"))
CI_EXAMPLES = int(os.environ.get("SIM_CI_EXAMPLES", "40"))
CI_STEPS = int(os.environ.get("SIM_CI_STEPS", "40"))


@pytest.mark.skipif(SIMULATE, reason="make simulate runs test_simulate instead")
def test_the_mirror_stays_exact_whatever_operators_usgs_clocks_and_faults_do(simulation):
    budget = settings(
        max_examples=CI_EXAMPLES,
        stateful_step_count=CI_STEPS,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    try:
        run_state_machine_as_test(MirrorMachine, settings=budget)
    except BaseException as exc:
        STATS.failures.append(_report(exc))
        raise


@pytest.mark.skipif(not SIMULATE, reason="make simulate: set SIM_EXAMPLES or SIM_SECONDS")
def test_simulate(simulation):
    examples = int(os.environ.get("SIM_EXAMPLES") or 0) or None
    steps = int(os.environ.get("SIM_STEPS") or 30)
    seconds = float(os.environ.get("SIM_SECONDS") or 0) or None
    deadline = None if seconds is None else time.monotonic() + seconds
    started = STATS.sequences
    while True:
        done = STATS.sequences - started
        if examples is not None and done >= examples:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        chunk = 10 if examples is None else min(10, examples - done)
        budget = settings(
            max_examples=chunk,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        try:
            run_state_machine_as_test(MirrorMachine, settings=budget)
        except Exception as exc:  # noqa: BLE001 - counted and printed; the next round searches on
            STATS.failures.append(_report(exc))
    assert not STATS.failures, f"{len(STATS.failures)} failing sequences (printed in the summary)"


def _report(exc: BaseException) -> str:
    notes = "\n".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {exc}\n{notes}"
