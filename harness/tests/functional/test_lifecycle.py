"""up / exec / status / console / down, SIGINT, and kill -9 of the supervisor."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from framework.lab import (RUN_ROOT, UVMLAB, leftovers, processes_mentioning, run_id_dirs,
                           scenario, uvmlab, wait_until)

pytestmark = pytest.mark.boots


def supervisor_pid(run_id):
    with open(f"{RUN_ROOT}/{run_id}/state.json") as f:
        return json.load(f)["supervisor"]["pid"]


def test_up_exec_kill9_down_all(lab_results):
    r = uvmlab("up", scenario("pair"), results=lab_results)
    assert r.code == 0, str(r)
    run_id = r.out.strip()
    assert run_id in run_id_dirs()
    st = uvmlab("status", check_code=0)
    assert run_id in st.out and "running" in st.out
    e = uvmlab("exec", "--run", run_id, "a", "--", "cat", "/proc/cmdline", check_code=0)
    assert "uvmlab.vm=a" in e.out
    e = uvmlab("exec", "--run", run_id, "b", "--", "sh", "-c", "echo oops >&2; exit 7")
    assert e.code == 7 and "oops" in e.err
    c = uvmlab("console", "--run", run_id, "a", check_code=0)
    assert "Linux version" in c.out
    qemus = processes_mentioning(f"{RUN_ROOT}/{run_id}/")
    assert len(qemus) == 2
    sup = supervisor_pid(run_id)
    os.kill(sup, signal.SIGKILL)
    d = uvmlab("down", "--all", check_code=0)
    assert "stopped" in d.out
    assert leftovers(run_id) == []
    assert run_id not in run_id_dirs()
    st = uvmlab("status", check_code=0)
    assert run_id not in st.out


def test_down_by_id_stops_a_live_supervisor(lab_results):
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    sup = supervisor_pid(run_id)
    uvmlab("down", run_id, check_code=0)
    assert not os.path.exists(f"/proc/{sup}")
    assert leftovers(run_id) == []
    sup_log = Path(lab_results) / run_id / "supervisor.log"
    assert sup_log.exists()


def test_sigint_during_boot_leaves_nothing(lab_results):
    env = dict(os.environ, UVMLAB_RESULTS=str(lab_results), UVMLAB_PROGRESS="0")
    before = set(run_id_dirs())
    p = subprocess.Popen([UVMLAB, "run", str(scenario("pair"))], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: len(processes_mentioning(RUN_ROOT + "/")) >= 2, 60, "QEMUs to start")
    new = set(run_id_dirs()) - before
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 3, out + err
    assert "interrupted" in err
    for rid in new:
        assert leftovers(rid) == []


def test_sigint_to_up_while_starting_names_sigint(lab_results):
    """Ctrl-C reaches the `up` parent; the supervisor must report the signal
    that came, not the one the parent happened to pass on."""
    env = dict(os.environ, UVMLAB_RESULTS=str(lab_results), UVMLAB_PROGRESS="0")
    before = set(run_id_dirs())
    out = open(lab_results / "up.out", "w+")
    p = subprocess.Popen([UVMLAB, "up", str(scenario("pair"))], env=env, stdout=out,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_until(lambda: set(run_id_dirs()) - before, 60, "the run directory")
        p.send_signal(signal.SIGINT)
        p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out.seek(0)
    said = out.read()
    assert p.returncode == 3, said
    assert "interrupted by signal 2 (Interrupt)" in said, said
    assert "signal 15" not in said, said
    for rid in set(run_id_dirs()) - before:
        wait_until(lambda: rid not in run_id_dirs(), 60, "the interrupted run to go away")
        assert leftovers(rid) == []


def test_status_tells_a_killed_vm_from_a_running_one(lab_results):
    """A QEMU that died under a live lab is not "stopped": status says how it ended."""
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    with open(f"{RUN_ROOT}/{run_id}/state.json") as f:
        pids = {v["name"]: v["pid"] for v in json.load(f)["vms"]}
    os.kill(pids["a"], signal.SIGKILL)

    def line_of(vm):
        st = uvmlab("status", check_code=0)
        mine = st.out.split(run_id, 1)[1].split("\n\n")[0]
        return next(l for l in mine.splitlines() if l.strip().startswith(f"vm {vm} "))
    wait_until(lambda: "killed by signal 9" in line_of("a"), 30, "status to see a's death")
    assert "died" in line_of("a") and "stopped" not in line_of("a"), line_of("a")
    assert line_of("b").rstrip().endswith("running"), line_of("b")
    uvmlab("down", run_id, check_code=0)
    assert leftovers(run_id) == []


def test_reaper_spares_bystanders_that_name_the_run(lab_results):
    """An orphaned run is reaped by its namespaces, not by a command-line
    match alone: a process on the host that merely names a file of the run
    (a `tail -f` of its log, an editor) survives `down`, the lab's QEMUs do not."""
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    with open(f"{RUN_ROOT}/{run_id}/state.json") as f:
        recorded = json.load(f).get("netns")
    qemus = processes_mentioning(f"{RUN_ROOT}/{run_id}/")
    assert len(qemus) == 2
    # the path in argv, and a shell that stays (no exec of its last command)
    bystander = subprocess.Popen(["sh", "-c", "sleep 300; :", f"{RUN_ROOT}/{run_id}/state.json"])
    time.sleep(0.2)
    assert bystander.poll() is None
    try:
        os.kill(supervisor_pid(run_id), signal.SIGKILL)
        uvmlab("down", run_id, check_code=0)
        assert bystander.poll() is None, "down killed a host process that only named the run"
        # killed: gone, or a zombie until init reaps it (the supervisor that
        # was their parent is dead); the kernel may take a moment to free them
        wait_until(lambda: all(_dead(p) for p in qemus if p != bystander.pid), 10,
                   "the lab's QEMUs to be killed")
        assert run_id not in run_id_dirs()
        assert recorded and len(recorded) == 1  # the lab's own; pair has no internet
    finally:
        bystander.kill()
        bystander.wait()
    assert leftovers(run_id) == []


