"""IPv6 link-local between VMs is judged by the flow policy, and no host-side link talks IPv6."""
import json
import re
import time
from pathlib import Path

import pytest

from framework.lab import RUN_ROOT, leftovers, uvmlab

pytestmark = pytest.mark.boots

SCENARIO = Path(__file__).parent / "data" / "ipv6-default-deny.yaml"


def link_local_of(mac):
    """The EUI-64 fe80:: address the kernel derives from MAC."""
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 0x02
    eui = b[:3] + [0xff, 0xfe] + b[3:]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


def repliers(out):
    return {a.rstrip(":") for a in re.findall(r"bytes from (fe80::[0-9a-f:]+)", out)}


def ping6_all_nodes(run_id, vm, want):
    """ping -6 ff02::1 from VM until WANT answered (link-local addresses need DAD first)."""
    deadline = time.monotonic() + 60
    while True:
        e = uvmlab("exec", "--run", run_id, vm, "--", "ping", "-6", "-c2", "-W2", "ff02::1%eth0")
        if (e.code == 0 and want in repliers(e.out)) or time.monotonic() > deadline:
            return e
        time.sleep(1)


def test_ipv6_link_local_ping_is_a_violation_and_only_vms_answer(lab_results):
    r = uvmlab("up", SCENARIO, results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        with open(Path(RUN_ROOT) / run_id / "state.json") as f:
            results_dir = Path(json.load(f)["results_dir"])
        mac_b = uvmlab("exec", "--run", run_id, "b", "--", "cat", "/sys/class/net/eth0/address",
                       check_code=0).out.strip()
        e = ping6_all_nodes(run_id, "a", link_local_of(mac_b))
        assert e.code == 0, str(e)
        c = uvmlab("check", "--run", run_id)
        with open(results_dir / "check-1" / "result.json") as f:
            res = json.load(f)
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
    macs = {v["name"]: v["nics"][0]["mac"] for v in res["vms"]}
    vm_addrs = {link_local_of(m) for m in macs.values()}
    # b answered; nothing else did: no bridge, tap or veth of the lab
    assert link_local_of(macs["b"]) in repliers(e.out), e.out
    assert repliers(e.out) <= vm_addrs, f"host-side links answered: {repliers(e.out) - vm_addrs}"
    # the echo and its replies between a and b are judged, and forbidden
    assert c.code == 1, str(c)
    policy = next(row for row in res["checks"] if row["name"] == "flow-policy")
    assert policy["verdict"] == "fail", policy
    m = res["flow_matrix"]
    assert m["a->b icmpv6"]["verdict"] == "violation", m
    assert m["b->a icmpv6"]["verdict"] == "violation", m
    # neighbour discovery and MLD stay plumbing
    control = [f for f in res["flows"] if f["proto"] == "icmpv6" and f["src_port"] in (133, 135, 136, 143)]
    assert all(f["verdict"] == "control" for f in control), control
