"""The command line itself: help that tells the truth, usage errors, lab errors."""
from framework.lab import run_id_dirs, scenario, uvmlab


def test_help_documents_commands_and_exit_codes():
    r = uvmlab("--help", check_code=0)
    for word in ("run FILE", "up FILE", "down RUN-ID", "down --all", "status", "exec VM",
                 "console VM", "validate FILE", "Exit codes", "0  everything passed",
                 "1  a check failed", "2  bad usage", "3  the lab itself failed"):
        assert word in r.out, word


def test_unknown_command_and_option_exit_2():
    r = uvmlab("frobnicate", check_code=2)
    assert "unknown command" in r.err
    r = uvmlab("run", "--bogus", scenario("pair"), check_code=2)
    assert "unknown option" in r.err
    r = uvmlab("run", check_code=2)
    r = uvmlab("run", "--accel", "warp", scenario("pair"), check_code=2)
    assert "--accel" in r.err


def test_missing_images_is_lab_failure_leaving_nothing(lab_results, tmp_path):
    before = run_id_dirs()
    r = uvmlab("run", "--images", tmp_path / "nothing-here", scenario("pair"),
               results=lab_results, check_code=3)
    assert "make guests" in r.err
    assert run_id_dirs() == before


def test_down_unknown_run_is_usage_error():
    uvmlab("down", "no-such-run", check_code=2)
    uvmlab("down", check_code=2)


def test_exec_without_lab_is_usage_error():
    r = uvmlab("exec", "--run", "no-such-run", "a", "--", "true", check_code=2)
    assert "no such run" in r.err


def test_exec_options_after_vm_are_options(tmp_path):
    """Options between VM and `--` are parsed, not run as the command."""
    env = {"UVMLAB_RUN_ROOT": str(tmp_path)}  # no labs here, whoever else runs some
    r = uvmlab("exec", "alice", "--run", "no-such-run", "--", "true", env=env, check_code=2)
    assert "no such run" in r.err, str(r)
    r = uvmlab("exec", "alice", "--timeout", "0", "--", "true", env=env, check_code=2)
    assert "--timeout" in r.err, str(r)
    r = uvmlab("exec", "alice", "--bogus", "--", "true", env=env, check_code=2)
    assert "unknown option" in r.err, str(r)
    # without `--`, the first word after VM that is not an option starts the command
    r = uvmlab("exec", "alice", "ping", "-c1", "198.18.0.1", env=env, check_code=2)
    assert "no running lab" in r.err, str(r)
    r = uvmlab("exec", "alice", "--", env=env, check_code=2)
    assert "no command" in r.err, str(r)


def test_accel_reports_a_verdict_with_reason():
    r = uvmlab("accel", check_code=0)
    name, _, reason = r.out.partition(":")
    assert name in ("kvm", "tcg")
    assert len(reason.strip()) > 5
