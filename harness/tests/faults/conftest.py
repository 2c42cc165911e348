"""The fault suite's seed, its plan of faults, the sample, and the tally.

UVMLAB_FAULT_SEED (default: random) decides every random choice: which
signal, how long after the start, which cases the sample keeps. It is
printed at the start and in the summary, so a failure replays with
UVMLAB_FAULT_SEED=S. UVMLAB_FAULT_SAMPLE=N keeps N cases, chosen by the
seed round-robin across kinds (the bounded sample `make test` runs).
"""
import sys

import pytest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))

from tally import INJECTED, RECOVERED, SAMPLE, SEED  # noqa: E402


def pytest_report_header(config):
    return f"faults: seed {SEED} (replay with UVMLAB_FAULT_SEED={SEED})" + \
        (f", sample of {SAMPLE}" if SAMPLE else ", full set")


def pytest_generate_tests(metafunc):
    """Every fault test takes `case`: its own random source and parameters."""
    if "case" not in metafunc.fixturenames:
        return
    import plan
    kind = metafunc.function.__name__[len("test_"):]
    cases = [c for c in plan.cases_of(kind, SEED, SAMPLE) if c is not None]
    if not cases:
        metafunc.parametrize("case", [pytest.param(None, marks=pytest.mark.skip(
            reason=f"not in this sample (seed {SEED})"))], ids=[f"{kind}-unsampled"])
        return
    metafunc.parametrize("case", cases, ids=[c.id for c in cases])


def pytest_terminal_summary(terminalreporter):
    n, r = sum(INJECTED.values()), sum(RECOVERED.values())
    tr = terminalreporter
    tr.write_sep("-", "fault injection")
    for kind in sorted(INJECTED):
        tr.write_line(f"  {kind:<24} {INJECTED[kind]:>3} injected {RECOVERED[kind]:>3} recovered")
    tr.write_line(f"faults: {n} injected, {r} recovered, {len(INJECTED)} kinds (seed {SEED})")
