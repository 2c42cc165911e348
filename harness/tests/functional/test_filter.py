"""Router filters: a scenario's filter: is in force in the router before its dependents start.

scenarios/segmented.yaml: alice and eve on the left network, bob on the right;
the router's filter lets alice reach bob and drops eve toward the right side.
"""
import pytest

from framework.lab import leftovers, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots

ALICE, EVE, BOB = "198.18.20.2", "198.18.20.3", "198.18.21.2"


def test_segmented_filter_is_in_force(lab_results):
    r = uvmlab("run", scenario("segmented"), results=lab_results)
    assert r.code in (0, 1), str(r)
    res, run_dir = result_of(lab_results)
    checks = {c["name"]: c for c in res["checks"]}
    verdicts = {n: c["verdict"] for n, c in checks.items()}
    assert verdicts["alice-bob-icmp"] == "pass", checks["alice-bob-icmp"]
    assert verdicts["eve-bob-icmp"] == "pass", checks["eve-bob-icmp"]  # expect: blocked
    assert "no reply; bob counted no echo request" in checks["eve-bob-icmp"]["evidence"]
    # the flow recorder: nothing of eve's was ever delivered to bob
    assert verdicts["flow-policy"] == "pass", checks["flow-policy"]
    assert "alice->bob icmp" in res["flow_matrix"]
    assert not [k for k in res["flow_matrix"] if k.startswith("eve->")], res["flow_matrix"]
    vms = {v["name"]: v for v in res["vms"]}
    f = vms["router"]["filter"]
    assert f["default"] == "drop" and f["rules"] == 2
    rs = f["ruleset"]  # read back from the router's kernel
    assert rs.startswith("table inet uvmlab_filter {"), rs
    assert "type filter hook forward priority filter; policy drop;" in rs
    assert "ct state established,related accept" in rs
    assert f'ip saddr {EVE} ip daddr 198.18.21.0/24 drop comment "rule 1 (line 19)"' in rs
    assert f'ip saddr {ALICE} ip daddr {BOB} accept comment "rule 2 (line 20)"' in rs
    assert rs.index("established,related") < rs.index("rule 1") < rs.index("rule 2")
    assert not any("filter" in v for n, v in vms.items() if n != "router")
    # a filtering router boots without forwarding, and the filter was in force
    # (forwarding on) before any of its dependents was started
    assert "uvmlab.forward=1" not in vms["router"]["kernel_cmdline"]
    applied_ns = vms["router"]["boot"]["qemu_exec_mono_ns"] + f["applied_ms"] * 1e6
    for dep in ("alice", "eve", "bob"):
        assert applied_ns < vms[dep]["boot"]["qemu_exec_mono_ns"], (dep, f["applied_ms"])
    assert not leftovers(run_dir.name)

    # tcp and udp judged at both ends: bob's listener got alice's token from
    # her address, and nothing of eve's while its self-probe showed it listening
    for name in ("alice-bob-tcp", "alice-bob-udp", "eve-bob-tcp", "eve-bob-udp"):
        assert verdicts[name] == "pass", checks[name]
    for name in ("alice-bob-tcp", "alice-bob-udp"):
        assert f"bob saw token from {ALICE}" in checks[name]["evidence"], checks[name]
    assert "token echoed" in checks["alice-bob-tcp"]["evidence"], checks["alice-bob-tcp"]
    for name in ("eve-bob-tcp", "eve-bob-udp"):
        ev = checks[name]["evidence"]
        assert "bob saw nothing" in ev and "self-probe ok" in ev, checks[name]
    assert r.code == 0 and res["verdict"] == "pass", str(r)


def test_segmented_without_filter_fails_naming_eve(lab_results):
    """Expected failure: the mutant has no filter, so eve reaches bob (exit 1)."""
    r = uvmlab("run", scenario("mutants/segmented-no-filter"), results=lab_results)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    assert res["verdict"] == "fail"
    checks = {c["name"]: c for c in res["checks"]}
    failed = {n for n, c in checks.items() if c["verdict"] == "fail"}
    assert checks["alice-bob-icmp"]["verdict"] == "pass"
    assert "eve-bob-icmp" in failed and "eve-bob-icmp" in r.out
    assert "flow-policy" in failed
    assert "eve" in checks["flow-policy"]["evidence"], checks["flow-policy"]
    assert "filter" not in {k for v in res["vms"] for k in v}
    assert "uvmlab.forward=1" in next(v for v in res["vms"] if v["name"] == "router")["kernel_cmdline"]
    assert not leftovers(run_dir.name)

    assert failed == {"eve-bob-icmp", "eve-bob-tcp", "eve-bob-udp", "flow-policy"}, failed
    for name in ("eve-bob-tcp", "eve-bob-udp"):
        assert name in r.out


def test_segmented_filter_in_a_live_lab(lab_results):
    """`uvmlab up` applies the same filter; tcp and udp checked by hand through exec."""
    r = uvmlab("up", scenario("segmented"), results=lab_results, check_code=0)
    run_id = r.out.strip()

    def ex(vm, *cmd, timeout=30):
        return uvmlab("exec", "--run", run_id, "--timeout", timeout, vm, "--", *cmd)

    try:
        nft = ex("router", "nft", "list", "table", "inet", "uvmlab_filter")
        assert nft.code == 0 and "policy drop" in nft.out and f"ip saddr {EVE}" in nft.out, str(nft)
        assert ex("router", "cat", "/proc/sys/net/ipv4/ip_forward").out.strip() == "1"
        # tcp: a listener in bob gets alice's bytes, never eve's
        for sender, ok in (("alice", True), ("eve", False)):
            got = f"/tmp/got-{sender}"
            ex("bob", "sh", "-c", f"setsid uvmlab-xfer recv --tcp 0.0.0.0:8080 --timeout 15 "
               f">{got} 2>&1 </dev/null &")
            s = ex(sender, "uvmlab-xfer", "send", "--tcp", f"{BOB}:8080", "--bytes", "1000",
                   "--timeout", "5")
            assert (s.code == 0) == ok, (sender, str(s))
            seen = ex("bob", "sh", "-c", f"sleep 1; cat {got}").out
            assert ("bytes=1000" in seen) == ok, (sender, seen)
        # udp: traceroute's probes reach bob from alice (its port unreachable,
        # a related reply, comes back); eve's die in the router after hop 1
        t = ex("alice", "traceroute", "-n", "-m", "3", "-w", "2", "-q", "1", BOB)
        assert t.code == 0 and f"2  {BOB}" in t.out, str(t)
        t = ex("eve", "traceroute", "-n", "-m", "2", "-w", "2", "-q", "1", BOB)
        assert t.code == 0 and "2  *" in t.out and f"  {BOB}" not in t.out.split("\n", 1)[1], str(t)
        # default drop: bob cannot open anything toward alice; alice's pings
        # to bob come back (replies of an accepted flow)
        assert ex("bob", "ping", "-c", "1", "-W", "2", ALICE).code == 1
        assert ex("alice", "ping", "-c", "1", "-W", "2", BOB).code == 0
    finally:
        uvmlab("down", run_id, check_code=0)
    assert leftovers(run_id) == []
