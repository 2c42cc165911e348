"""Every mutant must be caught: a scenario that breaks one property exits 1
naming the check that proves it, and every check kind has such a mutant.

A mutant file says what it must fail in header lines of its own:

    # must-fail: CHECK-NAME KIND

KIND is the check's kind as result.json names it, with the protocol for
reach checks (reach/icmp, reach/tcp, reach/udp, vsock, fetch, resolve,
forwarding, attribution, policy), or `containment containment` for the
run's containment record (result.json "containment", not a check row). The run must exit 1, each named check must
fail (or be inconclusive) with that kind, every other check must pass, and no
check may end in a lab error: a mutant "caught" by a broken lab proves nothing. README's mutant
table must list exactly these files and claims.
"""
import re

import pytest

from framework.lab import REPO, leftovers, result_of, uvmlab

MUTANTS = sorted((REPO / "scenarios" / "mutants").glob("*.yaml"))
# Every kind of check and protocol must have a mutant that proves it can fail.
KINDS = {"reach/icmp", "reach/tcp", "reach/udp", "vsock", "fetch", "resolve",
         "forwarding", "attribution", "policy", "containment"}
MUST_FAIL = re.compile(r"^# must-fail: ([a-z0-9-]+) ([a-z/]+)\s*$")


def claims(path):
    """[(check, kind)] from PATH's '# must-fail:' lines."""
    return [m.groups() for m in map(MUST_FAIL.match, path.read_text().splitlines()) if m]


def needs_tor(path):
    return "tor-private-network" in path.read_text()


def kind_of(row):
    return f"reach/{row['proto']}" if row["kind"] == "reach" else row["kind"]


def test_every_mutant_says_what_it_must_fail():
    assert MUTANTS, "no mutants found"
    for m in MUTANTS:
        assert claims(m), f"{m.name} has no '# must-fail: CHECK KIND' line"


def test_every_check_kind_has_a_mutant():
    covered = {kind for m in MUTANTS for _, kind in claims(m)}
    assert KINDS <= covered, f"check kinds without a mutant: {sorted(KINDS - covered)}"


def test_readme_table_matches_the_mutants():
    text = (REPO / "README.md").read_text()
    rows = set(re.findall(r"^\| `?([a-z/]+)`? \| `mutants/([a-z0-9-]+)\.yaml` \| `([a-z0-9-]+)` \|",
                          text, re.M))
    want = {(kind, m.stem, check) for m in MUTANTS for check, kind in claims(m)}
    assert rows == want, (f"README table and mutant headers differ:\n only in README: "
                          f"{sorted(rows - want)}\n only in mutants: {sorted(want - rows)}")


def _param(m):
    breach = ("containment", "containment") in claims(m)
    return pytest.param(m, id=m.stem, marks=[pytest.mark.breaches_containment] if breach else [])


@pytest.mark.boots
@pytest.mark.parametrize("path", [_param(m) for m in MUTANTS if not needs_tor(m)])
def test_mutant_is_caught(lab_results, path):
    r = uvmlab("run", path, results=lab_results)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    rows = {c["name"]: c for c in res["checks"]}
    errors = [n for n, c in rows.items() if c["verdict"] == "error"]
    assert not errors, f"lab errors in a mutant run prove nothing: {errors}\n{r}"
    # exactly the claimed checks fail: a mutant breaks one property, not the lab
    failed = sorted(n for n, c in rows.items() if c["verdict"] != "pass")
    checks = [(c, k) for c, k in claims(path) if k != "containment"]
    assert failed == sorted(c for c, _ in checks), {n: rows[n]["evidence"] for n in failed}
    # containment holds in every other mutant, and its own mutant breaks it
    breach = ("containment", "containment") in claims(path)
    assert res["containment"]["verdict"] == ("breached" if breach else "contained"), \
        res["containment"]
    if breach:
        assert res["containment"]["outside_packets"] > 0, res["containment"]
        assert "containment: breached" in r.out, r.out
    for check, kind in checks:
        assert check in rows, f"{path.name}: no check named {check}"
        assert kind_of(rows[check]) == kind, rows[check]
        assert rows[check]["verdict"] in ("fail", "inconclusive"), rows[check]
        assert check in r.out, r.out
    assert not leftovers(run_dir.name)


def test_tor_mutants_have_their_own_test():
    """Mutants on the private Tor network take minutes; test_whonix.py runs
    each of them (and asserts more of their evidence)."""
    whonix = (REPO / "harness" / "tests" / "functional" / "test_whonix.py").read_text()
    for m in MUTANTS:
        if needs_tor(m):
            assert f"mutants/{m.stem}" in whonix, f"{m.name} needs Tor but no test runs it"
