"""What one run could have left on this host, scoped to that run.

Other labs run on the same host while the fault suite does, so a global
before/after count would blame them. Each category is scoped to what the run
under test could own:

  processes   every PID seen (with its start time) as a descendant of the
              uvmlab process the test started, or whose command line names
              the run's run root folder or results folder (a Tracker polls
              /proc while the fault happens); still alive = left behind
  netns       network namespaces (inodes) listed in the run's state.json or
              held by one of its processes; any process on the host still in
              one, or an nsfs mount of one, is left behind; plus
              /run/netns entries naming the run id
  links       links of the root namespace with uvmlab's names (br-*, vmNnM,
              uvl*, veth pairs pointing into one of the run's namespaces)
              that did not exist before: uvmlab creates none there, so this
              is a global look, honest only because nobody should add such
              links; reported but filtered to new ones
  tc          tc filters on root-namespace links that did not exist before
              (global: uvmlab attaches none in the root namespace)
  bpf         BPF programs held by one of the run's processes (bpftool's
              pids); pins under /sys/fs/bpf that are new and name uvmlab or
              the run (global for the pins)
  sockets     unix sockets (/proc/net/unix) bound under the run's folders
  mounts      mountinfo lines naming the run's folders or run id
  memfds      memfd: descriptors held by the run's processes
  files       anything under the run root's folder of the run (the run root
              itself may be shared), temporary files (*.tmp, .*.partial,
              *~) under the results folder
  cgroups     cgroup folders under any hierarchy's uvmlab* parent whose name
              carries the run id, or that are new and empty-named otherwise

`snapshot(scope)` returns {category: set of strings}; `diff(before, after)`
returns the human-readable list of what appeared. The self-test
(test_inventory_sees_what_is_left) leaves one thing of each category behind
on purpose and expects every one reported.
"""
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

UVMLAB_LINK = re.compile(r"^(br-|vm\d+n\d+|uvl|uvmlab)")
RUN_ID = re.compile(r"/(\d{8}-\d{6}-[a-z0-9-]+-[0-9a-f]{8})/")
# the namespace the suite runs in (the host's) is nobody's to leave behind
HOST_NS = os.readlink("/proc/self/ns/net")


def proc_starttime(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def proc_ppid_map():
    m = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        m[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
    return m


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return ""


class Scope:
    """What a run under test could own: its folders, its run ids, its processes."""

    def __init__(self, run_root, results):
        self.run_root = str(run_root)
        self.results = str(results)
        self.run_ids = set()
        self.pids = {}        # pid -> (starttime, cmdline when first seen)
        self.netns = set()    # "net:[inode]"
        # the Tracker's thread and the test both read and add
        self.lock = threading.RLock()

    def needles(self):
        with self.lock:
            return self._needles()

    def _needles(self):
        n = [self.results.rstrip("/") + "/"]
        n += [f"{self.run_root}/{rid}" for rid in self.run_ids]
        return n

    def add_run(self, rid):
        with self.lock:
            self._add_run(rid)

    def _add_run(self, rid):
        self.run_ids.add(rid)
        try:
            with open(Path(self.run_root) / rid / "state.json") as f:
                st = json.load(f)
        except (OSError, ValueError):
            return
        for ino in st.get("netns", []):
            if f"net:[{ino}]" != HOST_NS:
                self.netns.add(f"net:[{ino}]")
        for p in [st.get("supervisor", {}).get("pid")] + [v.get("pid") for v in st.get("vms", [])]:
            if p:
                self.note(p)

    def note(self, pid):
        with self.lock:
            self._note(pid)

    def _note(self, pid):
        if pid in self.pids or pid == os.getpid():
            return
        st = proc_starttime(pid)
        if st is None:
            return
        self.pids[pid] = (st, cmdline(pid)[:160])
        try:
            ns = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            return
        if ns not in (HOST_NS, os.readlink("/proc/self/ns/net")):
            self.netns.add(ns)

    def poll(self):
        """Record descendants of our live processes and processes naming our folders."""
        with self.lock:
            self._poll()

    def _poll(self):
        ppid = proc_ppid_map()
        kids = {}
        for p, pp in ppid.items():
            kids.setdefault(pp, []).append(p)
        # only from processes still the ones we saw: a PID that died may be
        # reused by another lab's process, whose children are not ours
        todo = list(self.alive())
        seen = set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            self.note(p)
            todo.extend(kids.get(p, []))
        needles = self.needles()
        for p in ppid:
            if p not in self.pids and any(n in cmdline(p) for n in needles):
                self.note(p)
        for rid in list(self.run_ids):
            self.add_run(rid)
        # a run id appears as a folder under the results folder first
        try:
            for d in os.listdir(self.results):
                if re.match(r"^\d{8}-\d{6}-", d) and d not in self.run_ids:
                    self.run_ids.add(d)
        except OSError:
            pass

    def ids(self):
        with self.lock:
            return set(self.run_ids)

    def alive(self):
        with self.lock:
            pids = dict(self.pids)
        return {p: v for p, v in pids.items() if proc_starttime(p) == v[0]}


class Tracker:
    """Polls SCOPE in the background while a fault happens."""

    def __init__(self, scope, every=0.05):
        self.scope, self.every = scope, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop.is_set():
            try:
                self.scope.poll()
            except Exception:  # a process vanishing under us is normal
                pass
            self.stop.wait(self.every)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        self.scope.poll()


def _ip_json(*args):
    p = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, timeout=20)
    try:
        return json.loads(p.stdout or "[]")
    except ValueError:
        return []


def root_links():
    return {l["ifname"]: l for l in _ip_json("-d", "link", "show")}


def tc_filters(links):
    found = set()
    for name in links:
        for kind in ("ingress", "egress"):
            p = subprocess.run(["tc", "filter", "show", "dev", name, kind],
                               capture_output=True, text=True, timeout=20)
            for line in p.stdout.splitlines():
                if line.startswith("filter"):
                    found.add(f"{name} {kind}: {line.strip()}")
    return found


def bpf_progs_held_by(pids):
    p = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True,
                       timeout=30)
    try:
        progs = json.loads(p.stdout or "[]")
    except ValueError:
        return set()
    out = set()
    for prog in progs:
        for h in prog.get("pids", []):
            if h.get("pid") in pids:
                out.add(f"prog {prog.get('id')} {prog.get('name', '?')} held by pid {h['pid']}")
    return out


