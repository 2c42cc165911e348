# SPDX-License-Identifier: MIT
# test_lab_kernel.py: the lab kernel boots (PVH vmlinux on microvm, bzImage on q35) and the agent starts.
"""Boots build/guests/lab-vmlinux and lab-bzImage with plain QEMU (no uvmlab, no
network devices at all) and the app image, and reads the serial console until
the agent says it is ready on its virtio-serial port. Those tests are skipped
until `make lab-kernel` has built the kernel: a cold build takes many minutes,
so neither `make` nor `make test` starts one. The checks build-kernel relies
on (fragment verification, PVH note) are tested on synthetic inputs always."""

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import re
import selectors
import struct
import subprocess
import time

import pytest

from framework import lab

GUESTS = lab.BUILD / "guests"
LAB_VMLINUX = GUESTS / "lab-vmlinux"
LAB_META = GUESTS / "lab-kernel.json"
FRAGMENT = lab.REPO / "guests" / "kernel" / "lab.config"
APP_CPIO = GUESTS / "app.cpio"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
BOOT_TIMEOUT_S = 120  # TCG on a shared 2-core machine; a healthy boot takes seconds
READY = re.compile(rb"uvmlab-agent: ready: vm=(\S+) role=(\S+) init=(\d+) ms ready=(\d+) ms")

needs_lab_kernel = pytest.mark.skipif(not LAB_VMLINUX.exists(), reason="lab kernel not built: make lab-kernel")


