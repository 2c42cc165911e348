"""scenarios/whonix*.yaml through uvmlab: Tor gateway, private Tor network, fake internet, leak checks."""
import pytest

from framework.lab import leftovers, processes_mentioning, result_of, scenario, uvmlab

pytestmark = [pytest.mark.boots, pytest.mark.tor]

CHECKS = {"fetch-via-tor", "dns-via-tor", "direct-udp-blocked", "direct-icmp-blocked",
          "gateway-down-fails-closed"}


def _no_fixture_left(run_id):
    # tor relays and the fake internet name the run directory on their command line
    assert not processes_mentioning(f"/run/uvmlab/{run_id}"), processes_mentioning(f"/run/uvmlab/{run_id}")
    assert not leftovers(run_id)


def test_whonix_passes_with_evidence(lab_results):
    r = uvmlab("run", scenario("whonix"), results=lab_results, timeout=540)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    rows = {c["name"]: c for c in res["checks"] if c["name"] in CHECKS}
    assert set(rows) == CHECKS
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
    _no_fixture_left(run_dir.name)