def bpf_pins():
    pins = set()
    for base, dirs, files in os.walk("/sys/fs/bpf"):
        for f in dirs + files:
            pins.add(os.path.join(base, f))
    return pins


def cgroup_dirs():
    found = set()
    root = Path("/sys/fs/cgroup")
    try:
        hier = [root] + [d for d in root.iterdir() if d.is_dir()]
    except OSError:
        return found
    for h in hier:
        try:
            parents = [d for d in h.iterdir() if d.name.startswith("uvmlab") and d.is_dir()]
        except OSError:
            continue
        for par in parents:
            for base, dirs, _files in os.walk(par):
                for d in dirs:
                    found.add(os.path.join(base, d))
    return found


def snapshot(scope):
    """The inventory of what SCOPE's run could own, now."""
    scope.poll()
    ids = scope.ids()
    inv = {k: set() for k in ("processes", "netns", "links", "tc", "bpf", "pins", "sockets",
                              "mounts", "memfds", "files", "cgroups")}
    alive = scope.alive()
    for p, (_st, cmd) in alive.items():
        inv["processes"].add(f"pid {p}: {cmd}")
    # namespaces: any process on the host still inside one of ours
    if scope.netns:
        holders = {}
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                ns = os.readlink(f"/proc/{d}/ns/net")
            except OSError:
                continue
            if ns in scope.netns:
                holders.setdefault(ns, []).append(int(d))
        for ns, pids in holders.items():
            # nsfs inode numbers are reused: a namespace of another run,
            # created once ours was gone, may carry the same one; its
            # processes name that run's folder
            others = {m for p in pids for m in RUN_ID.findall(cmdline(p))} - ids
            if others:
                continue
            for p in pids:
                inv["netns"].add(f"{ns} held by pid {p} ({cmdline(p)[:80]})")
    if os.path.isdir("/run/netns"):
        for n in os.listdir("/run/netns"):
            if any(rid in n for rid in ids):
                inv["netns"].add(f"/run/netns/{n}")
    links = root_links()
    for name, l in links.items():
        if UVMLAB_LINK.match(name):
            inv["links"].add(name)
    inv["tc"] = tc_filters(links)
    inv["bpf"] = bpf_progs_held_by(set(alive))
    inv["pins"] = {p for p in bpf_pins()
                   if "uvmlab" in p or any(rid in p for rid in ids)}
    needles = scope.needles() + [rid for rid in ids]
    try:
        with open("/proc/net/unix") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 8 and any(n in parts[7] for n in needles):
                    inv["sockets"].add(parts[7])
    except OSError:
        pass
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if any(n in parts[4] for n in needles) or \
               any(ns.replace("net:", "net:") in line for ns in scope.netns if "nsfs" in line):
                inv["mounts"].add(f"{parts[4]} ({line.split(' - ')[-1].split()[0]})")
    for p in alive:
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                try:
                    t = os.readlink(f"/proc/{p}/fd/{fd}")
                except OSError:
                    continue
                if t.startswith("/memfd:"):
                    inv["memfds"].add(f"pid {p} fd {fd}: {t}")
        except OSError:
            pass
    for rid in ids:
        d = Path(scope.run_root) / rid
        if d.exists():
            inv["files"].add(f"{d}/ ({', '.join(sorted(os.listdir(d)))})")
    for base, _dirs, files in os.walk(scope.results):
        for f in files:
            if f.endswith(".tmp") or f.endswith("~") or f.endswith(".partial") or \
               (f.startswith(".") and "tmp" in f):
                inv["files"].add(os.path.join(base, f))
    for c in cgroup_dirs():
        if any(rid in c for rid in ids):
            inv["cgroups"].add(c)
    return inv


def diff(before, after):
    """What is in AFTER and not in BEFORE, one finding per item."""
    found = []
    for k in after:
        for item in sorted(after[k] - before.get(k, set())):
            found.append(f"{k}: {item}")
    return found


def settle(scope, before, timeout=20):
    """The diff once things had up to TIMEOUT s to go (a killed QEMU takes a
    moment to be reaped; a supervisor tears down after its client died)."""
    deadline = time.monotonic() + timeout
    while True:
        d = diff(before, snapshot(scope))
        if not d or time.monotonic() > deadline:
            return d
        time.sleep(0.5)
