"""One hung guest (its QEMU SIGSTOPped) holds `uvmlab exec` no longer than --timeout."""
import json
import os
import signal
import time
from pathlib import Path

import pytest

from framework.lab import RUN_ROOT, leftovers, scenario, uvmlab

pytestmark = pytest.mark.boots

# what uvmlab itself may add to --timeout: process start, reading state.json
MARGIN_S = 5


def qemu_pid(run_id, vm):
    with open(Path(RUN_ROOT) / run_id / "state.json") as f:
        return next(v["pid"] for v in json.load(f)["vms"] if v["name"] == vm)


def test_exec_to_a_stopped_vm_keeps_to_its_timeout(lab_results):
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        os.kill(qemu_pid(run_id, "b"), signal.SIGSTOP)
        # the second one finds QEMU's listen backlog full of the first's
        # connection, where a blocking connect() used to wait for good
        for _ in range(2):
            t0 = time.monotonic()
            e = uvmlab("exec", "--run", run_id, "--timeout", "10", "b", "--", "true",
                       timeout=60)
            took = time.monotonic() - t0
            assert e.code == 3, str(e)
            assert took < 10 + MARGIN_S, f"{took:.1f} s\n{e}"
            assert 'vm "b"' in e.err and "stopped" in e.err, str(e)
            assert len(e.err.strip().splitlines()) == 1, str(e)
        # the other VM is not affected
        uvmlab("exec", "--run", run_id, "--timeout", "10", "a", "--", "true", timeout=60,
               check_code=0)
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
