"""uvmlab-flowctl: the host-side eBPF flow recorder, on a real lab's taps."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from framework.lab import BUILD, RUN_ROOT, leftovers, scenario, uvmlab

FLOWCTL = str(BUILD / "uvmlab-flowctl")
PING_N = 3
# busybox ping's default: 56 data bytes + ICMP 8 + IPv4 20 + Ethernet 14.
PING_FRAME = 14 + 20 + 8 + 56


@pytest.fixture
def flowctl():
    if not os.path.exists(FLOWCTL):
        pytest.fail(f"{FLOWCTL} is not built: run `make`")
    return FLOWCTL


def run(*args, timeout=60):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_usage_and_lab_errors(flowctl):
    assert run(flowctl).returncode == 2
    assert run(flowctl, "record", "--seconds", "soon").returncode == 2
    assert run(flowctl, "record", "--ns-pid", "0").returncode == 2
    h = run(flowctl, "--help")
    assert h.returncode == 0 and "exit status" in h.stdout
    # A missing interface or namespace is a lab failure (3), said in one line.
    r = run("unshare", "-n", flowctl, "record", "--seconds", "1", "nosuch0")
    assert r.returncode == 3, r
    assert "attach nosuch0: no such interface in this network namespace" in r.stderr
    r = run(flowctl, "record", "--ns-pid", "2147483647", "--seconds", "1", "x")
    assert r.returncode == 3, r
    assert "network namespace of pid 2147483647" in r.stderr


def guest_ipv4(run_id, vm):
    out = uvmlab("exec", "--run", run_id, vm, "--", "ip", "-o", "-4", "addr", "show", "eth0",
                 check_code=0).out
    return re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out).group(1)


def guest_mac(run_id, vm):
    out = uvmlab("exec", "--run", run_id, vm, "--", "cat", "/sys/class/net/eth0/address",
                 check_code=0).out
    return out.strip()


def flows_where(flows, **want):
    return [f for f in flows if all(f.get(k) == v for k, v in want.items())]


@pytest.mark.boots
def test_records_ping_between_vms(flowctl, lab_results):
    # --no-flows: `up` records flows itself (for `uvmlab check`), on the same
    # tc hook and priority; this test is about flowctl alone on the taps.
    r = uvmlab("up", "--no-flows", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    with open(f"{RUN_ROOT}/{run_id}/state.json") as f:
        sup = json.load(f)["supervisor"]["pid"]
    a_ip, b_ip = guest_ipv4(run_id, "a"), guest_ipv4(run_id, "b")
    a_mac, b_mac = guest_mac(run_id, "a"), guest_mac(run_id, "b")

    # vm0n0 is a's tap, vm1n0 b's (taps are named by VM and NIC order).
    rec = subprocess.Popen([flowctl, "record", "--ns-pid", str(sup), "--seconds", "0",
                            "vm0n0", "vm1n0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        line = rec.stderr.readline()  # the recorder says when it is attached
        assert "recording" in line, line + rec.stderr.read()
        p = uvmlab("exec", "--run", run_id, "a", "--", "ping", "-c", PING_N, b_ip)
        assert p.code == 0, str(p)
    finally:
        rec.send_signal(signal.SIGTERM)
        out, err = rec.communicate(timeout=30)
    assert rec.returncode == 0, err
    lines = [json.loads(l) for l in out.splitlines()]
    summary = lines[-1]
    flows = [l for l in lines if l["type"] == "flow"]
    assert summary["type"] == "summary" and summary["flows"] == len(flows)
    assert summary["drops"] == 0

    echo = dict(family="ipv4", proto=1, sport=8, dport=0, src=a_ip, dst=b_ip,
                src_mac=a_mac, dst_mac=b_mac)
    reply = dict(family="ipv4", proto=1, sport=0, dport=0, src=b_ip, dst=a_ip,
                 src_mac=b_mac, dst_mac=a_mac)
    # a sends on its tap (ingress there), the bridge delivers on b's tap (egress).
    for ifname, direction, what in (("vm0n0", "ingress", echo), ("vm1n0", "egress", echo),
                                    ("vm1n0", "ingress", reply), ("vm0n0", "egress", reply)):
        hit = flows_where(flows, ifname=ifname, dir=direction, **what)
        assert len(hit) == 1, (ifname, direction, what, flows)
        assert hit[0]["packets"] == PING_N and hit[0]["bytes"] == PING_N * PING_FRAME, hit
    # Nothing of the echo went the wrong way.
    assert flows_where(flows, ifname="vm0n0", dir="egress", **echo) == []

    # Detached on exit: no clsact qdisc left on the lab's links.
    q = run("nsenter", f"--net=/proc/{sup}/ns/net", "tc", "qdisc", "show")
    assert q.returncode == 0, q
    assert "clsact" not in q.stdout, q.stdout
    uvmlab("down", run_id, check_code=0)
    assert leftovers(run_id) == []
