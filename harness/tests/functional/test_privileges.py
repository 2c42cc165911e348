"""What runs during a lab is confined and unprivileged.

QEMU gets -sandbox and runs as its VM's own dynamic uid; uvmlab-vsockd keeps
its seccomp allow-list and runs as the run's helper uid. Read from
/proc/PID/status of the live processes, found by the run's path on their
command line, while `uvmlab up` keeps the lab up.
"""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from framework.lab import BUILD, RUN_ROOT, leftovers, processes_mentioning, scenario, uvmlab

pytestmark = pytest.mark.boots

SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
IDS_DIR = Path("/run/uvmlab-ids")
IDS_BASE, IDS_COUNT = 2000000000, 65536


def _status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def test_qemu_and_vsockd_are_seccomp_confined(lab_results):
    r = uvmlab("up", scenario("vsock"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        qemus, vsockd = [], []
        for pid in processes_mentioning(f"{RUN_ROOT}/{run_id}/"):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
            exe = Path(argv[0].decode()).name
            if exe.startswith("qemu-system"):
                qemus.append((pid, [a.decode() for a in argv]))
            elif exe == "uvmlab-vsockd":
                vsockd.append(pid)
        assert len(qemus) == 3 and len(vsockd) == 1, (qemus, vsockd)
        for pid, argv in qemus:
            # exactly one -sandbox, with every deny option
            assert argv.count("-sandbox") == 1, argv
            assert argv[argv.index("-sandbox") + 1] == SANDBOX, argv
            st = _status(pid)
            assert st["Seccomp"] == "2", (pid, st["Seccomp"])
            assert st["NoNewPrivs"] == "1", (pid, st["NoNewPrivs"])
        st = _status(vsockd[0])
        assert st["Seccomp"] == "2", st["Seccomp"]
        assert st["NoNewPrivs"] == "1", st["NoNewPrivs"]
        log = (lab_results / run_id / "vsockd.log").read_text()
        assert "seccomp allow-list of" in log, log
        assert "denied, exiting" not in log, log

        # nobody of the run but the supervisor is root; each VM has its own id
        state = json.loads((Path(RUN_ROOT) / run_id / "state.json").read_text())
        helper = state["helper_uid"]
        vm_uids = {v["name"]: v["uid"] for v in state["vms"]}
        ids = [helper, *vm_uids.values()]
        assert len(set(ids)) == len(ids), state
        assert all(IDS_BASE <= i < IDS_BASE + IDS_COUNT for i in ids), state
        assert_unprivileged(vsockd[0], helper)
        for pid, argv in qemus:
            name = argv[argv.index("-name") + 1].split(",")[0].removeprefix("guest=")
            assert_unprivileged(pid, vm_uids[name])
        leased = [i for i in ids if (IDS_DIR / str(i)).exists()]
        assert leased == ids, (leased, ids)
        # the VM's sockets are its own: another VM's uid cannot connect
        vm_dir = Path(RUN_ROOT) / run_id / "a"
        for sock in ("qmp.sock", "console.sock", "marker.sock", "vsock.sock"):
            st = (vm_dir / sock).stat()
            assert (st.st_uid, st.st_mode & 0o777) == (vm_uids["a"], 0o600), (sock, st)
        st = vm_dir.stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (vm_uids["a"], helper, 0o770), st

        # still a working lab: host<->guest (vsockd connects to the host's
        # listener as the helper uid) and guest<->guest
        uvmlab("check", "--run", run_id, results=lab_results, check_code=0)
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
    assert [i for i in ids if (IDS_DIR / str(i)).exists()] == []


def assert_unprivileged(pid, uid):
    """Real, effective, saved and fs uid and gid are UID; no group, no capability, seccomp on."""
    st = _status(pid)
    assert st["Uid"].split() == [str(uid)] * 4, (pid, st["Uid"])
    assert st["Gid"].split() == [str(uid)] * 4, (pid, st["Gid"])
    assert st["Groups"] == "", (pid, st["Groups"])
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, (pid, st["CapEff"])
    assert st["Seccomp"] == "2", (pid, st["Seccomp"])


@pytest.mark.skipif(not shutil.which("tor"), reason="tor is not installed (make deps)")
def test_fixtures_and_tor_relays_are_unprivileged(lab_results):
    """The Whonix lab: the fake internet and every Tor relay run as the helper id."""
    r = uvmlab("up", scenario("whonix"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        state = json.loads((Path(RUN_ROOT) / run_id / "state.json").read_text())
        helper = state["helper_uid"]
        vm_uids = {v["name"]: v["uid"] for v in state["vms"]}
        found = {"qemu": [], "internet": [], "tor": []}
        for pid in processes_mentioning(f"{RUN_ROOT}/{run_id}/"):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
            argv = [a.decode() for a in argv]
            if Path(argv[0]).name.startswith("qemu-system"):
                found["qemu"].append(pid)
                name = argv[argv.index("-name") + 1].split(",")[0].removeprefix("guest=")
                assert_unprivileged(pid, vm_uids[name])
            elif any(a.endswith("fake_internet.py") for a in argv):
                found["internet"].append(pid)
                assert_unprivileged(pid, helper)
            elif Path(argv[0]).name == "tor":
                found["tor"].append(pid)
                assert_unprivileged(pid, helper)
        assert [len(found[k]) for k in ("qemu", "internet", "tor")] == [3, 1, 6], found
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
    assert [i for i in [helper, *vm_uids.values()] if (IDS_DIR / str(i)).exists()] == []


@pytest.mark.parametrize("user", ["0:5", "5:0", "abc", "5", "5:5x"])
def test_vsockd_refuses_a_bad_user_in_one_line(tmp_path, user):
    vsockd = Path(BUILD) / "uvmlab-vsockd"
    p = subprocess.run([str(vsockd), "--user", user, "--vm",
                        f"a,3,{tmp_path}/a.vhost,{tmp_path}/a.host"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stderr == f"uvmlab-vsockd: --user {user}: wants UID:GID, both nonzero\n", p.stderr
