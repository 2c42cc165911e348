"""uvmlab-vsockd end to end: QEMU's vhost-user-vsock-device against our backend.

Starts the daemon and QEMU by hand (no uvmlab run, no network: vsock needs no
NICs), boots the app image and moves checksummed streams host->guest,
guest->host and guest->guest, and checks that a sibling pair not allowed on
the daemon's command line is refused. Everything started here is killed and
every socket removed, whatever happens.
"""
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from framework import lab

VSOCKD = lab.BUILD / "uvmlab-vsockd"
XFER = lab.BUILD / "uvmlab-xfer"
AGENTCTL = lab.BUILD / "agentctl"
KERNEL = lab.BUILD / "guests" / "vmlinuz"
INITRD = lab.BUILD / "guests" / "app.cpio"
BOOT_TIMEOUT_S = 150
XFER_TIMEOUT_S = 120
XFER_BYTES = 8 << 20
LINE = re.compile(r"xfer (send|recv) bytes=(\d+) seconds=([\d.]+) MBps=([\d.]+) fnv1a=([0-9a-f]{16})")


def host_tsc_khz():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    return 0


def parse_xfer(text):
    m = LINE.search(text)
    assert m, f"no xfer line in:\n{text}"
    return {"mode": m[1], "bytes": int(m[2]), "seconds": float(m[3]), "MBps": float(m[4]),
            "sum": m[5]}


class VsockLab:
    """One uvmlab-vsockd serving VMS (name -> cid) with ALLOW pairs, and one
    QEMU per VM. Owns every process and path; close() is idempotent."""

    def __init__(self, vms, allow=()):
        self.dir = Path(tempfile.mkdtemp(prefix="uvmlab-vsock-"))
        self.vms = dict(vms)
        self.procs = []
        self.qemu = {}
        args = [str(VSOCKD)]
        for name, cid in self.vms.items():
            args += ["--vm", f"{name},{cid},{self.vhost(name)},{self.host(name)}"]
        for a, b in allow:
            args += ["--allow", f"{a}:{b}"]
        self.log = open(self.dir / "vsockd.log", "w")
        self.daemon = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.procs.append(self.daemon)
        deadline = time.monotonic() + 10
        while not all(self.vhost(n).exists() for n in self.vms):
            assert self.daemon.poll() is None, self.daemon_log()
            assert time.monotonic() < deadline, "vsockd did not listen"
            time.sleep(0.05)

    def vhost(self, name):
        return self.dir / f"{name}.vhost"

    def host(self, name):
        return self.dir / f"{name}.host"

    def agent(self, name):
        return self.dir / f"{name}.agent"

    def daemon_log(self):
        self.log.flush()
        return (self.dir / "vsockd.log").read_text()

    def boot(self, name):
        khz = host_tsc_khz()
        cmdline = f"console=ttyS0 panic=-1 reboot=t uvmlab.vm={name} uvmlab.role=app"
        if khz:
            cmdline += f" tsc_early_khz={khz}"
        argv = ["qemu-system-x86_64", "-name", f"guest=vsock-{name}",
                "-M", "microvm,rtc=on,memory-backend=mem", "-accel", "tcg", "-m", "256",
                "-object", "memory-backend-memfd,id=mem,size=256M,share=on",
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", str(KERNEL), "-initrd", str(INITRD), "-append", cmdline,
                "-serial", f"file:{self.dir / (name + '.console')}",
                "-chardev", f"socket,id=agent,path={self.agent(name)},server=on,wait=off",
                "-device", "virtio-serial-device,id=vser0",
                "-device", "virtserialport,bus=vser0.0,chardev=agent,name=uvmlab.agent",
                "-chardev", f"socket,id=vs0,path={self.vhost(name)}",
                "-device", "vhost-user-vsock-device,chardev=vs0"]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=open(self.dir / f"{name}.qemu.log", "w"))
        self.procs.append(p)
        self.qemu[name] = p

    def wait_ready(self, name):
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.qemu[name].poll() is None, (self.dir / f"{name}.qemu.log").read_text()
            if self.agent(name).exists():
                r = subprocess.run([str(AGENTCTL), str(self.agent(name)), "hello"],
                                   capture_output=True, text=True, timeout=BOOT_TIMEOUT_S)
                if r.returncode == 0:
                    return
            time.sleep(0.5)
        pytest.fail(f"{name} did not boot; console:\n" +
                    (self.dir / f"{name}.console").read_text(errors="replace")[-2000:])

    def guest(self, name, *argv, timeout=XFER_TIMEOUT_S):
        """Run ARGV in guest NAME through the agent; returns CompletedProcess."""
        return subprocess.run([str(AGENTCTL), str(self.agent(name)), "exec",
                               "-t", str(timeout * 1000), "--", *argv],
                              capture_output=True, text=True, timeout=timeout + 30)

    def guest_bg(self, name, *argv):
        """Start ARGV in the guest in a thread; returns (thread, result dict)."""
        out = {}

        def run():
            out["r"] = self.guest(name, *argv)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, out

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in reversed(self.procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=15)
        self.procs = []
        self.log.close()
        for f in self.dir.iterdir():
            f.unlink()
        self.dir.rmdir()


def start_guest_recv(vl, name, port, nbytes):
    t, out = vl.guest_bg(name, "uvmlab-xfer", "recv", "--vsock", f"4294967295:{port}",
                         "--bytes", str(nbytes), "--timeout", str(XFER_TIMEOUT_S - 10))
    # The receiver prints "listening" only when done (agent exec returns at
    # exit), so give it a moment to bind before anyone connects.
    time.sleep(3)
    return t, out


