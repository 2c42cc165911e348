"""`uvmlab validate`: every malformed scenario is one clear line at the right place, exit 2."""
import os
import re
from pathlib import Path

import pytest

from framework.lab import REPO, uvmlab

BAD = sorted((REPO / "fixtures" / "bad-scenarios").glob("*.yaml"))
GOOD = sorted((REPO / "fixtures" / "good-scenarios").glob("*.yaml")) + \
    sorted((REPO / "scenarios").glob("**/*.yaml"))


def expectation(path):
    first = path.read_text(errors="replace").splitlines()[0] if path.stat().st_size else ""
    m = re.match(r"#\s*expect-error:\s*(\d+):(\d+):\s*(.+?)\s*$", first)
    return m.groups() if m else None


def test_enough_bad_scenarios():
    assert len(BAD) >= 15


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_scenario_is_one_line_at_its_position(path):
    exp = expectation(path)
    rel = path.relative_to(REPO)
    r = uvmlab("validate", rel, check_code=2)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, f"expected exactly one line:\n{r.err}"
    assert r.out == ""
    if exp is None:  # files that cannot carry a header comment (empty file)
        assert lines[0].startswith(f"{rel}:1:1: "), lines[0]
        return
    line, col, substr = exp
    assert lines[0].startswith(f"{rel}:{line}:{col}: "), lines[0]
    assert substr in lines[0], lines[0]


@pytest.mark.parametrize("path", GOOD, ids=lambda p: str(p.relative_to(REPO)))
def test_good_scenarios_validate(path):
    r = uvmlab("validate", path.relative_to(REPO), check_code=0)
    assert ": ok (" in r.out


def test_missing_file_is_usage_error():
    r = uvmlab("validate", "no/such/file.yaml", check_code=2)
    assert "no/such/file.yaml" in r.err


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_scenario_that_is_not_a_file_is_refused_at_once(tmp_path, kind):
    """A FIFO would block open() until a writer came, a device read() forever:
    both are one line and exit 2 within the call's bound, never a hang."""
    if kind == "fifo":
        path = tmp_path / "scenario.yaml"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    r = uvmlab("validate", path, timeout=10, check_code=2)
    assert r.err.strip() == f"{path}: cannot read scenario: not a regular file (a pipe, device or /proc file?)"
    r = uvmlab("run", path, timeout=10, check_code=2)
    assert "not a regular file" in r.err


@pytest.mark.parametrize("odd", ["new\nline", "esc\x1b[31mred", "cr\rtab\t"])
def test_file_name_with_control_characters_stays_one_escaped_line(tmp_path, odd):
    """A newline would split the one-line error, an ESC would reach the terminal."""
    path = tmp_path / f"{odd}.yaml"
    path.write_text("name: [\n")
    r = uvmlab("validate", path, check_code=2)
    shown = str(path).replace("\n", "\\n").replace("\x1b", "\\x1b").replace("\r", "\\r") \
        .replace("\t", "\\t")
    assert r.err.count("\n") == 1 and "\x1b" not in r.err and "\r" not in r.err, repr(r.err)
    assert r.err.startswith(f"{shown}:2:1: YAML syntax error"), repr(r.err)
    path.write_text("name: ok\nvms:\n  a: {}\n")
    r = uvmlab("validate", path, check_code=0)
    assert r.out == f"{shown}: ok (0 networks, 1 VMs, 0 checks)\n", repr(r.out)
    r = uvmlab("plan", path, check_code=0)
    assert r.out.startswith(f"plan ok ({shown}): 0 network(s), 1 VM(s)\n"), repr(r.out)
    assert "\x1b" not in r.out and "\r" not in r.out, repr(r.out)
    r = uvmlab("validate", tmp_path / f"missing-{odd}", check_code=2)
    assert r.err.count("\n") == 1 and "\x1b" not in r.err, repr(r.err)


SECRET = "root:$y$j9T$not-a-real-hash:20000:0:99999:7:::\nbin:*:20000:0:99999:7:::\n"


@pytest.mark.parametrize("content", [SECRET, "secret-token-4711\n", "- secret-token-4711\n"],
                         ids=["shadow-like", "scalar", "sequence"])
def test_a_file_that_is_no_scenario_is_not_quoted(tmp_path, content):
    """A link to a secret file must not make the error print the secret: a
    file that is not a scenario gets its position and the problem only."""
    secret = tmp_path / "secret"
    secret.write_text(content)
    link = tmp_path / "scenario.yaml"
    link.symlink_to(secret)
    r = uvmlab("validate", link, check_code=2)
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert r.err.startswith(f"{link}:1:1: "), r.err
    said = r.err[len(str(link)):]
    for word in ("root", "not-a-real-hash", "secret-token"):
        assert word not in said, r.err
    assert "not a scenario" in r.err or "found a " in r.err, r.err


def test_quoted_value_is_escaped_once(tmp_path):
    """The value is quoted with its own escapes; escaping the line for the
    terminal must not double them."""
    path = tmp_path / "q.yaml"
    path.write_text('name: "a\\"b\\tc"\nvms: { a: }\n')
    r = uvmlab("validate", path, check_code=2)
    assert r.err == f'{path}:1:7: scenario: name: invalid name "a\\"b\\x09c": use 1..32 ' \
        "characters a-z, 0-9 or '-'\n", repr(r.err)
