# SPDX-License-Identifier: MIT
# test_images.py: guest images are bit-reproducible, match their manifest, and boot.
"""Runs guests/build-image directly (not through make) with a tiny static init of
its own, so it needs neither the agent nor the orchestrator. Debs come from the
shared cache (/var/cache/uvmlab or $UVMLAB_CACHE): after the first run on a
machine each build takes well under a second."""

import hashlib
import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
BUILDER = ROOT / "guests" / "build-image"
LOCK = ROOT / "guests" / "packages.lock"
ROLES = ROOT / "guests" / "roles"
BUILD_TIMEOUT = 600  # a cold cache downloads ~70 MB
BOOT_TIMEOUT = 60
MARKER = b"uvmlab-test-init: modules ok"

# Loads every module the image lists, in order, and reports: a module listed
# before its dependencies, or built for another kernel, fails finit_module.
INIT_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
	char line[512];
	int bad = 0;
	FILE *f = fopen("/etc/uvmlab/modules", "r");

	if (!f)
		bad++;
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0) {
			perror(line);
			bad++;
		}
		if (fd >= 0)
			close(fd);
	}
	printf("uvmlab-test-init: modules %s\n", bad ? "FAILED" : "ok");
	fflush(stdout);
	/* Power off rather than reboot: microvm under TCG has been seen to reset
	 * and boot again despite -no-reboot; power-off always ends QEMU. */
	reboot(RB_POWER_OFF);
	return 0;
}
"""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def lock_pins():
    pins, epoch = {}, None
    for line in LOCK.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) == 2 and fields[0] == "source_date_epoch":
            epoch = int(fields[1])
        elif len(fields) == 3:
            pins[fields[0]] = (fields[1], fields[2])
    return pins, epoch


def cpio_read(data):
    """Independent newc reader: [(name, fields dict, payload)] in archive order."""
    out, off = [], 0
    names = ("ino", "mode", "uid", "gid", "nlink", "mtime", "filesize",
             "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check")
    while True:
        assert data[off:off + 6] == b"070701", "bad magic at %d" % off
        fields = dict(zip(names, (int(data[off + 6 + 8 * i:off + 14 + 8 * i], 16) for i in range(13))))
        name_end = off + 110 + fields["namesize"]
        name = data[off + 110:name_end - 1].decode()
        assert data[name_end - 1] == 0
        off = (name_end + 3) & ~3
        payload = data[off:off + fields["filesize"]]
        off = (off + fields["filesize"] + 3) & ~3
        if name == "TRAILER!!!":
            assert set(data[off:]) <= {0}, "garbage after trailer"
            return out
        out.append((name, fields, payload))


def modinfo_depends(ko):
    """Parse .modinfo ourselves rather than trusting the builder's parser."""
    shoff = int.from_bytes(ko[0x28:0x30], "little")
    shentsize, shnum, shstrndx = (int.from_bytes(ko[o:o + 2], "little") for o in (0x3A, 0x3C, 0x3E))

    def sh(i):
        b = shoff + i * shentsize
        return (int.from_bytes(ko[b:b + 4], "little"), int.from_bytes(ko[b + 24:b + 32], "little"),
                int.from_bytes(ko[b + 32:b + 40], "little"))

    _, stroff, _ = sh(shstrndx)
    for i in range(shnum):
        name, off, size = sh(i)
        if ko[stroff + name:].split(b"\0", 1)[0] == b".modinfo":
            for item in ko[off:off + size].split(b"\0"):
                if item.startswith(b"depends="):
                    return [d for d in item[8:].decode().split(",") if d]
            return []
    raise AssertionError("no .modinfo")


