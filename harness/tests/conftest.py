"""Fixtures shared by every uvmlab integration test.

`lab_results` gives each test its own results root and, whatever happens in
the test, tears down every run the test started (`uvmlab down --all`), keeps
the run folders of failed tests under build/test-results/, and asserts that
nothing was left behind.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from framework import lab  # noqa: E402


def pytest_configure(config):
    if not os.path.exists(lab.UVMLAB):
        raise pytest.UsageError(f"{lab.UVMLAB} is not built: run `make` first")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def lab_results(request, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    before = set(lab.run_id_dirs())
    yield results
    # Tear down whatever this test started, even if it failed half way; never
    # the runs of another test session on the same host.
    started = lab.runs_writing_to(results, set(lab.run_id_dirs()) - before)
    for rid in started:
        subprocess.run([lab.UVMLAB, "down", rid], capture_output=True, timeout=60)
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        keep = lab.BUILD / "test-results" / request.node.name
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(results, keep, dirs_exist_ok=True)
        print(f"run folders of the failed test kept in {keep}")
    for rid in started:
        assert not lab.leftovers(rid), lab.leftovers(rid)
    # Containment, observed in every run: no link to the host's namespace and
    # no frame toward an address outside the lab and TEST-NET ranges at the
    # lab's egress, unless the test breaks it on purpose.
    on_purpose = request.node.get_closest_marker("breaches_containment") is not None
    breaches = _containment_tally(results, on_purpose)
    if not on_purpose:
        assert not breaches, f"containment breached: {breaches}"


CONTAINMENT = {"runs": 0, "egress_runs": 0, "packets": 0, "outside": 0, "on_purpose": 0}


def _containment_tally(results, on_purpose):
    """Add the containment records of every run under RESULTS to the session's
    tally; return the breached ones as (run, record) pairs. Outside packets
    of tests that breach on purpose are counted apart."""
    breached = []
    for run in sorted(p for p in Path(results).iterdir() if p.is_dir()):
        rec = None
        if (run / "containment.json").exists():
            rec = json.loads((run / "containment.json").read_text())
        elif (run / "result.json").exists():
            rec = json.loads((run / "result.json").read_text()).get("containment")
        if not rec:
            continue
        CONTAINMENT["runs"] += 1
        if rec.get("egress_points"):
            CONTAINMENT["egress_runs"] += 1
        CONTAINMENT["packets"] += rec.get("packets", 0)
        CONTAINMENT["on_purpose" if on_purpose else "outside"] += rec.get("outside_packets", 0)
        if rec.get("verdict") != "contained":
            breached.append((run.name, rec))
    return breached


def pytest_terminal_summary(terminalreporter):
    c = CONTAINMENT
    if c["runs"]:
        terminalreporter.write_line(
            f"containment: {c['runs']} run(s) checked for links to the host's namespace; "
            f"{c['egress_runs']} with an egress recorded, {c['packets']} packet(s) there, "
            f"{c['outside']} toward addresses outside the lab and TEST-NET ranges"
            + (f" ({c['on_purpose']} more sent on purpose by tests that breach it)"
               if c["on_purpose"] else ""))


def kvm_boots():
    """Whether uvmlab's own probe says guests boot under KVM here."""
    cache = Path(lab.RUN_ROOT) / "accel-probe.json"
    if not cache.exists():
        return None
    import json
    return json.loads(cache.read_text()).get("kvm")


def pytest_collection_modifyitems(config, items):
    if os.path.exists("/dev/kvm") and kvm_boots():
        return
    why = ("no /dev/kvm" if not os.path.exists("/dev/kvm") else
           "uvmlab's KVM probe guest does not boot here (e.g. a PVM host); runs use TCG")
    for item in items:
        if "requires_kvm" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=why))
