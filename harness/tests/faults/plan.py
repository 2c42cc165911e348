"""Which faults the suite injects: kinds, how many of each, their random parameters.

A case is one lab with its fault(s); its `rng` is derived from the suite's
seed and the case's kind and index only, so a case replays alike whether it
runs in the full set or in a sample.
"""
import random
from dataclasses import dataclass, field

# kind -> cases in the full set (each case injects `faults` faults)
FULL = {
    "signal_up": 9,
    "signal_run": 9,
    "signal_check": 2,      # 3 faults per lab
    "signal_down": 6,
    "qemu_kill_boot": 4,
    "qemu_kill_check": 3,
    "qemu_stop_boot": 3,
    "qemu_stop_check": 3,
    "vsockd_kill_boot": 4,
    "vsockd_kill_check": 3,
    "internet_kill": 3,
    "results_full": 2,
    "two_labs_one_root": 2,
    "two_labs_two_roots": 2,
    "console_flood": 2,
    "agent_flood": 2,
}
FAULTS_PER_CASE = {"signal_check": 3}
SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT")


@dataclass
class Case:
    kind: str
    index: int
    seed: int
    faults: int = 1
    rng: random.Random = field(default=None, repr=False)

    def __post_init__(self):
        self.rng = random.Random(f"{self.seed}/{self.kind}/{self.index}")
        # signals cycle so that every signal is hit in the full set
        off = random.Random(f"{self.seed}/{self.kind}").randrange(3)
        self.signal = SIGNALS[(self.index + off) % 3] if self.kind.startswith("signal_") else None

    @property
    def id(self):
        return f"{self.kind}-{self.index}" + (f"-{self.signal}" if self.signal else "")


def all_cases(seed):
    return [Case(k, i, seed, FAULTS_PER_CASE.get(k, 1)) for k, n in FULL.items() for i in range(n)]


def sample(seed, n):
    """N cases chosen by SEED, round-robin across kinds in a seeded order."""
    rng = random.Random(f"{seed}/sample")
    kinds = list(FULL)
    rng.shuffle(kinds)
    picked, i = [], 0
    pools = {k: list(range(FULL[k])) for k in kinds}
    for p in pools.values():
        rng.shuffle(p)
    while len(picked) < n and any(pools.values()):
        k = kinds[i % len(kinds)]
        if pools[k]:
            picked.append(Case(k, pools[k].pop(), seed, FAULTS_PER_CASE.get(k, 1)))
        i += 1
    return picked


def cases_of(kind, seed, n_sample):
    chosen = sample(seed, n_sample) if n_sample else all_cases(seed)
    mine = [c for c in chosen if c.kind == kind]
    return mine or [None]
