"""A VM whose QEMU dies while a check runs on it is named as dead, exit 3.

The error used to be whatever the agent socket said ("exec ping: Connection
reset by peer"): the socket closes a moment before the process is a zombie."""
import json
import os
import signal
import subprocess
import time

import pytest

from framework.lab import RUN_ROOT, UVMLAB, leftovers, run_id_dirs

pytestmark = pytest.mark.boots

SCENARIO = """name: dies
networks:
  left:  { subnet: 198.18.20.0/24 }
  right: { subnet: 198.18.21.0/24 }
vms:
  router: { role: router, nics: [left, right], filter: { default: drop } }
  a: { role: app, nics: [left], depends_on: [router] }
  b: { role: app, nics: [right], depends_on: [router] }
checks:
  - { name: a-b-blocked, reach: { from: a, to: b }, expect: blocked }
"""


def qemu_pid(run_id, vm):
    with open(f"{RUN_ROOT}/{run_id}/state.json") as f:
        for v in json.load(f)["vms"]:
            if v.get("name") == vm and v.get("pid", 0) > 0:
                return v["pid"]
    return None


def test_vm_killed_during_a_check_is_named(tmp_path, lab_results):
    path = tmp_path / "dies.yaml"
    path.write_text(SCENARIO)
    env = dict(os.environ, UVMLAB_RESULTS=str(lab_results), UVMLAB_PROGRESS="1")
    before = set(run_id_dirs())
    p = subprocess.Popen([UVMLAB, "run", str(path)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    err = []
    try:
        deadline = time.monotonic() + 300
        for line in p.stderr:
            err.append(line)
            if "check a-b-blocked" in line:
                break
            assert time.monotonic() < deadline, "".join(err)
        rid = (set(run_id_dirs()) - before).pop()
        # a's ping of a dropped path waits 2 s per try: kill it meanwhile
        time.sleep(1.0)
        os.kill(qemu_pid(rid, "a"), signal.SIGKILL)
        out, rest = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = "".join(err) + rest
    assert p.returncode == 3, out + err
    want = 'vm "a": QEMU exited (killed by signal 9) during check "a-b-blocked"'
    assert want in err, out + err
    assert "Connection reset" not in err, err
    with open(lab_results / rid / "result.json") as f:
        res = json.load(f)
    row = res["checks"][0]
    assert row["verdict"] == "error" and want in row["evidence"], row
    assert leftovers(rid) == []


def test_vm_killed_during_exec_is_named(lab_results):
    """`uvmlab exec` whose VM dies under the command says so, exit 3, not the
    agent socket's errno."""
    from framework.lab import scenario, uvmlab
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    rid = r.out.strip()
    env = dict(os.environ, UVMLAB_PROGRESS="0")
    p = subprocess.Popen([UVMLAB, "exec", "--run", rid, "a", "--", "sleep", "60"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    try:
        time.sleep(3)
        assert p.poll() is None, p.communicate()
        os.kill(qemu_pid(rid, "a"), signal.SIGKILL)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 3, out + err
    assert len(err.strip().splitlines()) == 1, err
    assert 'exec: vm "a": QEMU (pid ' in err and "exited (killed by signal 9)" in err, err
    uvmlab("down", rid, check_code=0)
    assert leftovers(rid) == []
