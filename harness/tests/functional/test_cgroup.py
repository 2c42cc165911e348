"""One cgroup per run: it holds every process of the run, carries lab.limits,
is what `down` kills, and is gone afterwards, whatever way the run ended."""
import json
import os
import signal
import subprocess
import time

import pytest

from framework.lab import (RUN_ROOT, UVMLAB, leftovers, processes_mentioning, result_of,
                           run_cgroups, run_id_dirs, uvmlab, wait_until)

pytestmark = pytest.mark.boots

LIMITS = "  limits: { memory: 3G, pids: 700, cpus: 1.5 }\n"


def write_scenario(tmp_path, limits=LIMITS, vsock=True, internet=False):
    text = ("name: cg\n"
            "lab:\n" + limits +
            ("vsock: { allow: [[a, b]] }\n" if vsock else "") +
            ("fixtures: [fake-internet]\n" if internet else "") +
            "networks:\n  lan: { subnet: 198.18.40.0/24%s }\n" % (", internet: true" if internet else "") +
            "vms:\n  a: { nics: [lan] }\n  b: { nics: [lan] }\n")
    path = tmp_path / "cg.yaml"
    path.write_text(text)
    return path


def state_of(run_id):
    with open(f"{RUN_ROOT}/{run_id}/state.json") as f:
        return json.load(f)


def procs(cgdir):
    with open(os.path.join(cgdir, "cgroup.procs")) as f:
        return {int(x) for x in f.read().split()}