def _dead(pid):
    """PID has exited: no such process, or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


def test_up_killed_before_it_announces_leaves_no_lab(lab_results):
    """`up` prints the run id only once the lab is ready; a parent SIGKILLed
    while the VMs boot can never announce it, so its supervisor must tear
    the lab down instead of keeping an unannounced lab alive."""
    env = dict(os.environ, UVMLAB_RESULTS=str(lab_results), UVMLAB_PROGRESS="0")
    before = set(run_id_dirs())
    out = open(lab_results / "up.out", "w+")
    # files, not pipes: the supervisor keeps its inherited stdout until ready
    p = subprocess.Popen([UVMLAB, "up", str(scenario("pair"))], env=env,
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        def ours():
            # other runs may start meanwhile: ours writes into lab_results
            for rid in set(run_id_dirs()) - before:
                try:
                    with open(f"{RUN_ROOT}/{rid}/state.json") as f:
                        if json.load(f)["results_dir"].startswith(str(lab_results)):
                            return rid
                except (OSError, ValueError, KeyError):
                    pass
            return None
        wait_until(ours, 60, "the run directory")
        run_id = ours()

        def booting():
            # the VMs are started (their QEMU pids recorded) but not yet ready
            try:
                with open(f"{RUN_ROOT}/{run_id}/state.json") as f:
                    return any(v.get("pid", 0) > 0 for v in json.load(f)["vms"])
            except (OSError, ValueError, KeyError):
                return False
        wait_until(booting, 60, "the VMs to start")
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        out.seek(0)
        assert run_id not in out.read(), "the run id was printed: the kill came too late"
        wait_until(lambda: run_id not in run_id_dirs() and
                   not processes_mentioning(f"{RUN_ROOT}/{run_id}/"), 180,
                   "the unannounced lab to go away")
    finally:
        if p.poll() is None:
            p.kill()
        out.close()
    assert leftovers(run_id) == []
