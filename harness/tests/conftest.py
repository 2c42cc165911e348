"""Fixtures shared by every uvmlab integration test.

`lab_results` gives each test its own results root and, whatever happens in
the test, tears down every run the test started (`uvmlab down --all`), keeps
the run folders of failed tests under build/test-results/, and asserts that
nothing was left behind.
"""
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


def writes_under(run_id, results):
    """Whether live run RUN_ID records its results under RESULTS (its state.json says)."""
    import json
    try:
        st = json.loads((Path(lab.RUN_ROOT) / run_id / "state.json").read_text())
    except (OSError, ValueError):
        return False
    return str(st.get("results_dir", "")).startswith(str(results) + os.sep)


@pytest.fixture
def lab_results(request, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    before = set(lab.run_id_dirs())
    yield results
    # Tear down whatever this test started, even if it failed half way; runs
    # that others started on this machine meanwhile are not ours to stop.
    started = {rid for rid in set(lab.run_id_dirs()) - before if writes_under(rid, results)}
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
