"""Variables that name programs uvmlab runs (UVMLAB_QEMU, UVMLAB_VSOCKD,
UVMLAB_REPORT_PY, UVMLAB_FIXTURES) are ignored as root unless
--allow-env-overrides says otherwise."""
import os

import pytest

from framework.lab import uvmlab

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the rule is about root")


def _fake_report(tmp_path):
    marker = tmp_path / "ran"
    script = tmp_path / "evil.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    (tmp_path / "res").mkdir()
    return script, marker


def test_root_ignores_report_py_override(tmp_path):
    script, marker = _fake_report(tmp_path)
    r = uvmlab("report", tmp_path / "res", env={"UVMLAB_REPORT_PY": str(script)})
    assert not marker.exists(), str(r)
    assert "ignoring UVMLAB_REPORT_PY" in r.err and "--allow-env-overrides" in r.err


def test_allow_env_overrides_flag_honours_it(tmp_path):
    script, marker = _fake_report(tmp_path)
    r = uvmlab("--allow-env-overrides", "report", tmp_path / "res",
               env={"UVMLAB_REPORT_PY": str(script)})
    assert marker.exists(), str(r)
    assert "ignoring" not in r.err
    marker.unlink()
    uvmlab("report", "--allow-env-overrides", tmp_path / "res",
           env={"UVMLAB_REPORT_PY": str(script)})
    assert marker.exists()


def test_root_ignores_qemu_override(tmp_path):
    r = uvmlab("accel", env={"UVMLAB_QEMU": "/nonexistent/qemu"})
    assert "ignoring UVMLAB_QEMU" in r.err
    assert "/nonexistent/qemu" not in r.err
