"""What runs during a lab is confined: QEMU's -sandbox and uvmlab-vsockd's seccomp allow-list.

Read from /proc/PID/status of the live processes, found by the run's path on
their command line, while `uvmlab up scenarios/vsock.yaml` keeps the lab up.
"""
from pathlib import Path

import pytest

from framework.lab import RUN_ROOT, leftovers, processes_mentioning, scenario, uvmlab

pytestmark = pytest.mark.boots

SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"


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
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
