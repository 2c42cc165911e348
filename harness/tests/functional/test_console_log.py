"""A guest that floods its console cannot grow its log past lab.console_log_max."""
import json
import re
import subprocess

import pytest

from framework.lab import UVMLAB, leftovers, run_id_dirs, runs_writing_to, uvmlab

pytestmark = pytest.mark.boots

CAP = 64 * 1024
NOTICE = re.compile(r"\[uvmlab\] console log cut at (\d+) bytes; (\d+) more bytes dropped\n\Z")


def flood_scenario(tmp_path, cap="64K"):
    path = tmp_path / "flood.yaml"
    path.write_text("name: flood\nlab:\n  console_log_max: %s\n"
                    "networks:\n  lan: { subnet: 198.18.1.0/24 }\n"
                    "vms:\n  a: { role: app, nics: [lan] }\n" % cap)
    return path


def test_console_flood_is_cut_at_the_cap_and_recorded(tmp_path, lab_results):
    r = uvmlab("up", flood_scenario(tmp_path), results=lab_results, check_code=0)
    run_id = r.out.strip()
    run_dir = lab_results / run_id
    # the guest writes far more than the cap, and must not block doing so
    e = uvmlab("exec", "--run", run_id, "a", "--", "sh", "-c",
               "yes uvmlab-console-flood-line > /dev/console & p=$!; sleep 4; kill $p; echo done",
               timeout=60, check_code=0)
    assert "done" in e.out
    # the lab still answers after the flood: the reader kept draining
    uvmlab("exec", "--run", run_id, "a", "--", "true", timeout=60, check_code=0)
    c = uvmlab("check", "--run", run_id, timeout=120)
    assert c.code == 0, str(c)
    with open(run_dir / "check-1" / "result.json") as f:
        vm = json.load(f)["vms"][0]
    assert vm["console_log_max"] == CAP
    assert vm["console_log_cut"] is True
    assert vm["console_log_kept"] == CAP
    assert vm["console_log_dropped"] > CAP, vm
    assert vm["console_log_error"] is None
    uvmlab("down", run_id, check_code=0)
    data = (run_dir / "a.console.log").read_bytes()
    text = data.decode(errors="replace")
    m = NOTICE.search(text)
    assert m, text[-300:]
    assert int(m.group(1)) == CAP
    assert int(m.group(2)) >= vm["console_log_dropped"]
    assert len(data) <= CAP + 1 + len(m.group(0)), len(data)
    assert "uvmlab-console-flood-line" in text
    assert "Linux version" in text  # the boot itself was kept: the cut keeps the head


def test_default_cap_is_recorded_when_not_given(tmp_path, lab_results):
    path = tmp_path / "quiet.yaml"
    path.write_text("name: quiet\nnetworks:\n  lan: { subnet: 198.18.1.0/24 }\n"
                    "vms:\n  a: { role: app, nics: [lan] }\n")
    r = uvmlab("up", path, results=lab_results, check_code=0)
    run_id = r.out.strip()
    uvmlab("check", "--run", run_id, timeout=120, check_code=0)
    with open(lab_results / run_id / "check-1" / "result.json") as f:
        vm = json.load(f)["vms"][0]
    uvmlab("down", run_id, check_code=0)
    assert vm["console_log_max"] == 4 * 1024 * 1024
    assert vm["console_log_cut"] is False and vm["console_log_dropped"] == 0
    assert vm["console_log_error"] is None
    # the log grows after the check by what the shutdown prints, never cut
    size = (lab_results / run_id / "a.console.log").stat().st_size
    assert 0 < vm["console_log_kept"] <= size < 4 * 1024 * 1024
    assert "console log cut" not in (lab_results / run_id / "a.console.log").read_text(errors="replace")


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "none", str(mnt)],
                   check=True)
    started = set(run_id_dirs())
    try:
        yield mnt
    finally:
        for rid in runs_writing_to(mnt, set(run_id_dirs()) - started):
            subprocess.run([UVMLAB, "down", rid], capture_output=True, timeout=60)
        subprocess.run(["umount", str(mnt)], check=True)


def test_console_log_on_a_full_disk_is_recorded_not_silent(tmp_path, small_fs):
    """A log write that fails (ENOSPC) is in result.json and in the check's
    output; the supervisor's own stderr is on the same full disk."""
    r = uvmlab("up", flood_scenario(tmp_path, "1G"), results=small_fs, check_code=0)
    run_id = r.out.strip()
    filler = small_fs / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
    uvmlab("exec", "--run", run_id, "a", "--", "sh", "-c",
           "yes uvmlab-console-flood-line > /dev/console & p=$!; sleep 2; kill $p",
           timeout=60, check_code=0)
    filler.unlink()  # room for the check's result.json again
    c = uvmlab("check", "--run", run_id, timeout=120)
    assert c.code == 0, str(c)
    assert 'warning: vm "a": its console log is incomplete: No space left on device' in c.out, str(c)
    with open(small_fs / run_id / "check-1" / "result.json") as f:
        vm = json.load(f)["vms"][0]
    assert vm["console_log_error"] == "No space left on device", vm
    assert vm["console_log_dropped"] > 0 and vm["console_log_cut"] is False, vm
    assert vm["console_log_kept"] == (small_fs / run_id / "a.console.log").stat().st_size
    uvmlab("down", run_id, check_code=0)
    assert leftovers(run_id) == []