def children(pid):
    """Every descendant of PID, from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = set(), [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            if k not in out:
                out.add(k)
                todo.append(k)
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture(autouse=True)
def cgroups_writable():
    probe = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    if not os.access(probe, os.W_OK):
        pytest.skip(f"{probe} is not writable: no per-run cgroups on this host")


@pytest.mark.parametrize("helper", ["uvmlab-vsockd", "fake_internet.py"])
def test_every_process_of_the_run_is_in_its_cgroups_and_limits_read_back(lab_results, tmp_path,
                                                                         helper):
    path = write_scenario(tmp_path, vsock=helper == "uvmlab-vsockd",
                          internet=helper == "fake_internet.py")
    # bounded well below the hard timeout: a helper holding up's stdout
    # would keep this call waiting for the run id's end of file
    r = uvmlab("up", path, results=lab_results, check_code=0, timeout=180)
    run_id = r.out.strip()
    st = state_of(run_id)
    dirs = st["cgroups"]
    assert dirs, st
    assert sorted(dirs) == sorted(run_cgroups(run_id))
    for d in dirs:
        assert d.endswith(f"/uvmlab/{run_id}"), d
    sup = st["supervisor"]["pid"]
    everyone = {sup} | children(sup)
    qemus = {vm["pid"] for vm in st["vms"]}
    helpers = {p for p in everyone if helper in cmdline(p)}
    assert len(qemus) == 2 and helpers, (qemus, {p: cmdline(p) for p in everyone})
    for d in dirs:
        members = procs(d)
        # the supervisor, both QEMUs, vsockd and anything else any of them started
        assert everyone <= members, (d, everyone - members, {p: cmdline(p) for p in everyone})
        assert qemus | helpers <= members
    by_ctl = {}
    for d in dirs:
        for f in ("pids.max", "memory.limit_in_bytes", "memory.max", "cpu.cfs_quota_us",
                  "cpu.cfs_period_us", "cpu.max"):
            if os.path.exists(os.path.join(d, f)):
                with open(os.path.join(d, f)) as fh:
                    by_ctl[f] = fh.read().strip()
    assert by_ctl["pids.max"] == "700", by_ctl
    assert by_ctl.get("memory.limit_in_bytes", by_ctl.get("memory.max")) == str(3 << 30), by_ctl
    if "cpu.max" in by_ctl:
        assert by_ctl["cpu.max"] == "150000 100000", by_ctl
    else:
        assert (by_ctl["cpu.cfs_quota_us"], by_ctl["cpu.cfs_period_us"]) == ("150000", "100000")
    uvmlab("down", run_id, check_code=0)
    assert not os.path.exists(f"/proc/{sup}")
    assert [d for d in dirs if os.path.exists(d)] == []
    assert leftovers(run_id) == []


def test_down_after_kill9_kills_what_is_in_the_cgroup_whatever_its_command_line(lab_results, tmp_path):
    """A process of the run that names nothing of the run (here a `sleep`
    the test moves into the run's cgroups) dies at `down` after the
    supervisor was SIGKILLed: the reaper kills the cgroup, not command lines."""
    r = uvmlab("up", write_scenario(tmp_path, vsock=False), results=lab_results, check_code=0)
    run_id = r.out.strip()
    st = state_of(run_id)
    stranger = subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL)
    try:
        assert run_id not in cmdline(stranger.pid) and RUN_ROOT not in cmdline(stranger.pid)
        for d in st["cgroups"]:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(stranger.pid))
        os.kill(st["supervisor"]["pid"], signal.SIGKILL)
        wait_until(lambda: not os.path.exists(f"/proc/{st['supervisor']['pid']}/status") or
                   open(f"/proc/{st['supervisor']['pid']}/status").read().find("State:\tZ") >= 0,
                   30, "the supervisor to die")
        time.sleep(0.5)
        assert stranger.poll() is None, "the sleep died with the supervisor: not a real test"
        d = uvmlab("down", run_id, check_code=0)
        assert "stopped" in d.out
        wait_until(lambda: stranger.poll() is not None, 10, "the sleep in the cgroup to die")
        assert stranger.returncode == -signal.SIGKILL
    finally:
        if stranger.poll() is None:
            stranger.kill()
            stranger.wait()
    assert [c for c in st["cgroups"] if os.path.exists(c)] == []
    assert leftovers(run_id) == []
    assert run_id not in run_id_dirs()


def test_run_records_its_cgroup_and_limits_in_result_json(lab_results, tmp_path):
    r = uvmlab("run", write_scenario(tmp_path, vsock=False), results=lab_results)
    assert r.code == 0, str(r)
    res, _ = result_of(lab_results)
    cg = res["cgroup"]
    assert cg["limits"]["pids"] == 700
    assert cg["limits"]["memory_bytes"] == 3 << 30
    assert cg["limits"]["cpus"] == 1.5
    assert cg["limits"]["cpu_quota_us"] == 150000 and cg["limits"]["cpu_period_us"] == 100000
    assert cg["dirs"] and all(d.endswith("/uvmlab/" + res["run_id"]) for d in cg["dirs"])
    assert [d for d in cg["dirs"] if os.path.exists(d)] == []
    assert leftovers(res["run_id"]) == []


@pytest.mark.parametrize("cmd", ["up", "run"])
@pytest.mark.parametrize("limit,says", [("pids: 4", "lab.limits.pids 4 refused"),
                                        ("memory: 32M", "lab.limits.memory 32 MiB: the kernel killed")])
def test_too_small_limit_fails_the_lab_and_leaves_nothing(lab_results, tmp_path, cmd, limit, says):
    before = set(run_id_dirs())
    r = uvmlab(cmd, write_scenario(tmp_path, limits="  limits: { %s }\n" % limit, vsock=False),
               results=lab_results)
    assert r.code == 3, str(r)
    lines = [ln for ln in r.err.splitlines() if ln.startswith("uvmlab:")]
    assert len(lines) == 1, r.err
    assert says in lines[0] and "too small" in lines[0], lines[0]
    new = sorted(p.name for p in lab_results.iterdir())
    assert len(new) == 1, new
    assert leftovers(new[0]) == []
    assert run_cgroups(new[0]) == []
    assert set(run_id_dirs()) <= before
    assert processes_mentioning(f"{RUN_ROOT}/{new[0]}/") == []


def run_without_cgroups(args, results):
    """uvmlab ARGS in a private mount namespace where no cgroup file system
    is mounted: a host (or container) without usable cgroups."""
    env = dict(os.environ, UVMLAB_PROGRESS="0", UVMLAB_RESULTS=str(results))
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
           'umount -l /sys/fs/cgroup && ! grep -q cgroup /proc/self/mounts && exec "$@"',
           "sh", UVMLAB, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def can_unshare_mounts():
    if subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode:
        pytest.skip("cannot make a private mount namespace here")


def test_without_cgroups_a_limit_is_a_lab_failure(lab_results, tmp_path, can_unshare_mounts):
    p = run_without_cgroups(["up", write_scenario(tmp_path, limits="  limits: { pids: 100 }\n",
                                                  vsock=False)], lab_results)
    assert p.returncode == 3, p.stdout + p.stderr
    lines = p.stderr.strip().splitlines()
    assert lines == ["uvmlab: up: lab.limits cannot be applied: cgroup: no cgroup hierarchy is mounted"], lines
    for rid in (d.name for d in lab_results.iterdir()):
        assert leftovers(rid) == []


def test_without_cgroups_a_run_warns_and_is_still_reaped(lab_results, tmp_path, can_unshare_mounts):
    p = run_without_cgroups(["run", write_scenario(tmp_path, limits="", vsock=False)], lab_results)
    assert p.returncode == 0, p.stdout + p.stderr
    warn = [ln for ln in p.stderr.splitlines() if "cgroup" in ln]
    assert warn == ["uvmlab: cgroup: no cgroup hierarchy is mounted: without a cgroup, leftovers "
                    "are found by command line in the run's namespaces"], p.stderr
    res, _ = result_of(lab_results)
    assert res["cgroup"] == {"dirs": [], "limits": {}}
    assert leftovers(res["run_id"]) == []


def test_up_whose_supervisor_is_killed_while_starting_leaves_nothing(lab_results, tmp_path):
    """The supervisor can die before it tears down (SIGKILL, or the kernel's
    OOM killer under lab.limits.memory): `up` reaps the run's cgroup itself."""
    env = dict(os.environ, UVMLAB_RESULTS=str(lab_results), UVMLAB_PROGRESS="0")
    before = set(run_id_dirs())
    p = subprocess.Popen([UVMLAB, "up", str(write_scenario(tmp_path, vsock=False))], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        def started():
            # the VM folders exist from the id lease on, before the cgroup:
            # wait for the state that names both the cgroup and a QEMU
            new = set(run_id_dirs()) - before
            if not new:
                return False
            try:
                st = state_of(next(iter(new)))
            except (OSError, ValueError):
                return False
            return bool(st.get("cgroups")) and any(v.get("pid", 0) > 0 for v in st["vms"])
        wait_until(started, 60, "the run to start its first VM")
        run_id = next(iter(set(run_id_dirs()) - before))
        st = state_of(run_id)
        assert st["cgroups"]
        os.kill(st["supervisor"]["pid"], signal.SIGKILL)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 3, out + err
    assert "the supervisor died while starting the lab" in err
    assert [d for d in st["cgroups"] if os.path.exists(d)] == []
    assert leftovers(run_id) == []
