"""The command line itself: help that tells the truth, usage errors, lab errors."""
import json
import re

from framework.lab import REPO, run_id_dirs, scenario, uvmlab


def test_help_documents_commands_and_exit_codes():
    r = uvmlab("--help", check_code=0)
    for word in ("run FILE", "up FILE", "down RUN-ID", "down --all", "status", "exec VM",
                 "console VM", "validate FILE", "plan FILE", "--json", "Exit codes", "0  everything passed",
                 "1  a check failed", "2  bad usage", "3  the lab itself failed"):
        assert word in r.out, word


def test_help_names_every_option():
    """Every long option the parser accepts, and those of bench and report, is in --help."""
    out = uvmlab("--help", check_code=0).out
    src = (REPO / "harness" / "cli" / "cli.c").read_text()
    table = src[src.index("longopts[] = {"):src.index("{ 0 },")]
    accepted = re.findall(r'\{ "([a-z-]+)",', table)
    assert "since-last" in accepted and "json" in accepted
    for opt in accepted + ["repeat", "warmup", "no-bare", "out", "hyperfine", "all-checks", "version"]:
        assert f"--{opt}" in out, opt
    assert "which run (check, exec, console" in out


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


def test_plan_prints_the_address_plan():
    """`plan` shows what `run` would build, without running anything."""
    r = uvmlab("plan", scenario("routed"), check_code=0)
    mac = r"02(?::[0-9a-f]{2}){5}"
    # routers take the low addresses; app VMs route through them
    assert re.search(rf"^router\s+eth1\s+right\s+{mac}\s+198\.18\.11\.1/24\s+vm0n1\s+-\s+-$",
                     r.out, re.M), r.out
    assert re.search(rf"^alice\s+eth0\s+left\s+{mac}\s+198\.18\.10\.2/24\s+vm1n0\s+-\s+198\.18\.10\.1$",
                     r.out, re.M), r.out
    assert re.search(r"^left\s+198\.18\.10\.0/24\s+br-left\s+-$", r.out, re.M), r.out
    assert "start order: router (wave 0), alice (wave 1)" in r.out, r.out
    j = json.loads(uvmlab("plan", "--json", scenario("routed"), check_code=0).out)
    assert j["schema"] == "uvmlab.plan/1" and j["scenario"] == "routed"
    alice = next(v for v in j["vms"] if v["name"] == "alice")
    assert alice["gateway"] == "198.18.10.1" and alice["depends_on"] == ["router"]
    assert alice["vsock_cid"] is None  # routed.yaml has no vsock: section
    nic = alice["nics"][0]
    assert (nic["nic"], nic["network"], nic["address"], nic["prefix"], nic["tap"]) == \
        ("eth0", "left", "198.18.10.2", 24, "vm1n0")
    assert re.search(rf"^alice\s+eth0\s+left\s+{nic['mac']}\s", r.out, re.M)
    # deterministic: the same plan every time
    assert uvmlab("plan", "--json", scenario("routed")).out == json.dumps(j, indent=2) + "\n"
    # vsock scenarios get CIDs (3 + declaration index); the internet's gateway is shown
    j = json.loads(uvmlab("plan", "--json", scenario("vsock"), check_code=0).out)
    assert [v["vsock_cid"] for v in j["vms"]] == [3 + i for i in range(len(j["vms"]))]
    j = json.loads(uvmlab("plan", "--json", scenario("whonix"), check_code=0).out)
    assert {n["name"]: n.get("internet_gateway") for n in j["networks"]}["uplink"] == "198.18.1.254"


def test_plan_bad_scenario_is_one_line_exit_2():
    r = uvmlab("plan", "fixtures/bad-scenarios/cycle-three.yaml", check_code=2)
    assert r.out == "" and len(r.err.strip().splitlines()) == 1, str(r)
    assert r.err.startswith("fixtures/bad-scenarios/cycle-three.yaml:8:18: dependency cycle"), r.err
    r = uvmlab("plan", check_code=2)
    assert "one scenario FILE" in r.err
