"""The inventory comparison can fail: things left behind on purpose are reported."""
import os
import socket
import subprocess
import time
from pathlib import Path

import inventory
from framework import lab

LINK = "uvlinvtest%d" % (os.getpid() % 100000)


def test_inventory_sees_what_is_left(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    rid = "20000101-000000-inventory-selftest"
    run_dir = Path(lab.RUN_ROOT) / rid
    scope = inventory.Scope(lab.RUN_ROOT, results)
    scope.run_ids.add(rid)
    before = inventory.snapshot(scope)
    assert inventory.diff(before, inventory.snapshot(scope)) == []
    run_dir.mkdir(parents=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    holder = mnt = None
    try:
        sock.bind(str(run_dir / "left.sock"))
        sock.listen(1)
        (results / "result.json.tmp").write_text("{}")
        # a process of the run, in a namespace of its own, holding a memfd
        holder = subprocess.Popen(
            ["unshare", "--net", "--", "/usr/bin/python3", "-c",
             "import os, time; fd = os.memfd_create('uvmlab-left'); time.sleep(120)",
             str(run_dir)])
        # a link in the root namespace with uvmlab's names, a tc filter on it
        subprocess.run(["ip", "link", "add", LINK, "type", "bridge"], check=True)
        subprocess.run(["tc", "qdisc", "add", "dev", LINK, "clsact"], check=True)
        subprocess.run(["tc", "filter", "add", "dev", LINK, "ingress", "protocol", "all",
                        "u32", "match", "u32", "0", "0", "flowid", "1:1"], check=True)
        mnt = run_dir / "mnt"
        mnt.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "none", str(mnt)], check=True)
        lab.wait_until(lambda: any("memfd:" in os.readlink(f"/proc/{holder.pid}/fd/{fd}")
                                   for fd in os.listdir(f"/proc/{holder.pid}/fd")), 10, "memfd")
        time.sleep(0.2)
        left = "\n".join(inventory.diff(before, inventory.snapshot(scope)))
        for kind in ("processes:", "netns:", "sockets:", "mounts:", "memfds:", "files:",
                     "links:", "tc:"):
            assert kind in left, f"{kind} not reported in:\n{left}"
        assert "result.json.tmp" in left and "left.sock" in left, left
    finally:
        subprocess.run(["ip", "link", "del", LINK], capture_output=True)
        if mnt is not None:
            subprocess.run(["umount", str(mnt)])
        if holder is not None:
            holder.kill()
            holder.wait()
        sock.close()
        for p in sorted(run_dir.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        run_dir.rmdir()
        (results / "result.json.tmp").unlink()
    # and once it is all gone, nothing is reported
    assert inventory.diff(before, inventory.snapshot(scope)) == []
