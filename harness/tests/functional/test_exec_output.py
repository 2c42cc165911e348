"""`uvmlab exec` output past the agent's 1 MiB cap is cut visibly, with the command's status kept."""
import pytest

from framework.lab import leftovers, scenario, uvmlab

pytestmark = pytest.mark.boots

CAP = 1 << 20  # AGENT_MAX_OUTPUT


def test_exec_says_what_it_cut(lab_results):
    r = uvmlab("up", scenario("pair"), results=lab_results, check_code=0)
    run_id = r.out.strip()
    try:
        e = uvmlab("exec", "--run", run_id, "a", "--", "sh", "-c",
                   f"head -c {CAP + 4321} /dev/zero; echo fine >&2; exit 7", timeout=120)
        assert e.code == 7, str(e)[:2000]
        assert len(e.out) == CAP
        assert e.err.splitlines() == [
            "fine", f'uvmlab: exec: vm "a": stdout cut after {CAP} bytes, 4321 more dropped'], \
            e.err
        # what fits is passed on whole, with no notice
        e = uvmlab("exec", "--run", run_id, "a", "--", "head", "-c", str(CAP), "/dev/zero",
                   timeout=120, check_code=0)
        assert len(e.out) == CAP and e.err == "", e.err
    finally:
        uvmlab("down", run_id)
    assert leftovers(run_id) == []
