"""fetch and resolve mutants without the private Tor network: they fail, and for the right reason."""
import pytest

from framework.lab import leftovers, result_of, scenario, uvmlab

pytestmark = pytest.mark.boots


@pytest.mark.parametrize("mutant,check,reason", [
    # the page comes back, but the web server saw the router's NAT address
    ("mutants/plain-router-fetch", "fetch-via-tor", "page fetched: the web server saw 198.18.1."),
    # an answer comes back, but the fake DNS saw the query from the lab
    ("mutants/plain-router-resolve", "dns-via-tor", "web.test -> 203.0.113.80; the fake DNS saw a query from 198.18.1."),
])
def test_net_mutant_fails_for_the_right_reason(lab_results, mutant, check, reason):
    r = uvmlab("run", scenario(mutant), results=lab_results)
    assert r.code == 1, str(r)
    res, run_dir = result_of(lab_results)
    assert res["verdict"] == "fail"
    rows = {c["name"]: c for c in res["checks"]}
    assert [n for n, c in rows.items() if c["verdict"] != "pass"] == [check], rows
    assert reason in rows[check]["evidence"], rows[check]
    assert "a lab address" in rows[check]["evidence"]
    assert check in r.out and "FAIL" in r.out
    assert not leftovers(run_dir.name)
