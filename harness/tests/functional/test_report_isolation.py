"""uvmlab report on `uvmlab run` folders: the isolation section (checks with
their evidence, guest probe findings, flow matrix, flow graph), mixed with a
boot folder, and its errors. No VMs: the result folders are small fixtures in
data/report/ shaped like real runs (run-leak: a flow-matrix violation and a
failing attribution probe with findings; run-pass: everything allowed; boot:
a trimmed `uvmlab bench boot` folder; broken: a truncated result.json)."""
import base64
import json
import re
import struct
from pathlib import Path

from framework.lab import uvmlab

DATA = Path(__file__).parent / "data" / "report"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data):
    """(width, height) from a PNG's IHDR, asserting it is one."""
    assert data[:8] == PNG_MAGIC, data[:16]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def report(tmp_path, *dirs):
    out = tmp_path / "out"
    uvmlab("report", *dirs, "--out", out, check_code=0)
    return out, (out / "report.md").read_text(), (out / "report.html").read_text()


def test_run_report_has_checks_findings_flows_and_graph(tmp_path):
    out, md, doc = report(tmp_path, DATA / "run-leak", DATA / "run-pass")
    leak = json.loads((DATA / "run-leak" / "result.json").read_text())

    assert "## Isolation: whonix-leak" in md and "## Isolation: pair" in md
    for c in leak["checks"]:
        assert f"| {c['name']} |" in md, c["name"]
    # Failures and errors come before passes, and are marked.
    table = md[md.index("| check | kind"):md.index("### Guest probe findings")]
    assert table.index("direct-udp-blocked") < table.index("fetch-via-tor")
    assert table.index("host-vsock") < table.index("dns-via-tor")
    assert "| **FAIL** | udp 203.0.113.53:53 from work" in table
    assert "| **ERROR** |" in table
    # The violating flow and the failing probe's findings, capped.
    assert "| work | internet | udp | 3 | 180 | **violation** |" in md
    assert "### Guest probe findings: gateway-uplink-only-tor" in md
    assert "| eth0 | - | 198.18.2.2 | 203.0.113.53 | udp/53 | root/nc pid 412 | 3 | 180 | owner not allowed |" in md
    assert "23 findings, the first 20 shown" in md
    assert "root/leak-23" not in md
    # Guest text cannot become markup or break a Markdown table.
    assert "<script>" not in md and "\\| guest said &lt;script>" in md

    pngs = sorted(out.glob("flows-*.png"))
    assert [p.name for p in pngs] == ["flows-20261122-180000-whonix-leak-0001.png",
                                      "flows-20261122-180500-pair-0002.png"]
    for p in pngs:
        assert f"]({p.name})" in md
        w, h = png_size(p.read_bytes())
        assert w >= 400 and h >= 400 and p.stat().st_size > 10000, (p, w, h)


def test_run_report_html_escapes_evidence_and_embeds_the_graph(tmp_path):
    out, _, doc = report(tmp_path, DATA / "run-leak")
    assert "<script" not in doc
    assert "guest said &lt;script&gt;alert(&#x27;evidence&#x27;)&lt;/script&gt;" in doc
    assert "<tr class='bad'><td>direct-udp-blocked</td>" in doc
    assert "root/nc pid 412" in doc and "root/leak-23" not in doc
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', doc)
    assert len(imgs) == 1
    embedded = base64.b64decode(imgs[0])
    png_size(embedded)
    assert embedded == (out / "flows-20261122-180000-whonix-leak-0001.png").read_bytes()


def test_boot_and_run_folders_together_give_both_sections(tmp_path):
    out, md, doc = report(tmp_path, DATA / "boot", DATA / "run-pass")
    assert md.startswith("# uvmlab report\n")
    assert "## Boot latency" in md and "### Headline ratios" in md
    assert "| stock-pc | pc | stock | bzimage |" in md
    assert "## Isolation: pair" in md and "| a | b | icmp | 2 | 196 | allowed |" in md
    for name in ("phases.png", "distribution.png", "flows-20261122-180500-pair-0002.png"):
        png_size((out / name).read_bytes())
    assert "<h2>Boot latency</h2>" in doc and "<h2>Isolation: pair</h2>" in doc
    assert len(re.findall(r"data:image/png;base64,", doc)) == 3


