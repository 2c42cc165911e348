"""The eBPF flow recorder in runs: flow matrix, policy verdicts, mutation, clean unload."""
import subprocess

import pytest

from framework.lab import leftovers, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots


def our_bpf_programs():
    out = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "flow" in l]


def test_routed_flows_match_policy(lab_results):
    r = uvmlab("run", scenario("routed"), results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    matrix = res["flow_matrix"]
    pairs = {(c["from"], c["to"], c["proto"]): c for c in matrix.values()}
    assert ("alice", "bob", "icmp") in pairs and ("bob", "alice", "icmp") in pairs
    assert all(c["verdict"] == "allowed" for c in matrix.values()), matrix
    assert all(c["packets"] > 0 and c["bytes"] > 0 for c in matrix.values())
    policy = [c for c in res["checks"] if c["name"] == "flow-policy"]
    assert policy and policy[0]["verdict"] == "pass"
    # flows are recorded per port and direction, with addresses and counters
    f = next(f for f in res["flows"] if f["src_endpoint"] == "alice" and f["dst_endpoint"] == "bob"
             and f["dir"] == "to-vm" and f["vm"] == "bob")
    assert f["port"].startswith("vm") and f["vm"] == "bob" and f["src"] == "198.18.10.2"
    assert our_bpf_programs() == []
    assert not leftovers(run_dir.name)


def test_forbidden_peer_is_caught(lab_results):
    r = uvmlab("run", scenario("mutants/routed-forbidden-peer"), results=lab_results)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    verdicts = {c["name"]: c["verdict"] for c in res["checks"]}
    assert verdicts == {"alice-reaches-bob": "pass", "flow-policy": "fail"}
    # the first violation named may be either direction (table order)
    assert "alice -> bob icmp" in r.out or "bob -> alice icmp" in r.out
    bad = [c for c in res["flow_matrix"].values() if c["verdict"] == "violation"]
    assert {(c["from"], c["to"]) for c in bad} == {("alice", "bob"), ("bob", "alice")}
    # protocols by name in the evidence; the number beside the name in each flow
    ev = next(c["evidence"] for c in res["checks"] if c["name"] == "flow-policy")
    assert "(icmp)" in ev and "proto 1" not in ev, ev
    icmp = [f for f in res["flows"] if f["proto"] == "icmp"]
    assert icmp and all(f["l4proto"] == 1 for f in icmp)
    assert our_bpf_programs() == []
    assert not leftovers(run_dir.name)


def test_guest_probe_load_failure_is_a_lab_error(lab_results):
    """The guest probe cannot find the BTF it is pointed at: exit 3 naming it, nothing left."""
    r = uvmlab("run", scenario("routed"), results=lab_results,
               env={"UVMLAB_GUEST_BTF": "/nonexistent/vmlinux"})
    assert r.code == 3, str(r)
    assert 'vm "router": guest probe did not load' in r.err and "/nonexistent/vmlinux" in r.err, r.err
    assert len([l for l in r.err.splitlines() if "guest probe" in l]) == 1, r.err
    res, run_dir = result_of(lab_results)
    assert res["verdict"] == "lab-error"
    assert not leftovers(run_dir.name)


def test_recorder_load_failure_is_a_lab_error(lab_results, tmp_path):
    r = uvmlab("run", scenario("pair"), results=lab_results,
               env={"UVMLAB_KERNEL_BTF": str(tmp_path / "no-btf")})
    assert r.code == 3, str(r)
    assert "flow recorder:" in r.err and "no-btf" in r.err
    assert our_bpf_programs() == []