def build(out, agent, env_extra=None, roles=ROLES, lock=LOCK, check=True):
    env = dict(os.environ)
    env.pop("SOURCE_DATE_EPOCH", None)
    env.update(env_extra or {})
    r = subprocess.run([str(BUILDER), "build", "--out", str(out), "--agent", str(agent),
                        "--lock", str(lock), "--roles", str(roles)],
                       env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build the test init")
    d = tmp_path_factory.mktemp("init")
    (d / "init.c").write_text(INIT_C)
    subprocess.run([cc, "-static", "-O2", "-o", str(d / "init"), str(d / "init.c")],
                   check=True, timeout=120)
    return d / "init"


@pytest.fixture(scope="module")
def builds(tmp_path_factory, agent):
    a = tmp_path_factory.mktemp("build-a")
    b = tmp_path_factory.mktemp("build-b")
    build(a, agent)
    # A different umask, timezone and locale must not change a single byte.
    old = os.umask(0o077)
    try:
        build(b, agent, {"TZ": "Pacific/Chatham", "LC_ALL": "C.UTF-8", "LANG": "de_DE.UTF-8"})
    finally:
        os.umask(old)
    return a, b


def test_two_builds_are_identical(builds):
    a, b = builds
    ma = (a / "manifest.json").read_bytes()
    assert ma == (b / "manifest.json").read_bytes()
    manifest = json.loads(ma)
    assert set(manifest["images"]) >= {"vmlinuz", "app.cpio", "router.cpio"}
    for name in manifest["images"]:
        assert sha256((a / name).read_bytes()) == sha256((b / name).read_bytes()), name


def test_manifest_matches_files_and_lock(builds, agent):
    a, _ = builds
    raw = (a / "manifest.json").read_text()
    manifest = json.loads(raw)
    assert raw == json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    pins, epoch = lock_pins()
    assert manifest["source_date_epoch"] == epoch
    kernel = [n for n in pins if n.startswith("linux-image-")]
    assert len(kernel) == 1
    assert sorted(p.name for p in a.iterdir()) == sorted(list(manifest["images"]) + ["manifest.json"])
    for name, img in manifest["images"].items():
        data = (a / name).read_bytes()
        assert img["sha256"] == sha256(data), name
        assert img["size"] == len(data), name
        assert img["kernel_release"] == manifest["kernel_release"]
        for p in img["packages"]:
            assert pins[p["name"]] == (p["version"], p["sha256"]), p
        used = {p["name"] for p in img["packages"]}
        assert used == ({kernel[0]} if name == "vmlinuz" else {kernel[0], "busybox-static"})
        if name.endswith(".cpio"):
            assert img["role"] == name[:-5]
            assert img["agent"]["sha256"] == sha256(agent.read_bytes())
    # The bzImage names its own release; the manifest must agree with it.
    vmlinuz = (a / "vmlinuz").read_bytes()
    assert vmlinuz[0x202:0x206] == b"HdrS"
    off = int.from_bytes(vmlinuz[0x20E:0x210], "little")
    assert vmlinuz[0x200 + off:].split(b" ", 1)[0].decode() == manifest["kernel_release"]


@pytest.mark.parametrize("role", ["app", "router"])
def test_initramfs_content(builds, agent, role):
    a, _ = builds
    manifest = json.loads((a / "manifest.json").read_text())
    kver = manifest["kernel_release"]
    entries = cpio_read((a / (role + ".cpio")).read_bytes())
    names = [e[0] for e in entries]
    by_name = {e[0]: e for e in entries}
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert [e[1]["ino"] for e in entries] == list(range(1, len(entries) + 1))
    for name, f, _ in entries:
        assert f["mtime"] == manifest["source_date_epoch"], name
        assert (f["uid"], f["gid"]) == (0, 0), name
        parent = name.rsplit("/", 1)[0]
        assert "/" not in name or stat.S_ISDIR(by_name[parent][1]["mode"]), name

    def mode(n):
        return by_name[n][1]["mode"]

    assert mode("init") == stat.S_IFREG | 0o755
    assert by_name["init"][2] == agent.read_bytes()
    console = by_name["dev/console"][1]
    assert stat.S_ISCHR(console["mode"]) and (console["rdevmajor"], console["rdevminor"]) == (5, 1)
    for d in ("dev", "proc", "sys", "tmp", "run", "root", "etc"):
        assert stat.S_ISDIR(mode(d)), d
    assert mode("tmp") & 0o7777 == 0o1777
    assert mode("bin/busybox") == stat.S_IFREG | 0o755
    for applet in ("bin/sh", "bin/mount", "sbin/modprobe", "sbin/ip"):
        assert stat.S_ISLNK(mode(applet)) and by_name[applet][2] == b"/bin/busybox", applet
    assert by_name["etc/uvmlab/role"][2] == role.encode() + b"\n"
    assert by_name["etc/passwd"][2].startswith(b"root:x:0:0:")
    assert by_name["etc/group"][2].startswith(b"root:x:0:")

    listed = by_name["etc/uvmlab/modules"][2].decode().splitlines()
    assert listed == manifest["images"][role + ".cpio"]["modules"]
    seen = set()
    for path in listed:
        assert path.startswith("/lib/modules/%s/kernel/" % kver) and path.endswith(".ko")
        ko = by_name[path[1:]][2]
        for dep in modinfo_depends(ko):
            assert dep in seen, "%s listed before its dependency %s" % (path, dep)
        seen.add(path.rsplit("/", 1)[1][:-3].replace("-", "_"))
    assert seen == {"virtio_mmio", "virtio_pci", "virtio_net", "virtio_console", "virtio",
                    "virtio_ring", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
                    "failover", "net_failover"}


def test_host_cpio_agrees(builds):
    """GNU cpio reads our archive the same way (a second, independent reader)."""
    if not shutil.which("cpio"):
        pytest.skip("cpio not installed")
    a, _ = builds
    data = (a / "app.cpio").read_bytes()
    r = subprocess.run(["cpio", "-it", "--quiet"], input=data, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().splitlines() == [e[0] for e in cpio_read(data)]


def test_source_date_epoch_is_honoured(builds, agent, tmp_path):
    a, _ = builds
    build(tmp_path, agent, {"SOURCE_DATE_EPOCH": "1000000000"})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["source_date_epoch"] == 1000000000
    assert {e[1]["mtime"] for e in cpio_read((tmp_path / "app.cpio").read_bytes())} == {1000000000}
    assert (tmp_path / "app.cpio").read_bytes() != (a / "app.cpio").read_bytes()
    assert (tmp_path / "vmlinuz").read_bytes() == (a / "vmlinuz").read_bytes()


def test_role_extra_file_and_unknown_module(agent, tmp_path):
    roles = tmp_path / "roles"
    roles.mkdir()
    (roles / "motd").write_text("hello\n")
    (roles / "x.conf").write_text("# test role\nmodule virtio_console\nfile motd /etc/motd 0600\n")
    out = tmp_path / "out"
    build(out, agent, roles=roles)
    by_name = {e[0]: e for e in cpio_read((out / "x.cpio").read_bytes())}
    assert by_name["etc/motd"][2] == b"hello\n"
    assert by_name["etc/motd"][1]["mode"] == stat.S_IFREG | 0o600
    assert json.loads((out / "manifest.json").read_text())["images"]["x.cpio"]["modules"][-1].endswith(
        "/virtio_console.ko")

    (roles / "x.conf").write_text("module no_such_module_uvmlab\n")
    r = build(tmp_path / "out2", agent, roles=roles, check=False)
    assert r.returncode == 3
    assert "no_such_module_uvmlab is not in kernel" in r.stderr


def test_dynamic_agent_is_refused(tmp_path):
    sh = pathlib.Path("/bin/sh").resolve()
    r = build(tmp_path / "out", sh, check=False)
    assert r.returncode == 3
    assert "static" in r.stderr


def test_unavailable_pin_says_how_to_relock(agent, tmp_path):
    text = LOCK.read_text().replace("busybox-static 1:", "busybox-static 1:0.0-uvmlab-gone+", 1)
    assert text != LOCK.read_text()
    lock = tmp_path / "packages.lock"
    lock.write_text(text)
    r = build(tmp_path / "out", agent, lock=lock, check=False)
    assert r.returncode == 3
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "make guests-relock" in lines[0], r.stderr


def test_wrong_sha_is_refused(agent, tmp_path):
    pins, _ = lock_pins()
    good = pins["busybox-static"][1]
    lock = tmp_path / "packages.lock"
    lock.write_text(LOCK.read_text().replace(good, "0" * 64))
    r = build(tmp_path / "out", agent, lock=lock, check=False)
    assert r.returncode == 3
    assert good in r.stderr and "0" * 64 in r.stderr
    assert not (tmp_path / "out" / "app.cpio").exists()


def test_relock_reproduces_lock_format(tmp_path):
    if not any("_Packages" in n for n in os.listdir("/var/lib/apt/lists")):
        pytest.skip("no apt package lists (run apt-get update)")
    out = tmp_path / "packages.lock"
    r = subprocess.run([str(BUILDER), "relock", "--no-update", "--lock", str(LOCK), "--output", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    new = out.read_text()
    pins, epoch = lock_pins()
    assert "source_date_epoch %d" % epoch in new.splitlines()
    fresh = {l.split()[0]: l.split()[1:] for l in new.splitlines() if len(l.split()) == 3}
    assert "busybox-static" in fresh
    assert len([n for n in fresh if n.startswith("linux-image-")]) == 1
    # Where Debian still offers the pinned version, relock must pin the same bytes.
    for name, (version, sha) in pins.items():
        if name in fresh and fresh[name][0] == version:
            assert fresh[name][1] == sha, name


@pytest.mark.boots
def test_app_image_boots_and_loads_modules(builds, tmp_path):
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        pytest.skip("qemu-system-x86_64 not installed")
    a, _ = builds
    append = "console=ttyS0 panic=-1"
    # Under TCG on a busy host the guest's PIT-based TSC calibration fails and,
    # with no HPET on microvm, boot hangs. TCG's TSC runs at the host's rate,
    # so telling the guest that rate skips the fragile calibration.
    with open("/proc/cpuinfo") as f:
        mhz = [l.split(":")[1] for l in f if l.startswith("cpu MHz")]
    if mhz:
        append += " tsc_early_khz=%d" % round(float(mhz[0]) * 1000)
    argv = [qemu, "-M", "microvm,rtc=on", "-accel", "tcg", "-m", "256", "-nodefaults",
            "-no-user-config", "-nographic", "-no-reboot", "-kernel", str(a / "vmlinuz"),
            "-initrd", str(a / "app.cpio"), "-append", append, "-serial", "stdio"]
    try:
        r = subprocess.run(argv, capture_output=True, timeout=BOOT_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        (tmp_path / "console.log").write_bytes(e.stdout or b"")
        raise AssertionError("guest did not finish within %ds; console in %s" % (BOOT_TIMEOUT, tmp_path))
    assert MARKER in r.stdout, r.stdout.decode(errors="replace")[-3000:]