def test_boot_folder_alone_keeps_the_boot_report(tmp_path):
    out, md, _ = report(tmp_path, DATA / "boot")
    assert md.startswith("# uvmlab boot latency report\n")
    assert "## Headline ratios" in md and "Isolation" not in md
    assert not list(out.glob("flows-*.png"))


def test_broken_result_json_exits_2_with_the_path(tmp_path):
    r = uvmlab("report", DATA / "broken", "--out", tmp_path / "out", check_code=2)
    assert r.err.startswith(f"report: {DATA / 'broken' / 'result.json'}: not valid JSON"), r.err
    assert not (tmp_path / "out" / "report.md").exists()


def test_malformed_run_result_exits_2_with_the_reason(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    res = json.loads((DATA / "run-pass" / "result.json").read_text())
    res["flow_matrix"]["a->b icmp"] = "2 packets"
    (run / "result.json").write_text(json.dumps(res))
    r = uvmlab("report", DATA / "run-pass", run, "--out", tmp_path / "out", check_code=2)
    assert r.err.strip() == f"report: {run / 'result.json'}: flow_matrix['a->b icmp'] is not an object"
    r = uvmlab("report", tmp_path / "missing", "--out", tmp_path / "out", check_code=2)
    assert r.err.strip() == f"report: {tmp_path / 'missing' / 'result.json'}: No such file or directory"


def test_flow_protocols_by_name(tmp_path):
    """A result file that carries protocol numbers ("2", 1) is reported by name;
    a number without a name stays a number."""
    run = tmp_path / "run-numbers"
    run.mkdir()
    res = json.loads((DATA / "run-pass" / "result.json").read_text())
    res["flow_matrix"] = {
        "a->b 2": dict(res["flow_matrix"]["a->b icmp"], proto="2"),
        "b->a 1": dict(res["flow_matrix"]["b->a icmp"], proto=1),
        "a->b 253": dict(res["flow_matrix"]["a->b icmp"], proto="253"),
    }
    (run / "result.json").write_text(json.dumps(res))
    _, md, doc = report(tmp_path, run)
    assert "| a | b | igmp | 2 | 196 | allowed |" in md, md
    assert "| b | a | icmp | 2 | 196 | allowed |" in md, md
    assert "| a | b | 253 |" in md, md
    assert "<td>igmp</td>" in doc


def test_report_on_an_up_run_folder(tmp_path):
    """A folder left by `uvmlab up` has check-N/result.json and no result.json
    of its own: the newest check is reported (all with --all-checks), and the
    report says which."""
    import shutil
    run = tmp_path / "20261122-180000-up-0001"
    run.mkdir()
    (run / "supervisor.log").write_text("")
    shutil.copytree(DATA / "run-pass", run / "check-1")
    shutil.copytree(DATA / "run-leak", run / "check-2")
    leak = json.loads((run / "check-2" / "result.json").read_text())
    (run / "check-2" / "result.json").write_text(json.dumps(dict(leak, flows_since="check-1")))
    (run / "check-3").mkdir()  # a check that never wrote its result is skipped
    out = tmp_path / "out"
    r = uvmlab("report", run, "--out", out, check_code=0)
    md = (out / "report.md").read_text()
    assert "Isolation: whonix-leak (check-2)" in md and "Isolation: pair" not in md, md[:400]
    assert "newest check, check-2 of 2" in r.err, str(r)
    assert "- **flows since**: check-1" in md
    r = uvmlab("report", "--all-checks", run, "--out", out, check_code=0)
    md = (out / "report.md").read_text()
    assert md.index("Isolation: pair (check-1)") < md.index("Isolation: whonix-leak (check-2)")
    assert "all 2 checks" in r.err, str(r)
    # default --out: the run folder itself
    uvmlab("report", run, check_code=0)
    assert (run / "report.md").exists()
