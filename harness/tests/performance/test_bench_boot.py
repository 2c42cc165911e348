"""uvmlab bench boot and uvmlab report: raw samples, parameters, statistics, the report.

These tests check what the benchmark records, never how fast anything was:
speed targets live in the numbers the report prints."""
import json
from pathlib import Path

import pytest

from framework.lab import REPO, leftovers, result_of, uvmlab

SCENARIO = """\
name: bench-mini
vms:
  mvm: { machine: microvm }
  mvm-pad: { machine: microvm, initramfs_pad: 8, console: off }
"""


@pytest.mark.boots
def test_bench_boot_records_raw_samples_and_report(lab_results, tmp_path):
    scn = tmp_path / "bench-mini.yaml"
    scn.write_text(SCENARIO)
    r = uvmlab("bench", "boot", scn, "--repeat", "2", "--warmup", "0", results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    assert res["bench"] == {"kind": "boot", "repeat": 2, "warmup": 0, "bare": True, "timing": "wall"}
    by_vm = {m["vm"]: m for m in res["metrics"]}
    assert set(by_vm) == {"mvm", "mvm-pad"}
    for name, m in by_vm.items():
        assert m["name"] == "boot"
        assert len(m["samples"]) == 2 and len(m["bare"]["samples"]) == 2
        assert [s["round"] for s in m["samples"]] == [0, 1]
        for s in m["samples"]:
            ph = s["phases_ms"]
            assert 0 < ph["init_start"] < ph["ready_marker"] <= ph["agent_ready"], ph
        for s in m["bare"]["samples"]:
            assert 0 < s["phases_ms"]["init_start"] < s["phases_ms"]["ready_marker"]
        p = m["params"]
        for key in ("machine", "kernel", "kernel_sha256", "boot_protocol", "initramfs_bytes",
                    "memory_mib", "vcpus", "accelerator", "cmdline", "argv", "tsc_khz"):
            assert key in p, key
        summ = m["summary"]["agent_ready"]
        assert summ["n"] == 2 and summ["ci_lo"] <= summ["median"] <= summ["ci_hi"]
        assert m["summary"]["bottleneck"] in ("qemu_start", "firmware", "kernel", "agent")
        assert m["overhead_ratio"] > 0
    # the knobs reached QEMU and the kernel
    assert by_vm["mvm-pad"]["params"]["initramfs_bytes"] - by_vm["mvm"]["params"]["initramfs_bytes"] == 8 << 20
    assert "quiet" in by_vm["mvm-pad"]["params"]["cmdline"]
    assert "console=ttyS0" in by_vm["mvm"]["params"]["cmdline"]
    assert by_vm["mvm-pad"]["samples"][0]["phases_ms"]["console_first_byte"] == -1
    assert not leftovers(run_dir.name)

    rep = uvmlab("report", run_dir, check_code=0)
    html = (run_dir / "report.html").read_text()
    md = (run_dir / "report.md").read_text()
    assert "data:image/png;base64," in html
    assert "First bottleneck per configuration" in md and "mvm-pad" in md
    assert "uvmlab / bare QEMU" in md
    assert (run_dir / "phases.png").stat().st_size > 1000


VIRTUAL = """\
name: bench-virtual
vms:
  lab: { machine: microvm }
"""


@pytest.mark.boots
def test_bench_boot_virtual_time_repeats(lab_results, tmp_path):
    """--timing virtual: every guest under TCG counting instructions, its TSC
    declared at the instruction clock's rate; the phases on the guest clock
    then repeat from one fresh boot to the next (the CV the issue asks for),
    where wall-clock phases vary with the host's load."""
    scn = tmp_path / "bench-virtual.yaml"
    scn.write_text(VIRTUAL)
    r = uvmlab("bench", "boot", scn, "--timing", "virtual", "--repeat", "3", "--warmup", "0",
               "--no-bare", results=lab_results)
    assert r.code == 0, str(r)
    res, run_dir = result_of(lab_results)
    assert res["bench"]["timing"] == "virtual"
    assert res["accelerator"]["name"] == "tcg-icount"
    assert res["accelerator"]["tsc_khz"] == 1000000
    (m,) = res["metrics"]
    argv = m["params"]["argv"]
    assert argv[argv.index("-icount") + 1] == "shift=0,align=off,sleep=off"
    assert "tsc_early_khz=1000000 tsc=reliable" in m["params"]["cmdline"]
    assert m["params"]["kernel"] == "lab"
    g = m["summary"]["guest_clock"]
    assert g["agent_ready"]["n"] == 3
    assert 0 < g["init_start"]["median"] < g["agent_ready"]["median"], g
    assert g["agent_ready"]["cv"] < 0.005, g
    assert g["init_start"]["cv"] < 0.005, g
    assert "(guest clock, from kernel start)" in r.out
    assert not leftovers(run_dir.name)
    uvmlab("report", run_dir, check_code=0)
    assert "Phases on the guest clock" in (run_dir / "report.md").read_text()


def test_timing_option_is_checked(tmp_path):
    scn = tmp_path / "bench-virtual.yaml"
    scn.write_text(VIRTUAL)
    r = uvmlab("bench", "boot", scn, "--timing", "fast", check_code=2)
    assert "--timing wants wall or virtual, not \"fast\"" in r.err
    r = uvmlab("bench", "boot", scn, "--timing", "virtual", "--accel", "kvm", check_code=2)
    assert "--timing virtual runs guests under TCG with -icount: not with --accel kvm" in r.err


def synthetic_result(path, configs):
    metrics = []
    for vm, params, ready in configs:
        samples = [{"round": i, "warmup": False, "mode": "uvmlab",
                    "phases_ms": {"qmp_greeting": 10, "console_first_byte": 20,
                                  "init_start": ready - 100, "ready_marker": ready - 5,
                                  "agent_ready": ready}} for i in range(3)]
        metrics.append({"name": "boot", "vm": vm, "params": params, "samples": samples,
                        "overhead_ratio": 1.01,
                        "summary": {"agent_ready": {"n": 3, "median": ready, "ci_lo": ready,
                                                    "ci_hi": ready, "cv": 0.0},
                                    "segments_median_ms": {"qemu_start": 10, "firmware": 10,
                                                           "kernel": ready - 120, "agent": 100},
                                    "bottleneck": "kernel"}})
    path.mkdir()
    (path / "result.json").write_text(json.dumps({
        "schema": "uvmlab.result/1", "run_id": path.name, "metrics": metrics,
        "host": {}, "accelerator": {"name": "tcg", "reason": "test"}, "bench": {}}))


def test_report_headline_ratio_from_matching_configs(tmp_path):
    base = dict(initramfs_pad_mib=0, console=True, initramfs_bytes=1 << 20)
    synthetic_result(tmp_path / "run", [
        ("slow", dict(base, kernel="stock", machine="pc", boot_protocol="bzimage"), 6000.0),
        ("other", dict(base, kernel="stock", machine="microvm", boot_protocol="bzimage"), 3000.0),
        ("fast", dict(base, kernel="lab", machine="microvm", boot_protocol="pvh"), 500.0),
    ])
    uvmlab("report", tmp_path / "run", "--out", tmp_path / "out", check_code=0)
    md = (tmp_path / "out" / "report.md").read_text()
    assert "stock kernel + bzImage + pc vs lab kernel + microvm + PVH**: 12.00x" in md
    assert "slow 6000 ms / fast 500 ms" in md


def test_report_says_when_a_ratio_cannot_be_measured(tmp_path):
    synthetic_result(tmp_path / "run", [
        ("only", dict(initramfs_pad_mib=0, kernel="stock", machine="pc", boot_protocol="bzimage",
                      console=True, initramfs_bytes=1), 6000.0)])
    uvmlab("report", tmp_path / "run", check_code=0)
    md = (tmp_path / "run" / "report.md").read_text()
    assert "not measured: no configuration lab+microvm+PVH" in md


def test_report_rejects_non_bench_results(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "result.json").write_text(json.dumps({"schema": "uvmlab.result/1"}))
    r = uvmlab("report", tmp_path / "r", check_code=2)
    assert "no boot metrics" in r.err
