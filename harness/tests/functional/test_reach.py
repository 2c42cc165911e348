"""Reach checks judged at both ends: a listener in the target, a probe from the source."""
import json

import pytest

from framework.lab import leftovers, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots


def rows_of(res):
    return {c["name"]: c for c in res["checks"]}


def test_reach_allowed_and_blocked_with_evidence_from_both_ends(lab_results):
    r = uvmlab("run", scenario("reach"), results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    rows = rows_of(res)
    assert {n: c["verdict"] for n, c in rows.items()} == {
        "tcp-a-to-b": "pass", "udp-a-to-b": "pass", "icmp-a-to-b": "pass",
        "tcp-a-to-c": "pass", "udp-a-to-c": "pass", "icmp-a-to-c": "pass"}

    tcp = rows["tcp-a-to-b"]
    assert tcp["evidence"] == ("tcp 198.18.30.2:8080 from a: handshake, token echoed; "
                               "b saw token from 198.18.30.1"), tcp
    assert tcp["source_saw"]["connect"] == "handshake" and tcp["source_saw"]["echo"] == "token"
    assert tcp["target_saw"]["token_from"] == "198.18.30.1"
    assert tcp["target_saw"]["token_from_source"] >= 1 and tcp["target_saw"]["self_probe_ok"]
    assert tcp["target_saw"]["complete"], tcp

    udp = rows["udp-a-to-b"]
    assert udp["evidence"].startswith("udp 198.18.30.2:5353 from a: sent, token echoed; "
                                      "b saw token from 198.18.30.1"), udp
    assert udp["target_saw"]["token_from"] == "198.18.30.1"

    icmp = rows["icmp-a-to-b"]
    assert "echo reply; b counted" in icmp["evidence"] and "echo request" in icmp["evidence"], icmp
    assert icmp["target_saw"]["echo_requests"] >= 1

    # blocked: the target's listener was proven by its self-probe and saw nothing
    for name, proto in (("tcp-a-to-c", "tcp"), ("udp-a-to-c", "udp")):
        row = rows[name]
        assert row["evidence"].startswith(f"{proto} 198.18.31.1:"), row
        assert "c saw nothing in" in row["evidence"] and "(self-probe ok)" in row["evidence"], row
        assert row["source_saw"]["connect"] in ("unreachable", "timeout", "refused", "sent"), row
        assert row["source_saw"]["echo"] == "none"
        tgt = row["target_saw"]
        assert tgt["self_probe_ok"] and tgt["listening"] and tgt["complete"], row
        assert tgt["token_from_source"] == 0 and tgt["token_from_other"] == 0, row
    icmp = rows["icmp-a-to-c"]
    assert "no reply; c counted no echo request" in icmp["evidence"], icmp
    assert icmp["target_saw"]["echo_requests"] == 0
    assert not leftovers(run_dir.name)


@pytest.mark.parametrize("mutant,failing,says", [
    ("mutants/reach-tcp-allowed-claim", "a-tcp-to-c", "c saw nothing"),
    ("mutants/reach-tcp-blocked-claim", "a-tcp-to-b", "b saw token from 198.18.30.1"),
    ("mutants/reach-udp-allowed-claim", "a-udp-to-c", "c saw nothing"),
    ("mutants/reach-udp-blocked-claim", "a-udp-to-b", "b saw token from 198.18.30.1"),
])
def test_false_reach_claims_are_caught(lab_results, mutant, failing, says):
    r = uvmlab("run", scenario(mutant), results=lab_results)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    assert res["verdict"] == "fail"
    rows = rows_of(res)
    assert [n for n, c in rows.items() if c["verdict"] == "fail"] == [failing]
    assert says in rows[failing]["evidence"], rows[failing]
    assert failing in r.out and "FAIL" in r.out
    assert not leftovers(run_dir.name)


def test_listener_that_cannot_start_is_a_lab_error(lab_results):
    """The target's port is taken: no verdict from silence, exit 3, never a pass."""
    r = uvmlab("up", scenario("mutants/reach-tcp-blocked-claim"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        e = uvmlab("exec", "--run", run_id, "b", "--", "sh", "-c",
                   "uvmlab-xfer recv --tcp 198.18.30.2:8080 --timeout 300 >/dev/null 2>&1 &")
        assert e.code == 0, str(e)
        c = uvmlab("check", "--run", run_id)
        assert c.code == 3, str(c)
        with open(lab_results / run_id / "check-1" / "result.json") as f:
            row = rows_of(json.load(f))["a-tcp-to-b"]
        assert row["verdict"] == "error", row
        assert "listener in b did not start (bind EADDRINUSE)" in row["evidence"], row
        assert row["target_saw"]["listening"] is False
    finally:
        uvmlab("down", run_id, check_code=0)
    assert leftovers(run_id) == []