def load_builder():
    path = str(lab.REPO / "guests" / "kernel" / "build-kernel")
    loader = importlib.machinery.SourceFileLoader("uvmlab_build_kernel", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


bk = load_builder()


def host_tsc_khz():
    """Under TCG the guest TSC runs at the host's rate; telling the kernel skips
    the PIT calibration that sometimes hangs microvm boots (see README)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return int(round(float(line.split(":")[1]))) * 1000
    except (OSError, ValueError):
        pass
    return 0


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def boot(kernel, machine, bus, tmp_path):
    """Boot KERNEL with the app image; return ([(seconds since exec, line)], ready match or None)."""
    tsc = host_tsc_khz()
    append = "console=ttyS0 panic=-1 uvmlab.vm=t uvmlab.role=app"
    if tsc:
        append += " tsc_early_khz=%d" % tsc
    argv = [QEMU, "-M", machine, "-accel", "tcg", "-m", "256", "-nodefaults", "-no-user-config",
            "-display", "none", "-no-reboot", "-kernel", str(kernel), "-initrd", str(APP_CPIO),
            "-append", append, "-serial", "stdio",
            # The agent's control port: without it the agent never reports ready.
            "-chardev", "socket,id=agent,path=%s,server=on,wait=off" % (tmp_path / "agent.sock"),
            "-device", "virtio-serial-%s,id=vser0" % bus,
            "-device", "virtserialport,bus=vser0.0,chardev=agent,name=uvmlab.agent"]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, buf, ready = [], b"", None
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    try:
        while ready is None and time.monotonic() - t0 < BOOT_TIMEOUT_S:
            if not sel.select(timeout=1.0):
                if p.poll() is not None:
                    break
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                lines.append((time.monotonic() - t0, line.rstrip(b"\r")))
                ready = ready or READY.search(line)
    finally:
        sel.close()
        p.kill()
        _, err = p.communicate(timeout=30)
    return lines, ready, err.decode(errors="replace")


def console_text(lines):
    return "\n".join("%7.3f %s" % (t, l.decode(errors="replace")) for t, l in lines)


def test_fragment_parses_without_duplicates():
    want = bk.fragment_read(str(FRAGMENT))
    syms = [s for s, _ in want]
    assert len(syms) == len(set(syms))
    # The options this kernel exists for.
    for sym in ("CONFIG_PVH", "CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_CONSOLE", "CONFIG_SERIAL_8250_CONSOLE"):
        assert (sym, "y") in want, sym
    assert ("CONFIG_MODULES", None) in want


def test_fragment_rejects_bad_lines(tmp_path):
    frag = tmp_path / "f.config"
    frag.write_text("CONFIG_A=y\nCONFIG_A=n\n")
    with pytest.raises(bk.BuildError, match="already set on line 1"):
        bk.fragment_read(str(frag))
    frag.write_text("CONFIG_A=y\nA=y\n")
    with pytest.raises(bk.BuildError, match=":2: expected"):
        bk.fragment_read(str(frag))


def test_config_check_names_every_dropped_option(tmp_path):
    frag = tmp_path / "f.config"
    frag.write_text('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x"\nCONFIG_DEBUG_INFO_BTF=y\nCONFIG_E=y\n')
    config = tmp_path / ".config"
    config.write_text('CONFIG_A=y\nCONFIG_B=y\nCONFIG_C="y"\n# CONFIG_E is not set\n')
    with pytest.raises(bk.BuildError) as e:
        bk.config_check(str(config), bk.fragment_read(str(frag)))
    msg = str(e.value)
    assert "CONFIG_A" not in msg
    for part in ("CONFIG_B: asked unset, got y", 'CONFIG_C: asked "x", got "y"', "dwarves",
                 "CONFIG_E: asked y, got unset"):
        assert part in msg, msg
    config.write_text('CONFIG_A=y\nCONFIG_C="x"\nCONFIG_DEBUG_INFO_BTF=y\nCONFIG_E=y\n')
    bk.config_check(str(config), bk.fragment_read(str(frag)))


def elf_with_notes(notes):
    """A minimal ELF64 little-endian x86-64 file with one PT_NOTE segment."""
    body = b"".join(struct.pack("<III", len(n) + 1, len(d), t) + (n + b"\0").ljust((len(n) + 4) & ~3, b"\0")
                    + d.ljust((len(d) + 3) & ~3, b"\0") for n, t, d in notes)
    ehdr = bytearray(64)
    ehdr[0:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<HHIQQQIHHHHHH", ehdr, 0x10, 2, 62, 1, 0, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 4, 4, 120, 0, 0, len(body), len(body), 4)
    return bytes(ehdr) + phdr + body


def test_pvh_note_found_among_other_notes():
    data = elf_with_notes([(b"GNU", 3, b"\x01" * 20), (b"Xen", 18, struct.pack("<I", 0x1000470))])
    assert bk.pvh_entry_of(data, "t") == 0x1000470


def test_pvh_note_missing_or_truncated_is_an_error():
    with pytest.raises(bk.BuildError, match="no PVH entry note"):
        bk.pvh_entry_of(elf_with_notes([(b"Xen", 17, b"\0" * 8)]), "t")
    good = elf_with_notes([(b"Xen", 18, struct.pack("<I", 0x1000470))])
    # Every truncation fails cleanly, never with IndexError or struct.error.
    for cut in range(len(good)):
        with pytest.raises(bk.BuildError):
            bk.pvh_entry_of(good[:cut], "t")


@needs_lab_kernel
def test_lab_kernel_metadata_matches_files():
    meta = json.loads(LAB_META.read_text())
    assert meta["schema"] == "uvmlab.lab-kernel/1"
    for name in ("lab-vmlinux", "lab-bzImage"):
        path = GUESTS / name
        assert meta["outputs"][name]["size"] == path.stat().st_size, name
        assert meta["outputs"][name]["sha256"] == sha256(path), name
    assert meta["fragment"]["sha256"] == sha256(FRAGMENT), \
        "guests/kernel/lab.config changed since the lab kernel was built: make lab-kernel"
    assert meta["btf"] is True, "lab.config asks for CONFIG_DEBUG_INFO_BTF but lab-vmlinux has no .BTF"
    assert meta["kernel_release"].endswith("-uvmlab")


@needs_lab_kernel
@pytest.mark.boots
@pytest.mark.parametrize("image,machine,bus", [
    # An ELF kernel boots only through its PVH note: QEMU refuses an ELF without one.
    ("lab-vmlinux", "microvm,rtc=on", "device"),
    ("lab-bzImage", "q35", "pci"),
])
def test_lab_kernel_boots_to_agent(image, machine, bus, tmp_path):
    meta = json.loads(LAB_META.read_text())
    assert APP_CPIO.exists(), "%s missing: make guests" % APP_CPIO
    lines, ready, err = boot(GUESTS / image, machine, bus, tmp_path)
    text = console_text(lines)
    assert ready, "agent never reported ready within %d s; qemu: %s\nconsole:\n%s" % (BOOT_TIMEOUT_S, err, text)
    assert ready.group(1) == b"t" and ready.group(2) == b"app"
    banner = [l for _, l in lines if l.lstrip().startswith(b"[") and b"Linux version " in l]
    assert banner, "no kernel banner on the console:\n" + text
    # The stock kernel would boot the same image: make sure this is ours.
    assert (b"Linux version %s " % meta["kernel_release"].encode()) in banner[0], banner[0]
    first_agent = next(t for t, l in lines if l.startswith(b"uvmlab-agent:"))
    ready_at = next(t for t, l in lines if READY.search(l))
    # Numbers with what shaped them; the comparison step judges them, not this test.
    print("lab kernel %s on %s (tcg, 256 MiB, 1 vCPU): first agent line %.2f s, ready %.2f s "
          "after exec; guest clock init %s ms, ready %s ms"
          % (image, machine, first_agent, ready_at, ready.group(3).decode(), ready.group(4).decode()))
