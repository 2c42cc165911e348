"""A run whose result.json cannot be written is a lab failure, never a PASS.

The results folder sits on a tmpfs filled to the last byte: the lab itself
boots and its checks pass, but the record of them is lost, so `uvmlab run`
must exit 3, say why, and not point at a result.json that does not exist."""
import re
import subprocess

import pytest

from framework.lab import leftovers, scenario, uvmlab

pytestmark = pytest.mark.boots


@pytest.fixture
def full_fs(tmp_path):
    mnt = tmp_path / "full"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "none", str(mnt)],
                   check=True)
    try:
        # fill it: creating files still works, writing any byte does not
        subprocess.run(["dd", "if=/dev/zero", "of=%s/filler" % mnt, "bs=64k"],
                       capture_output=True)
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_unwritable_result_is_a_lab_failure(full_fs):
    r = uvmlab("run", scenario("pair"), results=full_fs)
    assert r.code == 3, str(r)
    assert re.search(r"could not write .*result\.json: No space left on device", r.err), str(r)
    last = r.out.strip().splitlines()[-1]
    assert "LAB FAILURE" in last and "PASS" not in last, str(r)
    assert last.endswith("result.json (not written)"), str(r)
    run_id = last.split()[1].rstrip(":")
    assert leftovers(run_id) == []