def finish(t, out):
    t.join(XFER_TIMEOUT_S + 40)
    assert "r" in out, "guest command did not return"
    return out["r"]


@pytest.fixture
def one_vm():
    for f in (VSOCKD, XFER, AGENTCTL, KERNEL, INITRD):
        if not f.exists():
            pytest.skip(f"{f} not built: run make")
    vl = VsockLab({"v1": 3})
    try:
        vl.boot("v1")
        vl.wait_ready("v1")
        yield vl
    finally:
        vl.close()
    assert not lab.processes_mentioning(str(vl.dir)), "a process outlived the test"
    assert not vl.dir.exists()


@pytest.mark.boots
def test_host_to_guest_and_back(one_vm):
    vl = one_vm
    t, out = start_guest_recv(vl, "v1", 5000, XFER_BYTES)
    s = subprocess.run([str(XFER), "send", "--hybrid", f"{vl.host('v1')}:5000",
                        "--bytes", str(XFER_BYTES), "--timeout", str(XFER_TIMEOUT_S)],
                       capture_output=True, text=True, timeout=XFER_TIMEOUT_S + 10)
    r = finish(t, out)
    assert s.returncode == 0, s.stderr + vl.daemon_log()
    assert r.returncode == 0, r.stdout + r.stderr + vl.daemon_log()
    sent, got = parse_xfer(s.stdout), parse_xfer(r.stdout)
    assert sent["bytes"] == got["bytes"] == XFER_BYTES
    assert sent["sum"] == got["sum"]
    print(f"host->guest: {XFER_BYTES} bytes, msg 65536, TCG: {got['MBps']} MB/s (guest side)")

    # guest -> host: the guest connects to CID 2 port P = HOST_SOCK_P.
    hp = vl.dir / "v1.host_6000"
    h = subprocess.Popen([str(XFER), "recv", "--unix", str(hp), "--bytes", str(XFER_BYTES),
                          "--timeout", str(XFER_TIMEOUT_S)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    vl.procs.append(h)
    deadline = time.monotonic() + 10
    while not hp.exists():
        assert time.monotonic() < deadline, "host receiver did not listen"
        time.sleep(0.05)
    g = vl.guest("v1", "uvmlab-xfer", "send", "--vsock", "2:6000", "--bytes", str(XFER_BYTES),
                 "--timeout", str(XFER_TIMEOUT_S - 10))
    hout, herr = h.communicate(timeout=XFER_TIMEOUT_S)
    assert g.returncode == 0, g.stdout + g.stderr + vl.daemon_log()
    assert h.returncode == 0, hout + herr + vl.daemon_log()
    sent, got = parse_xfer(g.stdout), parse_xfer(hout)
    assert sent["bytes"] == got["bytes"] == XFER_BYTES
    assert sent["sum"] == got["sum"]
    print(f"guest->host: {XFER_BYTES} bytes, msg 65536, TCG: {got['MBps']} MB/s (host side)")

    # Nobody listens on guest port 5999: the host gets EOF instead of OK.
    bad = subprocess.run([str(XFER), "send", "--hybrid", f"{vl.host('v1')}:5999",
                          "--bytes", "1", "--timeout", "30"],
                         capture_output=True, text=True, timeout=40)
    assert bad.returncode == 3, bad.stdout + bad.stderr


@pytest.mark.boots
def test_sibling_allowed_and_denied():
    for f in (VSOCKD, XFER, AGENTCTL, KERNEL, INITRD):
        if not f.exists():
            pytest.skip(f"{f} not built: run make")
    vl = VsockLab({"a": 3, "b": 4, "c": 5}, allow=[("a", "b")])
    try:
        for n in ("a", "b", "c"):
            vl.boot(n)
        for n in ("a", "b", "c"):
            vl.wait_ready(n)
        t, out = start_guest_recv(vl, "b", 7000, XFER_BYTES)
        s = vl.guest("a", "uvmlab-xfer", "send", "--vsock", "4:7000", "--bytes", str(XFER_BYTES),
                     "--timeout", str(XFER_TIMEOUT_S - 10))
        r = finish(t, out)
        assert s.returncode == 0, s.stdout + s.stderr + vl.daemon_log()
        assert r.returncode == 0, r.stdout + r.stderr + vl.daemon_log()
        sent, got = parse_xfer(s.stdout), parse_xfer(r.stdout)
        assert sent["bytes"] == got["bytes"] == XFER_BYTES and sent["sum"] == got["sum"]
        print(f"guest->guest: {XFER_BYTES} bytes, TCG: {got['MBps']} MB/s")

        # c is not allowed to reach b: connect fails (RST), b's listener stays idle.
        t, out = start_guest_recv(vl, "b", 7001, 1)
        d = vl.guest("c", "uvmlab-xfer", "send", "--vsock", "4:7001", "--bytes", "1",
                     "--timeout", "20")
        assert d.returncode == 3, d.stdout + d.stderr
        assert "denied" in vl.daemon_log()
        # Release b's receiver so the thread ends: a is allowed.
        a = vl.guest("a", "uvmlab-xfer", "send", "--vsock", "4:7001", "--bytes", "1",
                     "--timeout", "20")
        assert a.returncode == 0, a.stdout + a.stderr
        finish(t, out)
    finally:
        vl.close()
    assert not vl.dir.exists()
