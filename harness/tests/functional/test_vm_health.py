"""A VM that dies or hangs after its own checks fails the run (exit 3), named with what was found."""
import json
import os
import signal
from pathlib import Path

import pytest

from framework.lab import RUN_ROOT, leftovers, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots


@pytest.mark.parametrize("fault,state,why", [
    ("KILL", "dead", "died: killed by signal 9"),
    ("STOP", "hung", "is stopped"),
])
def test_run_notices_a_vm_lost_after_its_checks(lab_results, fault, state, why):
    # the checks of pair.yaml all pass; then b's QEMU is killed or stopped
    r = uvmlab("run", scenario("pair"), results=lab_results,
               env={"UVMLAB_TEST_FAULT_AFTER_CHECKS": f"b:{fault}"})
    assert r.code == 3, str(r)
    res, run_dir = result_of(lab_results)
    assert res["verdict"] == "lab-error" and res["exit_code"] == 3
    assert [c["verdict"] for c in res["checks"]] == ["pass", "pass"]
    vms = {v["name"]: v for v in res["vms"]}
    assert vms["a"]["state"] == "ready"
    assert vms["b"]["state"] == state, vms["b"]
    assert why in vms["b"]["state_reason"]
    assert f'vm "b" is {state} after the checks' in res["error"]
    assert f'vm "b" is {state}' in r.err and "LAB FAILURE" in r.out
    assert not leftovers(run_dir.name)


def qemu_pid(run_id, vm):
    with open(Path(RUN_ROOT) / run_id / "state.json") as f:
        return next(v["pid"] for v in json.load(f)["vms"] if v["name"] == vm)


@pytest.mark.parametrize("sig,state", [(signal.SIGKILL, "dead"), (signal.SIGSTOP, "hung")])
def test_check_names_a_vm_lost_in_a_live_lab(lab_results, sig, state):
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        pid = qemu_pid(run_id, "b")
        os.kill(pid, sig)
        c = uvmlab("check", "--run", run_id)
        assert c.code == 3, str(c)
        assert f'vm "b" is {state}' in c.out, str(c)
        with open(lab_results / run_id / "check-1" / "result.json") as f:
            res = json.load(f)
        vms = {v["name"]: v for v in res["vms"]}
        assert vms["b"]["state"] == state and vms["a"]["state"] == "ready", res["vms"]
        # the first check that needs b names it, not the transport's errno
        first = res["checks"][0]
        assert first["name"] == "a-reaches-b" and first["verdict"] == "error", first
        assert f'vm "b" is {state}' in first["evidence"], first
        assert "Connection reset" not in c.out
        assert res["verdict"] == "lab-error"
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
