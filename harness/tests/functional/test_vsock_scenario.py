"""scenarios/vsock.yaml through uvmlab: transfers verified at both ends, siblings by policy."""
import json
import os
import signal
from pathlib import Path

import pytest

from framework.lab import RUN_ROOT, leftovers, processes_mentioning, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots


def test_vsock_scenario_transfers_and_refusal(lab_results):
    r = uvmlab("run", scenario("vsock"), results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    rows = {c["name"]: c for c in res["checks"]}
    assert set(rows) == {"host-to-a", "a-to-host", "a-to-b", "c-to-a-denied"}
    for name in ("host-to-a", "a-to-host", "a-to-b"):
        assert rows[name]["verdict"] == "pass", rows[name]
        assert "4194304 bytes" in rows[name]["evidence"] and "on both ends" in rows[name]["evidence"]
        assert rows[name]["throughput_mbps"] > 0
    assert rows["c-to-a-denied"]["verdict"] == "pass"
    assert "receiver got nothing" in rows["c-to-a-denied"]["evidence"]
    # every VM got a vhost-user-vsock device on shared memory, CIDs from the plan
    for vm in res["vms"]:
        argv = " ".join(vm["argv"])
        assert "vhost-user-vsock-device,chardev=vsock" in argv
        assert "memory-backend-memfd,id=mem" in argv and "share=on" in argv
    assert [vm["cid"] for vm in res["vms"]] == [3, 4, 5]
    assert (run_dir / "vsockd.log").exists()
    assert not leftovers(run_dir.name)


def test_vsock_mutant_without_allow_is_caught(lab_results):
    r = uvmlab("run", scenario("mutants/vsock-no-allow"), results=lab_results)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    assert [(c["name"], c["verdict"]) for c in res["checks"]] == [("a-to-b", "fail")]
    assert "a-to-b" in r.out
    assert not leftovers(run_dir.name)


def test_dead_vsock_backend_is_a_lab_failure_not_a_refusal(lab_results):
    """With uvmlab-vsockd killed, a blocked vsock check must not pass: exit 3 naming it."""
    r = uvmlab("up", scenario("vsock"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        pids = [p for p in processes_mentioning(f"{RUN_ROOT}/{run_id}/")
                if b"uvmlab-vsockd" in Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0]]
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)
        c = uvmlab("check", "--run", run_id)
        assert c.code == 3, str(c)
        assert f"vsock backend uvmlab-vsockd (pid {pids[0]}) died: killed by signal 9" in c.out, str(c)
        with open(lab_results / run_id / "check-1" / "result.json") as f:
            res = json.load(f)
        assert res["verdict"] == "lab-error"
        assert not [row for row in res["checks"] if row["verdict"] == "pass"], res["checks"]
        assert res["summary"]["errors"] >= 1
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
