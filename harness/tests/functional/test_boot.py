"""Real labs under TCG: pair, routed, bounded boots (mutants: test_mutants.py)."""
import pytest

from framework.lab import leftovers, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots

PHASES = ("qmp_greeting", "console_first_byte", "init_start", "agent_ready")


def assert_timeline(vm):
    ph = vm["boot"]["phases_ms"]
    values = [ph[p] for p in PHASES]
    assert all(v > 0 for v in values), ph
    assert values == sorted(values), f"phases out of order: {ph}"
    assert vm["boot"]["guest"]["boottime_init_ms"] > 0
    assert vm["boot"]["qemu_cpu_ms"]["user"] > 0


def test_pair_boots_and_reaches(lab_results):
    r = uvmlab("run", scenario("pair"), results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    assert res["schema"] == "uvmlab.result/1"
    assert res["verdict"] == "pass" and res["exit_code"] == 0
    acc = res["accelerator"]
    assert acc["name"] in ("tcg", "kvm") and acc["reason"]
    assert [v["name"] for v in res["vms"]] == ["a", "b"]
    for vm in res["vms"]:
        assert_timeline(vm)
        assert (run_dir / f"{vm['name']}.console.log").stat().st_size > 0
        assert vm["argv"][0].startswith("qemu-system")
    assert [c["verdict"] for c in res["checks"]] == ["pass", "pass"]
    assert "exit 0" in res["checks"][0]["evidence"]
    assert res["scenario"]["sha256"] and len(res["scenario"]["sha256"]) == 64
    assert res["images"].get("files") or res["images"]
    assert "a-reaches-b" in r.out and "PASS" in r.out
    assert not leftovers(run_dir.name)


def test_routed_forwards_and_isolates(lab_results):
    r = uvmlab("run", scenario("routed"), results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    verdicts = {c["name"]: c["verdict"] for c in res["checks"]}
    assert verdicts == {"alice-reaches-bob": "pass", "bob-reaches-alice": "pass",
                        "alice-not-hermit": "pass", "router-forwards": "pass",
                        "flow-policy": "pass"}
    # the guest probe in the router saw the pings it forwarded, in both directions
    fwd = next(c for c in res["checks"] if c["name"] == "router-forwards")
    seen = {(f["src"], f["dst"]) for f in fwd["findings"]}
    assert ("198.18.10.2", "198.18.11.2") in seen and ("198.18.11.2", "198.18.10.2") in seen, fwd
    vms = {v["name"]: v for v in res["vms"]}
    # dependencies first: the router was ready before its dependents started
    assert vms["router"]["boot"]["qemu_exec_mono_ns"] < vms["alice"]["boot"]["qemu_exec_mono_ns"]
    assert "uvmlab.forward=1" in vms["router"]["kernel_cmdline"]
    assert not leftovers(run_dir.name)


def test_probe_check_over_silence_is_inconclusive(lab_results, tmp_path):
    """An attribution check on a NIC nobody uses saw nothing: not a pass."""
    r = uvmlab("run", scenario("mutants/attribution-silent"), results=lab_results)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    assert res["verdict"] == "fail"
    verdicts = {c["name"]: c["verdict"] for c in res["checks"]}
    assert verdicts["unused-nic-attributed"] == "inconclusive", verdicts
    assert [n for n, v in verdicts.items() if v != "pass" and n != "flow-policy"] == \
        ["unused-nic-attributed"]
    assert res["summary"]["inconclusive"] == 1 and res["summary"]["failed"] == 0
    line = next(l for l in r.out.splitlines() if l.startswith("unused-nic-attributed"))
    assert "inconclusive" in line and "sent no packet beyond link-layer control" in line
    assert "1 inconclusive" in r.out
    assert not leftovers(run_dir.name)
    # the same check with allow_empty: true accepts the silence
    text = scenario("mutants/attribution-silent").read_text().replace(
        "users: [root] }", "users: [root], allow_empty: true }")
    assert "allow_empty: true" in text
    ok = tmp_path / "attribution-silent-allowed.yaml"
    ok.write_text(text)
    again = tmp_path / "results-allowed"
    again.mkdir()
    r = uvmlab("run", ok, results=again)
    assert r.code == 0, str(r)
    res, _ = result_of(again)
    assert {c["name"]: c["verdict"] for c in res["checks"]}["unused-nic-attributed"] == "pass"


STOCK_PAIR = """\
name: stock-pair
networks: { lan: { subnet: 198.18.1.0/24 } }
vms:
  a: { nics: [lan], kernel: stock }
  b: { nics: [lan], kernel: stock }
"""


def test_boot_timeout_reports_last_phase_and_cleans_up(lab_results, tmp_path):
    # Debian's kernel: seconds of decompression and probing before init, so a
    # 1 s budget always runs out mid-boot (the lab kernel can be ready in 1.4 s)
    scn = tmp_path / "stock-pair.yaml"
    scn.write_text(STOCK_PAIR)
    r = uvmlab("run", "--boot-timeout", "1", scn, results=lab_results)
    assert r.code == 3, str(r)
    assert "boot timed out after 1 s; last phase reached:" in r.err
    res, run_dir = result_of(lab_results)
    assert res["verdict"] == "lab-error" and "timed out" in res["error"]
    assert not leftovers(run_dir.name)
