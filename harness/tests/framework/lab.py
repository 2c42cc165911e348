"""Drive the uvmlab binary the way a user does, with a hard timeout on every call."""
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
UVMLAB = os.environ.get("UVMLAB", str(REPO / "build" / "uvmlab"))
BUILD = Path(os.environ.get("UVMLAB_BUILD", str(REPO / "build")))
# the same override uvmlab itself honours, so a test run can keep to its own runs
RUN_ROOT = os.environ.get("UVMLAB_RUN_ROOT", "/run/uvmlab")

# A guest operation never waits longer than this; boots have their own
# in-uvmlab timeout well below it.
HARD_TIMEOUT_S = 420


@dataclass
class Completed:
    code: int
    out: str
    err: str

    def __str__(self):
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def uvmlab(*args, results=None, timeout=HARD_TIMEOUT_S, env=None, check_code=None):
    """Run `uvmlab ARGS...` and return Completed; optionally assert the exit code."""
    e = dict(os.environ)
    e["UVMLAB_PROGRESS"] = "0"
    if results is not None:
        e["UVMLAB_RESULTS"] = str(results)
    if env:
        e.update(env)
    p = subprocess.run([UVMLAB, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=e, cwd=REPO, stdin=subprocess.DEVNULL)
    c = Completed(p.returncode, p.stdout, p.stderr)
    if check_code is not None:
        assert c.code == check_code, str(c)
    return c


def scenario(name):
    return REPO / "scenarios" / f"{name}.yaml"


def result_of(results_dir):
    """The single run folder's result.json under RESULTS_DIR."""
    runs = [d for d in Path(results_dir).iterdir() if (d / "result.json").exists()]
    assert len(runs) == 1, f"expected one run in {results_dir}, found {runs}"
    with open(runs[0] / "result.json") as f:
        return json.load(f), runs[0]


def run_id_dirs():
    p = Path(RUN_ROOT)
    return sorted(d.name for d in p.iterdir() if d.is_dir()) if p.exists() else []


def runs_writing_to(results_dir, among):
    """The run ids in AMONG that write into RESULTS_DIR: the runs one test
    started, not those of a test running beside it on the same host."""
    return [rid for rid in among if run_results_under(rid, results_dir)]


def processes_mentioning(needle):
    """PIDs whose command line contains NEEDLE (ours excluded)."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd:
            found.append(int(d.name))
    return found


def run_results_under(run_id, results):
    """Whether live run RUN_ID writes its results under RESULTS (a run that
    has no state yet is not known to be ours)."""
    try:
        with open(Path(RUN_ROOT) / run_id / "state.json") as f:
            rd = json.load(f).get("results_dir", "")
    except (OSError, ValueError):
        return False
    return Path(rd).resolve().is_relative_to(Path(results).resolve())


def net_namespaces():
    """Network namespace inodes held by any process, plus named ones."""
    seen = set()
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            seen.add(os.readlink(d / "ns" / "net"))
        except OSError:
            pass
    named = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    return seen, named


def lab_mounts():
    with open("/proc/self/mountinfo") as f:
        return [l for l in f if "uvmlab" in l]


def run_cgroups(run_id):
    """The cgroup directories of RUN_ID on this host (any hierarchy, any
    nesting): uvmlab names them .../uvmlab/<run-id>."""
    found = []
    for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(dirpath) == "uvmlab" and run_id in dirnames:
            found.append(os.path.join(dirpath, run_id))
        # a run's own leaf has no children worth walking
        dirnames[:] = [d for d in dirnames if not (os.path.basename(dirpath) == "uvmlab")]
    return found


def leftovers(run_id=None):
    """Everything a run may have left: returns a list of human-readable findings."""
    found = []
    needle = f"{RUN_ROOT}/{run_id}/" if run_id else f"{RUN_ROOT}/"
    pids = processes_mentioning(needle)
    if pids:
        found.append(f"processes still mention {needle}: {pids}")
    if run_id and os.path.exists(f"{RUN_ROOT}/{run_id}"):
        found.append(f"{RUN_ROOT}/{run_id} still exists: {os.listdir(f'{RUN_ROOT}/{run_id}')}")
    if not run_id and run_id_dirs():
        found.append(f"run directories remain: {run_id_dirs()}")
    if lab_mounts():
        found.append(f"mounts remain: {lab_mounts()}")
    if run_id and run_cgroups(run_id):
        found.append(f"cgroups remain: {run_cgroups(run_id)}")
    if run_id and run_leases(run_id):
        found.append(f"unprivileged id leases remain: {run_leases(run_id)}")
    return found


IDS_DIR = "/run/uvmlab-ids"


def run_leases(run_id):
    """Lease files (PID STARTTIME OWNER) of RUN_ID's unprivileged ids."""
    out = []
    try:
        names = os.listdir(IDS_DIR)
    except FileNotFoundError:
        return out
    for n in names:
        if not n.isdigit():
            continue
        try:
            fields = open(os.path.join(IDS_DIR, n)).read().split()
        except OSError:
            continue
        if len(fields) == 3 and fields[2] == run_id:
            out.append(n)
    return sorted(out)


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def kill9(pid):
    os.kill(pid, signal.SIGKILL)
