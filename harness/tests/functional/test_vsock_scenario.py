"""scenarios/vsock.yaml through uvmlab: transfers verified at both ends, siblings by policy."""
import pytest

from framework.lab import leftovers, result_of, scenario, uvmlab

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
