"""The suite's seed and its count of faults injected and recovered, by kind.

UVMLAB_FAULT_SEED (default: random) decides every random choice; it is
printed at the start and in the summary, so a failure replays with
UVMLAB_FAULT_SEED=S. UVMLAB_FAULT_SAMPLE=N keeps N cases (plan.sample()).
"""
import os
import random
from collections import Counter

SEED = int(os.environ.get("UVMLAB_FAULT_SEED") or random.SystemRandom().randrange(1, 10**6))
SAMPLE = int(os.environ.get("UVMLAB_FAULT_SAMPLE") or 0)

INJECTED = Counter()
RECOVERED = Counter()
