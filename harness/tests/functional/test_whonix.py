"""scenarios/whonix*.yaml through uvmlab: Tor gateway, private Tor network, fake internet, leak checks."""
import pytest

from framework.lab import leftovers, processes_mentioning, result_of, scenario, uvmlab

pytestmark = [pytest.mark.boots, pytest.mark.tor]

CHECKS = {"fetch-via-tor", "dns-via-tor", "direct-udp-blocked", "direct-icmp-blocked",
          "gateway-down-fails-closed"}
# judged by the guest probe (uvmlab-gprobe) in the gateway and the net VM
PROBE_CHECKS = {"gateway-never-forwards", "gateway-uplink-only-tor", "net-vm-forwards"}


def _no_fixture_left(run_id):
    # tor relays and the fake internet name the run directory on their command line
    assert not processes_mentioning(f"/run/uvmlab/{run_id}"), processes_mentioning(f"/run/uvmlab/{run_id}")
    assert not leftovers(run_id)


def test_whonix_passes_with_evidence(lab_results):
    r = uvmlab("run", scenario("whonix"), results=lab_results, timeout=540)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    rows = {c["name"]: c for c in res["checks"] if c["name"] in CHECKS | PROBE_CHECKS}
    assert set(rows) == CHECKS | PROBE_CHECKS
    for name, row in rows.items():
        assert row["verdict"] == "pass", row
        assert row["evidence"], row
    # the page came through Tor: the web server saw a Tor exit, never the lab
    fetch = rows["fetch-via-tor"]
    assert "Tor exit 198.51.100." in fetch["evidence"], fetch
    assert fetch["web_server_saw"]["from_lab"] == 0 and fetch["web_server_saw"]["from_exits"] >= 1
    assert rows["dns-via-tor"]["dns_server_saw"]["from_lab"] == 0
    assert rows["direct-udp-blocked"]["reached_directly"] is False
    assert "no reply" in rows["direct-icmp-blocked"]["evidence"]
    assert rows["gateway-down-fails-closed"]["while_stopped"] == "tor"
    assert "paused" in rows["gateway-down-fails-closed"]["evidence"]
    # the probe's findings, with evidence: the gateway sent nothing it had
    # received, every packet on its uplink was tor's; the net VM did forward
    # (the probe sees forwarding when it happens: tor's traffic, NATed)
    fwd = rows["gateway-never-forwards"]
    assert ", 0 forwarded, 0 XDP redirects" in fwd["evidence"], fwd
    assert fwd["probe"]["packets_seen"] > 0 and fwd["probe"]["lost"] == 0
    attr = rows["gateway-uplink-only-tor"]
    assert attr["network"] == "gw" and "all from allowed owners (debian-tor/tor)" in attr["evidence"], attr
    assert attr["findings"] == []
    net = rows["net-vm-forwards"]
    assert "received on another interface" in net["evidence"], net
    assert any(f["in"] and f["out"] for f in net["findings"]), net
    # three VMs, each with a full boot timeline ending in role services
    vms = {v["name"]: v for v in res["vms"]}
    assert set(vms) == {"net", "tor", "work"}
    for vm in vms.values():
        ph = vm["boot"]["phases_ms"]
        for key in ("qmp_greeting", "console_first_byte", "init_start", "agent_ready", "services_ready"):
            assert ph[key] > 0, (vm["name"], key, ph)
        assert ph["services_ready"] >= ph["agent_ready"]
    # the planned routes: net to the fake internet, tor to net, work to tor only
    assert "uvmlab.gw=198.18.1.254" in vms["net"]["kernel_cmdline"]
    assert "uvmlab.gw=198.18.2.1" in vms["tor"]["kernel_cmdline"]
    assert "uvmlab.forward" not in vms["tor"]["kernel_cmdline"]
    assert "uvmlab.gw=198.18.3.1" in vms["work"]["kernel_cmdline"]
    assert (run_dir / "internet.log").exists()
    assert "CHECK" in r.out and "VERDICT" in r.out
    _no_fixture_left(run_dir.name)


def test_whonix_leaky_gateway_is_caught(lab_results):
    """Expected failure: a gateway that forwards and NATs must fail the leak checks (exit 1)."""
    r = uvmlab("run", scenario("whonix-leaky"), results=lab_results, timeout=540)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    rows = {c["name"]: c for c in res["checks"]}
    for name in ("direct-udp-blocked", "direct-icmp-blocked"):
        assert rows[name]["verdict"] == "fail", rows[name]
        assert name in r.out
    assert rows["direct-udp-blocked"]["reached_directly"] is True
    assert "198.18." in rows["direct-udp-blocked"]["evidence"]
    assert "echo reply" in rows["direct-icmp-blocked"]["evidence"]
    # the guest probe saw the gateway forward the workstation's packets, and
    # those packets on the uplink had no local owner at all
    fwd, attr = rows["gateway-never-forwards"], rows["gateway-uplink-only-tor"]
    assert fwd["verdict"] == "fail" and attr["verdict"] == "fail", (fwd, attr)
    assert "received on another interface" in fwd["evidence"], fwd
    # LAN (eth1) to uplink (eth0), masqueraded to the gateway's own address
    assert any(f.get("in") == "eth1" and f["out"] == "eth0" for f in fwd["findings"]), fwd
    assert any(f["why"] == "forwarded (no local socket)" and f.get("in") == "eth1"
               for f in attr["findings"]), attr
    assert rows["net-vm-forwards"]["verdict"] == "pass"
    _no_fixture_left(run_dir.name)


def test_whonix_gateway_own_sender_is_caught(lab_results):
    """Expected failure: a gateway whose own output is open; a non-tor process (root's wget)
    sends on the uplink. Every active check passes: only the guest probe's attribution fails."""
    r = uvmlab("run", scenario("mutants/whonix-open-output"), results=lab_results, timeout=540)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    rows = {c["name"]: c for c in res["checks"]}
    failed = sorted(n for n, c in rows.items() if c["verdict"] != "pass")
    assert failed == ["gateway-uplink-only-tor"], {n: rows[n]["evidence"] for n in failed}
    attr = rows["gateway-uplink-only-tor"]
    assert "not from an allowed owner" in attr["evidence"] and "/wget pid " in attr["evidence"], attr
    offenders = [f for f in attr["findings"] if f["why"] == "owner not allowed"]
    assert offenders and all(f["owner"].startswith("root/wget") for f in offenders), attr
    assert rows["gateway-own-fetch"]["verdict"] == "pass"
    assert "gateway-uplink-only-tor" in r.out
    _no_fixture_left(run_dir.name)
