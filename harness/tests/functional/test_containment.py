"""Containment observed from the lab's side, not assumed.

uvmlab checks at up and at down that no link of a lab namespace has its peer
in the host's namespace, and records every frame at the lab's egress (the
veth toward the fake internet) with a tc flow recorder of its own: one frame
toward an address outside the lab and TEST-NET ranges is a breach (`run`
exits 1, `down` exits 1). The conftest tallies the containment records of
every run of the session and fails a test whose run breached unexpectedly;
scenarios/mutants/containment-outside-fetch.yaml is the `run` mutant.
"""
import json
import subprocess
from pathlib import Path

import pytest

from framework.lab import RUN_ROOT, leftovers, scenario, uvmlab

pytestmark = [pytest.mark.boots, pytest.mark.breaches_containment]

INTERNET = Path(scenario("mutants/plain-router-fetch"))


def _containment(results, run_id):
    return json.loads((results / run_id / "containment.json").read_text())


def test_up_down_contained_then_breached(lab_results):
    """A fetch of the fake internet's web server stays inside; a connection
    attempt toward 100.64.0.1 (shared address space, routed nowhere: the
    fake internet's namespace has no way out) is seen at the egress and
    fails `down`."""
    r = uvmlab("up", INTERNET, results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        uvmlab("exec", "--run", run_id, "work", "--", "wget", "-q", "-O", "/dev/null",
               "http://203.0.113.80/", timeout=120, check_code=0)
    finally:
        d = uvmlab("down", run_id)
    assert d.code == 0, str(d)
    rec = _containment(lab_results, run_id)
    assert rec["verdict"] == "contained", rec
    assert rec["recorded"] is True and rec["egress_points"] == ["inet0"], rec
    # the path could carry traffic: the page's packets crossed it
    assert rec["inside_packets"]["internet"] > 0, rec
    assert rec["outside_packets"] == 0 and rec["host_peers"] == [], rec
    assert "containment: contained" in d.out, d.out
    assert leftovers(run_id) == []

    r = uvmlab("up", INTERNET, results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        e = uvmlab("exec", "--run", run_id, "work", "--", "timeout", "5", "wget", "-q", "-O",
                   "/dev/null", "http://100.64.0.1/", timeout=120)
        assert e.code != 0, str(e)  # nothing answers there
    finally:
        d = uvmlab("down", run_id)
    assert d.code == 1, str(d)
    assert "containment: breached" in d.out, d.out
    rec = _containment(lab_results, run_id)
    assert rec["verdict"] == "breached" and rec["outside_packets"] > 0, rec
    assert any(o["dst"] == "100.64.0.1" and o["dir"] == "out" and o["dst_port"] == 80
               for o in rec["outside"]), rec["outside"]
    assert leftovers(run_id) == []


def test_link_to_the_host_is_found_at_down(lab_results):
    """A veth whose other end is in the host's namespace, slipped into a live
    lab's namespace from outside, is named at down."""
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    host_end, lab_end = "uvct0", "uvct1"
    try:
        sup = _supervisor(run_id)
        subprocess.run(["ip", "link", "add", host_end, "type", "veth", "peer", "name", lab_end],
                       check=True)
        subprocess.run(["ip", "link", "set", lab_end, "netns", f"/proc/{sup}/ns/net"],
                       check=True)
    finally:
        d = uvmlab("down", run_id)
        # the lab's namespace took its end along; ours goes with it
        subprocess.run(["ip", "link", "del", host_end], capture_output=True)
    assert d.code == 1, str(d)
    rec = _containment(lab_results, run_id)
    assert rec["verdict"] == "breached", rec
    assert rec["host_peers"] == [{"link": lab_end, "kind": "veth",
                                  "namespace": "the run's namespace"}], rec
    assert "1 link(s) peered with the host's namespace" in d.out, d.out
    assert leftovers(run_id) == []


def _supervisor(run_id):
    return json.loads((Path(RUN_ROOT) / run_id / "state.json").read_text())["supervisor"]["pid"]
