"""uvmlab check: the scenario's checks and the flow policy, judged in a lab kept up by `uvmlab up`."""
import json
import subprocess

import pytest

from framework.lab import leftovers, scenario, uvmlab

pytestmark = pytest.mark.boots


def our_bpf_programs():
    out = subprocess.run(["bpftool", "prog", "show"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "flow" in l]


def check_result(results, run_id, n):
    with open(results / run_id / f"check-{n}" / "result.json") as f:
        return json.load(f)


def test_check_a_live_lab_twice(lab_results):
    r = uvmlab("up", scenario("routed"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        c = uvmlab("check", "--run", run_id)
        assert c.code == 0, str(c)
        assert "router-forwards" in c.out and "flow-policy" in c.out and "PASS" in c.out
        assert not c.out.rstrip().endswith("exit 0"), "the protocol's last line is not printed"
        first = check_result(lab_results, run_id, 1)
        verdicts = {row["name"]: row["verdict"] for row in first["checks"]}
        assert verdicts == {"alice-reaches-bob": "pass", "bob-reaches-alice": "pass",
                            "alice-not-hermit": "pass", "router-forwards": "pass",
                            "flow-policy": "pass"}
        # agents are free again for exec between checks
        e = uvmlab("exec", "--run", run_id, "alice", "--", "ping", "-c", "3", "198.18.11.2")
        assert e.code == 0, str(e)
        c2 = uvmlab("check", "--run", run_id)
        assert c2.code == 0, str(c2)
        second = check_result(lab_results, run_id, 2)
        # the recorder stayed attached: counts only grow, and the exec's pings are in
        pk = lambda res: res["flow_matrix"]["alice->bob icmp"]["packets"]
        assert pk(second) >= pk(first) + 3, (pk(first), pk(second))
    finally:
        uvmlab("down", run_id, check_code=0)
    assert our_bpf_programs() == []
    assert leftovers(run_id) == []


def test_check_since_last_judges_only_new_flows(lab_results):
    """A forbidden flow fails every plain check after it, and only the first
    --since-last check after it."""
    r = uvmlab("up", scenario("routed"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        c = uvmlab("check", "--run", run_id, "--since-last")  # the first: all since up
        assert c.code == 0, str(c)
        assert check_result(lab_results, run_id, 1)["flows_since"] == "up"
        # bob <-> router is in no rule of routed.yaml's policy
        e = uvmlab("exec", "--run", run_id, "bob", "--", "ping", "-c", "2", "198.18.11.1")
        assert e.code == 0, str(e)
        c = uvmlab("check", "--run", run_id, "--since-last")
        assert c.code == 1 and "bob -> router icmp" in c.out, str(c)
        assert "flows since check #1" in c.out, str(c)
        second = check_result(lab_results, run_id, 2)
        assert second["flows_since"] == "check-1"
        assert second["flow_matrix"]["bob->router icmp"]["packets"] == 2
        # nothing forbidden since check #2, though the checks ran again
        c = uvmlab("check", "--since-last", "--run", run_id)
        assert c.code == 0, str(c)
        third = check_result(lab_results, run_id, 3)
        assert "bob->router icmp" not in third["flow_matrix"]
        assert third["flow_matrix"]["alice->bob icmp"]["packets"] > 0
        # a plain check still judges everything since up
        c = uvmlab("check", "--run", run_id)
        assert c.code == 1 and "bob -> router icmp" in c.out, str(c)
        fourth = check_result(lab_results, run_id, 4)
        assert fourth["flows_since"] == "up"
        pk = lambda res: res["flow_matrix"]["alice->bob icmp"]["packets"]
        assert pk(fourth) > pk(third) and pk(fourth) >= pk(check_result(lab_results, run_id, 1)) + pk(third)
    finally:
        uvmlab("down", run_id, check_code=0)
    assert leftovers(run_id) == []


def test_check_catches_a_forbidden_peer_in_a_live_lab(lab_results):
    """Expected failure: the mutant's policy forbids what its checks make happen (exit 1)."""
    r = uvmlab("up", scenario("mutants/routed-forbidden-peer"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        c = uvmlab("check", "--run", run_id)
        assert c.code == 1, str(c)
        assert "alice -> bob icmp" in c.out or "bob -> alice icmp" in c.out
        assert "FAIL" in c.out
    finally:
        uvmlab("down", run_id, check_code=0)
    assert leftovers(run_id) == []


def test_check_without_a_lab_is_a_usage_error():
    c = uvmlab("check", "--run", "no-such-run")
    assert c.code == 2 and "no such run" in c.err, str(c)
    c = uvmlab("check", "extra")
    assert c.code == 2 and "no arguments" in c.err, str(c)
