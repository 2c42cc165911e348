#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""report.py: Markdown + self-contained HTML report from uvmlab result folders.

Usage: report.py --out DIR [--hyperfine FILE.json ...] RESULT_DIR...

Reads RESULT_DIR/result.json (schema uvmlab.result/1) of two kinds, and a mix
of both in one call gives both sections:
- `uvmlab bench boot` folders (metrics named "boot"): boot latency tables and
  plots. Statistics are the ones uvmlab computed in C (medians, 95% CIs, CV);
  this script only arranges them, computes the two headline ratios and draws.
- `uvmlab run` folders (`checks` or `flow_matrix`, no boot metrics): an
  isolation section per run with the checks and their evidence (failures
  first), the guest probe's findings, the flow matrix and a flow graph.

Writes DIR/report.md, DIR/report.html (plots embedded) and the plots as PNG
files beside them. Everything taken from result.json is escaped in HTML: the
evidence can quote guest-provided text.

Exit codes: 0 written, 2 bad usage or unreadable input (`report: PATH: why`),
3 could not write.
"""
import argparse
import base64
import html
import io
import json
import math
import os
import re
import sys

SEGMENTS = ("qemu_start", "firmware", "kernel", "agent")
SEGMENT_HELP = {
    "qemu_start": "QEMU exec to QMP greeting (QEMU's own start-up)",
    "firmware": "QMP greeting to first console byte (firmware, kernel decompressor)",
    "kernel": "first console byte to init start (kernel boot)",
    "agent": "init start to agent ready (modules, network, control port)",
}

# Flow-matrix verdicts, worst first; the graph colours and the table order use it.
FLOW_VERDICTS = ("violation", "unjudged", "allowed", "transit", "control")
FLOW_COLOURS = {"allowed": "#2e7d32", "violation": "#c62828", "control": "#9e9e9e",
                "transit": "#9e9e9e", "unjudged": "#1565c0"}
OTHER_COLOUR = "#6a1b9a"
CHECK_ORDER = {"error": 0, "fail": 1}
FINDINGS_MAX = 20
FINDING_HEAD = ["out", "in", "src", "dst", "proto", "owner", "packets", "bytes", "why"]


def fail(code, msg):
    print(f"report: {msg}", file=sys.stderr)
    sys.exit(code)


KIND_NAME = {dict: "an object", list: "a list"}


def boot_problem(boots):
    """Why these boot metrics cannot be reported, or None."""
    for i, m in enumerate(boots):
        for key, kind in (("params", dict), ("summary", dict), ("samples", list)):
            if not isinstance(m.get(key), kind):
                return f"boot metric {i} ({m.get('vm', '?')}): {key} is not {KIND_NAME[kind]}"
    return None


def run_problem(res):
    """Why a run's checks and flows cannot be reported, or None."""
    checks = res.get("checks", [])
    if not isinstance(checks, list):
        return "checks is not a list"
    for i, c in enumerate(checks):
        if not isinstance(c, dict):
            return f"checks[{i}] is not an object"
        if not isinstance(c.get("findings", []), list) or \
                not all(isinstance(f, dict) for f in c.get("findings", [])):
            return f"checks[{i}].findings is not a list of objects"
        if not isinstance(c.get("probe", {}), dict):
            return f"checks[{i}].probe is not an object"
    matrix = res.get("flow_matrix", {})
    if not isinstance(matrix, dict):
        return "flow_matrix is not an object"
    for k, v in matrix.items():
        if not isinstance(v, dict):
            return f"flow_matrix[{k!r}] is not an object"
    for key, kind in (("scenario", dict), ("vms", list)):
        if not isinstance(res.get(key, kind()), kind):
            return f"{key} is not {KIND_NAME[kind]}"
    if not all(isinstance(v, dict) for v in res.get("vms", [])):
        return "vms holds something other than objects"
    return None


def check_dirs(d):
    """check-N folders (with a result.json) of a run folder, by N."""
    try:
        names = os.listdir(d)
    except OSError:
        return []
    found = [(int(n[6:]), os.path.join(d, n)) for n in names
             if re.fullmatch(r"check-[1-9][0-9]*", n) and os.path.isfile(os.path.join(d, n, "result.json"))]
    return [p for _, p in sorted(found)]


def expand_up_runs(dirs, all_checks):
    """A folder of a lab kept up by `uvmlab up` has no result.json of its own,
    one check-N/result.json per `uvmlab check`: report its newest check (or
    all of them, oldest first), and say which on stderr."""
    out = []
    for d in dirs:
        checks = [] if os.path.exists(os.path.join(d, "result.json")) else check_dirs(d)
        if not checks:
            out.append(d)
            continue
        chosen = checks if all_checks else checks[-1:]
        which = (f"all {len(checks)} checks" if all_checks else
                 f"its newest check, {os.path.basename(chosen[0])} of {len(checks)} "
                 "(--all-checks for every one)")
        print(f"report: {d}: a lab kept up by `uvmlab up` (no result.json); reporting {which}",
              file=sys.stderr)
        out += chosen
    return out


def load_results(dirs):
    """[(dir, result, boot metrics)] for boot folders and [(dir, result)] for runs."""
    boot_runs, runs = [], []
    for d in dirs:
        path = os.path.join(d, "result.json")
        try:
            with open(path) as f:
                res = json.load(f)
        except OSError as e:
            fail(2, f"{path}: {e.strerror or e}")
        except ValueError as e:
            fail(2, f"{path}: not valid JSON: {e}")
        if not isinstance(res, dict):
            fail(2, f"{path}: not a JSON object")
        if res.get("schema") != "uvmlab.result/1":
            fail(2, f"{path}: not a uvmlab.result/1 file")
        metrics = res.get("metrics") or []
        if not isinstance(metrics, list):
            fail(2, f"{path}: metrics is not a list")
        boots = [m for m in metrics if isinstance(m, dict) and m.get("name") == "boot"]
        if boots:
            why = boot_problem(boots)
            if why:
                fail(2, f"{path}: {why}")
            boot_runs.append((d, res, boots))
        elif "checks" in res or "flow_matrix" in res:
            why = run_problem(res)
            if why:
                fail(2, f"{path}: {why}")
            runs.append((d, res))
        else:
            fail(2, f"{path}: no boot metrics and no checks or flow matrix "
                    "(write it with `uvmlab bench boot` or `uvmlab run`)")
    return boot_runs, runs


def med(m, key="agent_ready"):
    v = m.get("summary", {}).get(key)
    return v["median"] if v else None


def find_config(configs, **want):
    for c in configs:
        p = c["params"]
        if all(p.get(k) == v for k, v in want.items()):
            return c
    return None


def ratios(configs):
    """The two numbers issue #3 asks for, each with what it compares."""
    out = []
    stock = find_config(configs, kernel="stock", machine="pc", boot_protocol="bzimage",
                        initramfs_pad_mib=0)
    lab = find_config(configs, kernel="lab", machine="microvm", boot_protocol="pvh",
                      initramfs_pad_mib=0)
    if stock and lab and med(lab):
        out.append({"name": "stock kernel + bzImage + pc vs lab kernel + microvm + PVH",
                    "value": med(stock) / med(lab), "target": ">= 10x",
                    "detail": f"{stock['vm']} {med(stock):.0f} ms / {lab['vm']} {med(lab):.0f} ms "
                              "(median QEMU exec to agent ready)"})
    else:
        missing = [n for n, c in (("stock+bzImage+pc", stock), ("lab+microvm+PVH", lab)) if not c]
        out.append({"name": "stock kernel + bzImage + pc vs lab kernel + microvm + PVH",
                    "value": None, "target": ">= 10x",
                    "detail": "not measured: no configuration " + " and ".join(missing) +
                              " in these runs (the lab kernel is built by `make lab-kernel`)"})
    over = [(c["vm"], c["overhead_ratio"]) for c in configs if c.get("overhead_ratio")]
    if over:
        vals = sorted(v for _, v in over)
        mid = vals[len(vals) // 2] if len(vals) % 2 else (vals[len(vals) // 2 - 1] + vals[len(vals) // 2]) / 2
        out.append({"name": "uvmlab / bare QEMU (median time to the agent's ready marker)",
                    "value": mid, "target": "<= 1.03",
                    "detail": "per configuration: " + ", ".join(f"{n} {v:.3f}" for n, v in over)})
    return out


def plot_png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def make_plots(configs):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [c["vm"] for c in configs]
    plots = {}
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(configs)))
    left = [0.0] * len(configs)
    for seg in SEGMENTS:
        vals = [max(c["summary"].get("segments_median_ms", {}).get(seg, 0.0), 0.0) for c in configs]
        ax.barh(names, vals, left=left, label=seg)
        left = [l + v for l, v in zip(left, vals)]
    ax.set_xlabel("median ms after QEMU exec")
    ax.set_title("Boot phases per configuration (medians, stacked)")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    plots["phases.png"] = plot_png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(configs)))
    data = []
    for c in configs:
        data.append([s["phases_ms"]["agent_ready"] for s in c["samples"]
                     if not s.get("warmup") and s["phases_ms"].get("agent_ready", -1) >= 0])
    ax.boxplot(data, vert=False, labels=names)
    for i, d in enumerate(data, start=1):
        ax.plot(d, [i] * len(d), "o", alpha=0.5, markersize=4)
    ax.set_xlabel("ms from QEMU exec to agent ready (every sample)")
    ax.set_title("Distribution per configuration")
    ax.invert_yaxis()
    plots["distribution.png"] = plot_png(fig)
    plt.close(fig)
    return plots


def fmt(v, unit=""):
    return "-" if v is None else f"{v:.0f}{unit}"


def config_rows(configs):
    rows = []
    for c in configs:
        p, s = c["params"], c["summary"]
        r = s.get("agent_ready", {})
        rows.append([
            c["vm"], p.get("machine"), p.get("kernel"), p.get("boot_protocol"),
            f"{p.get('initramfs_bytes', 0) / 1048576:.1f}", "on" if p.get("console") else "off",
            str(r.get("n", 0)), fmt(r.get("median")),
            f"{fmt(r.get('ci_lo'))}..{fmt(r.get('ci_hi'))}",
            f"{100 * r.get('cv', 0):.1f}%",
            f"{c['overhead_ratio']:.3f}" if c.get("overhead_ratio") else "-",
            s.get("bottleneck", "-"),
        ])
    return rows


def guest_clock_rows(boot_runs):
    """Per configuration: the agent's start and ready on the guest's own clock
    (virtual time when the run used --timing virtual), median and CV."""
    rows = []
    for _, res, boots in boot_runs:
        timing = res.get("bench", {}).get("timing", "wall")
        for c in boots:
            g = c.get("summary", {}).get("guest_clock")
            if not g:
                continue
            i, r = g.get("init_start", {}), g.get("agent_ready", {})
            rows.append([c["vm"], timing, str(r.get("n", 0)),
                         f"{i.get('median', 0):.1f}", f"{100 * i.get('cv', 0):.2f}%",
                         f"{r.get('median', 0):.1f}", f"{100 * r.get('cv', 0):.2f}%"])
    return rows


GUEST_HEAD = ["config", "timing", "n", "agent start ms", "CV", "agent ready ms", "CV"]
GUEST_NOTE = ("On the guest's clock, from the kernel's clock start. With timing *virtual* "
              "(`--timing virtual`: TCG -icount, 1 ns per instruction) it counts what the guest "
              "executed, so it repeats on a loaded host; with *wall* it is the guest's TSC at the "
              "host's rate.")


HEAD = ["config", "machine", "kernel", "boot", "initramfs MiB", "console", "n",
        "median ready ms", "95% CI", "CV", "uvmlab/bare", "first bottleneck"]


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


def hyperfine_rows(paths):
    rows = []
    for p in paths:
        try:
            with open(p) as f:
                hf = json.load(f)
        except (OSError, ValueError) as e:
            fail(2, f"{p}: {e}")
        for r in hf.get("results", []):
            rows.append([r.get("command", "?"), f"{1000 * r.get('median', 0):.0f}",
                         f"{1000 * r.get('mean', 0):.0f} ± {1000 * (r.get('stddev') or 0):.0f}",
                         str(len(r.get("times", [])))])
    return rows


def hyperfine_md_html(hf, h):
    """The hyperfine table under heading level H (Markdown and HTML)."""
    if not hf:
        return [], []
    head = ["command", "median ms", "mean ± sd ms", "runs"]
    return ([f"{'#' * h} Whole-command timings (hyperfine)", "", md_table(head, hf), ""],
            [f"<h{h}>Whole-command timings (hyperfine)</h{h}>", h_table(head, hf)])


def h_table(head, rows, cls=None):
    t = f"<table class='{cls}'><tr>" if cls else "<table><tr>"
    t += "".join(f"<th>{html.escape(x)}</th>" for x in head) + "</tr>"
    for r in rows:
        t += "<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in r) + "</tr>"
    return t + "</table>"


def img_tag(name, data):
    return f'<img alt="{html.escape(name)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def boot_section(boot_runs, hf, alone):
    """Markdown lines, HTML parts and {png name: bytes} of the boot latency section.
    ALONE: the whole report is this section (its own title, as before runs
    were reported); otherwise it sits under a "Boot latency" heading."""
    configs = [m for _, _, boots in boot_runs for m in boots]
    first = boot_runs[0][1]
    host, acc = first.get("host", {}), first.get("accelerator", {})
    rats = ratios(configs)
    plots = make_plots(configs)
    h = 2 if alone else 3

    facts = [
        ("runs", ", ".join(r.get("run_id", "?") for _, r, _ in boot_runs)),
        ("host", f"{host.get('cpu_model', '?')}, {host.get('nproc', '?')} CPUs, Linux {host.get('kernel', '?')}"),
        ("QEMU", host.get("qemu_version") or "?"),
        ("accelerator", f"{acc.get('name', '?')} ({acc.get('reason', '')})"),
        ("uvmlab", f"{first.get('uvmlab', {}).get('version', '?')} ({first.get('uvmlab', {}).get('git_commit', '?')})"),
        ("samples", f"{first.get('bench', {}).get('repeat', '?')} measured + {first.get('bench', {}).get('warmup', '?')} warmup rounds per configuration, interleaved"),
    ]
    bottlenecks = [f"- **{c['vm']}**: {c['summary'].get('bottleneck', '?')} — "
                   f"{SEGMENT_HELP.get(c['summary'].get('bottleneck'), '')} "
                   f"({c['summary'].get('segments_median_ms', {}).get(c['summary'].get('bottleneck'), 0):.0f} ms "
                   f"of {fmt(med(c))} ms)" for c in configs]
    rat_lines = [f"- **{r['name']}**: " + ("not measured" if r["value"] is None else f"{r['value']:.2f}x"
                 if "vs" in r["name"] else f"{r['value']:.3f}") + f" (target {r['target']}); {r['detail']}"
                 for r in rats]
    hf_md, hf_doc = hyperfine_md_html(hf, h)
    hm = "#" * h

    md = ["# uvmlab boot latency report" if alone else "## Boot latency", ""]
    md += [f"- **{k}**: {v}" for k, v in facts] + [""]
    md += [f"{hm} Headline ratios", ""] + rat_lines + [""]
    md += [f"{hm} Configurations", "", md_table(HEAD, config_rows(configs)), ""]
    md += ["Phases: " + "; ".join(f"*{k}* = {v}" for k, v in SEGMENT_HELP.items()) + ".", ""]
    md += [f"{hm} First bottleneck per configuration", ""] + bottlenecks + [""]
    grows = guest_clock_rows(boot_runs)
    if grows:
        md += [f"{hm} Phases on the guest clock", "", md_table(GUEST_HEAD, grows), "", GUEST_NOTE, ""]
    md += [f"{hm} Plots", "", "![phases](phases.png)", "", "![distribution](distribution.png)", ""]
    md += hf_md
    md += ["Raw samples, with every parameter that shaped them, are in each run's result.json.", ""]

    doc = ["<h1>uvmlab boot latency report</h1><ul>" if alone else "<h2>Boot latency</h2><ul>"]
    doc += [f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in facts]
    doc += [f"</ul><h{h}>Headline ratios</h{h}><ul>"]
    doc += [f"<li>{html.escape(l[2:].replace('**', ''))}</li>" for l in rat_lines]
    doc += [f"</ul><h{h}>Configurations</h{h}>", h_table(HEAD, config_rows(configs))]
    doc += [f"<h{h}>First bottleneck per configuration</h{h}><ul>"]
    doc += [f"<li>{html.escape(b[2:].replace('**', ''))}</li>" for b in bottlenecks]
    doc += ["</ul>"]
    if grows:
        doc += [f"<h{h}>Phases on the guest clock</h{h}>", h_table(GUEST_HEAD, grows),
                f"<p>{html.escape(GUEST_NOTE.replace('*', '').replace('`', ''))}</p>"]
    doc += [f"<h{h}>Plots</h{h}>", img_tag("phases.png", plots["phases.png"]),
            img_tag("distribution.png", plots["distribution.png"])]
    doc += hf_doc
    doc += ["<p>Raw samples, with every parameter that shaped them, are in each run's result.json.</p>"]
    return md, doc, plots


# ---- isolation: checks, probe findings, flow matrix and flow graph of a run ----

def text(x):
    """result.json value as one line of text ("-" when absent)."""
    if x is None:
        return "-"
    return re.sub(r"[\x00-\x20\x7f]+", " ", str(x)).strip()


def md_cell(x):
    """Text for a Markdown table cell: no raw HTML, no column breaks."""
    return text(x).replace("<", "&lt;").replace("|", "\\|")


def count(x):
    """A packet or byte count, or None when result.json holds something else."""
    return x if isinstance(x, int) and not isinstance(x, bool) and x >= 0 else None


def flow_rank(verdict):
    return FLOW_VERDICTS.index(verdict) if verdict in FLOW_VERDICTS else len(FLOW_VERDICTS)


def sorted_checks(res):
    """Failures and errors first, otherwise in the run's order."""
    order = sorted(enumerate(res.get("checks", [])),
                   key=lambda ic: (CHECK_ORDER.get(text(ic[1].get("verdict")), 2), ic[0]))
    return [c for _, c in order]


# IANA protocol numbers, for result files that carry a number (older runs
# wrote unnamed protocols as "2"); uvmlab itself now writes the name.
PROTO_NAMES = {1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre",
               50: "esp", 51: "ah", 58: "icmpv6", 89: "ospf", 103: "pim", 112: "vrrp",
               115: "l2tp", 132: "sctp", 136: "udplite"}


def proto_name(p):
    """A protocol by name; the number only when it has none."""
    if isinstance(p, bool) or not isinstance(p, (int, str)) or not str(p).isdigit():
        return p
    return PROTO_NAMES.get(int(p), str(p))


def sorted_flows(res):
    """Flow-matrix entries, violations first, then by packets; protocols by name."""
    rows = [dict(v, key=k, proto=proto_name(v.get("proto"))) for k, v in res.get("flow_matrix", {}).items()]
    return sorted(rows, key=lambda r: (flow_rank(text(r.get("verdict"))), -(count(r.get("packets")) or 0),
                                       text(r.get("key"))))


def flow_colour(verdict):
    return FLOW_COLOURS.get(verdict, OTHER_COLOUR)


def graph_nodes(res, flows):
    """Node names in circle order: endpoints outside the lab (internet, host
    first), then the VMs in the scenario's order; and the set of VM names."""
    vms = []
    for v in res.get("vms", []):
        if v.get("name") is not None and text(v["name"]) not in vms:
            vms.append(text(v["name"]))
    ends = {text(f.get(k)) for f in flows for k in ("from", "to")} - set(vms)
    rank = {"internet": 0, "host": 1}
    return sorted(ends, key=lambda n: (rank.get(n, 2), n)) + vms, set(vms)


def mpl_text(x, width=28):
    """result.json text for matplotlib: '$' would start mathtext."""
    s = text(x)
    s = s if len(s) <= width else s[:width - 1] + "…"
    return s.replace("$", r"\$")


def flow_graph(res, flows):
    """PNG of the flow matrix: a node per VM or endpoint on a circle, a
    directed edge per entry, coloured by its verdict."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch

    names, vm_names = graph_nodes(res, flows)
    n = len(names)
    pos = {}
    for i, name in enumerate(names):
        a = math.pi / 2 - 2 * math.pi * i / n
        pos[name] = (0.0, 0.0) if n == 1 else (math.cos(a), math.sin(a))
    r_node = 0.24 if n < 3 else min(0.24, 0.6 * math.sin(math.pi / n))
    grow = 0.3 * max(0, n - 6)

    fig, ax = plt.subplots(figsize=(8 + grow, 7.6 + grow))
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_xlim(-1.55, 1.55)
    ax.set_ylim(-1.45, 1.45)
    node = {}
    for name in names:
        vm = name in vm_names
        node[name] = Circle(pos[name], r_node, zorder=3, lw=1.6,
                            facecolor="#e8eaf6" if vm else "#fff8e1",
                            edgecolor="#3949ab" if vm else "#8d6e63", linestyle="-" if vm else "--")
        ax.add_patch(node[name])
        ax.text(*pos[name], mpl_text(name, 18), ha="center", va="center", zorder=4,
                fontsize=10 if len(name) <= 8 and r_node > 0.2 else 8, fontweight="bold")

    pairs = {}
    for f in flows:
        pairs.setdefault((text(f.get("from")), text(f.get("to"))), []).append(f)
    for (a, b), entries in pairs.items():
        (x1, y1), (x2, y2) = pos[a], pos[b]
        if a == b:
            continue  # a VM talking to itself never crosses a lab port
        for k, f in enumerate(entries):
            # Each entry of a pair bends a little further out; the reverse
            # direction bends to the other side, so A->B and B->A never
            # overlap. Labels sit at staggered points along their curve.
            # When both directions carry flows, each keeps its labels on the
            # half nearer its source so the two label sets do not meet.
            # Labels stay off the nodes: t runs from LO (just past the
            # source node) to HI on the Bezier.
            both = (b, a) in pairs
            rad = (0.2 if both else 0.12) + 0.1 * k
            m = len(entries)
            lo = r_node / math.hypot(x2 - x1, y2 - y1) + 0.08
            hi = 0.58 if both else 1 - lo
            t = (lo + hi) / 2 + (0 if m == 1 else (k - (m - 1) / 2) * min(0.17, (hi - lo) / (m - 1)))
            c = flow_colour(text(f.get("verdict")))
            pk = count(f.get("packets"))
            lw = 1.2 + min(2.4, 0.7 * math.log10(1 + pk)) if pk is not None else 1.2
            ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), connectionstyle=f"arc3,rad={rad}",
                                         arrowstyle="-|>", mutation_scale=14 + 2 * lw, lw=lw,
                                         color=c, patchA=node[a], patchB=node[b],
                                         shrinkA=3, shrinkB=3,
                                         zorder=2.5 if text(f.get("verdict")) == "violation" else 2))
            # A point of the quadratic Bezier arc3 draws (control point cx, cy).
            cx = (x1 + x2) / 2 + rad * (y2 - y1)
            cy = (y1 + y2) / 2 - rad * (x2 - x1)
            mx = (1 - t) ** 2 * x1 + 2 * (1 - t) * t * cx + t * t * x2
            my = (1 - t) ** 2 * y1 + 2 * (1 - t) * t * cy + t * t * y2
            label = f"{mpl_text(f.get('proto'), 12)} {mpl_text(f.get('packets'), 8)} pk"
            ax.text(mx, my, label, ha="center", va="center", fontsize=8, color=c, zorder=5,
                    bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor=c, lw=0.6, alpha=0.9))

    seen = {}
    for f in flows:
        v = text(f.get("verdict")) if text(f.get("verdict")) in FLOW_COLOURS else "other"
        v = "control / transit" if v in ("control", "transit") else v
        seen[v] = seen.get(v, 0) + 1
    handles = [Line2D([], [], color=FLOW_COLOURS.get(v.split()[0], OTHER_COLOUR), lw=3,
                      label=f"{v} ({seen.get(v, 0)})")
               for v in ("allowed", "violation", "control / transit", "unjudged", "other")
               if v != "other" or v in seen]
    handles += [Line2D([], [], ls="", marker="o", markersize=13, markerfacecolor="#e8eaf6",
                       markeredgecolor="#3949ab", label="VM"),
                Line2D([], [], ls="", marker="o", markersize=13, markerfacecolor="#fff8e1",
                       markeredgecolor="#8d6e63", label="endpoint outside the lab")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=4,
              frameon=False, fontsize=9, title="flow verdict (entries)   edge label: protocol, packets",
              title_fontsize=9)
    verdict = text(res.get("verdict"))
    scn = res.get("scenario", {})
    ax.set_title(f"Flows of scenario {mpl_text(scn.get('name'), 40)}: run verdict {mpl_text(verdict, 12)}\n"
                 f"run {mpl_text(res.get('run_id'), 48)}", fontsize=12,
                 color={"pass": "#2e7d32", "fail": "#c62828"}.get(verdict, "black"))
    png = plot_png(fig)
    plt.close(fig)
    return png


def png_name(res, d, taken):
    """A file name for the run's flow graph that no other run of this report uses."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", text(res.get("run_id")) if res.get("run_id") else
                  os.path.basename(os.path.normpath(d))).strip("._") or "run"
    name, i = f"flows-{stem}.png", 2
    while name in taken:
        name, i = f"flows-{stem}-{i}.png", i + 1
    taken.add(name)
    return name


def check_rows(res):
    rows = []
    for c in sorted_checks(res):
        v = text(c.get("verdict"))
        rows.append([c.get("name"), c.get("kind"), c.get("from"), c.get("to"),
                     v.upper() if v in CHECK_ORDER else v, c.get("evidence")])
    return rows


def finding_rows(c):
    return [[f.get(k) for k in FINDING_HEAD] for f in c.get("findings", [])[:FINDINGS_MAX]]


def probe_line(c):
    p = c.get("probe", {})
    parts = [f"check kind {text(c.get('kind'))}, verdict {text(c.get('verdict'))}"]
    if c.get("network") is not None:
        parts.append(f"network {text(c.get('network'))}")
    if p:
        parts.append(f"guest probe on kernel {text(p.get('kernel'))}: "
                     f"{text(p.get('packets_seen'))} packets seen, {text(p.get('lost'))} lost, "
                     f"{text(p.get('xdp_redirects'))} XDP redirects")
    n = len(c.get("findings", []))
    parts.append(f"{n} finding{'s' if n != 1 else ''}" +
                 (f", the first {FINDINGS_MAX} shown (all in result.json)" if n > FINDINGS_MAX else ""))
    return "; ".join(parts)


FLOW_HEAD = ["from", "to", "proto", "packets", "bytes", "verdict"]
CHECK_HEAD = ["check", "kind", "from", "to", "verdict", "evidence"]


def isolation_section(d, res, png, png_data):
    """Markdown lines and HTML parts of one run's isolation section; PNG is the
    flow graph's file name (PNG_DATA its bytes), None when no flows were recorded."""
    checks, flows = res.get("checks", []), sorted_flows(res)
    scn = res.get("scenario", {})
    n_bad = sum(1 for c in checks if text(c.get("verdict")) in CHECK_ORDER)
    by = {}
    for f in flows:
        by[text(f.get("verdict"))] = by.get(text(f.get("verdict")), 0) + 1
    facts = [
        ("run", f"{text(res.get('run_id'))} ({d})"),
        ("scenario", f"{text(scn.get('name'))} ({text(scn.get('path'))})"),
        ("verdict", f"{text(res.get('verdict'))} (exit {text(res.get('exit_code'))})"),
        ("checks", f"{len(checks)}, {n_bad} failed or in error"),
        ("flow matrix", f"{len(flows)} entries" + (": " + ", ".join(
            f"{k} {by[k]}" for k in sorted(by, key=flow_rank)) if by else "")),
        ("accelerator", text(res.get("accelerator", {}).get("name")
                             if isinstance(res.get("accelerator"), dict) else None)),
    ]
    if "flows_since" in res:  # `uvmlab check [--since-last]` on a lab kept up
        facts.insert(5, ("flows since", text(res.get("flows_since"))))
    probes = [c for c in sorted_checks(res) if "probe" in c or "findings" in c]
    title = f"Isolation: {text(scn.get('name'))}"
    if re.fullmatch(r"check-[0-9]+", os.path.basename(os.path.normpath(d))):
        title += f" ({os.path.basename(os.path.normpath(d))})"  # `uvmlab check` on a lab kept up

    md = [f"## {md_cell(title)}", ""] + [f"- **{k}**: {md_cell(v)}" for k, v in facts] + [""]
    md += ["### Checks", ""]
    if checks:
        md += [md_table(CHECK_HEAD, [[f"**{md_cell(x)}**" if i == 4 and x in ("FAIL", "ERROR") else md_cell(x)
                                      for i, x in enumerate(r)] for r in check_rows(res)]), ""]
    else:
        md += ["The run has no checks.", ""]
    for c in probes:
        md += [f"### Guest probe findings: {md_cell(c.get('name'))}", "", md_cell(probe_line(c)), ""]
        if c.get("findings"):
            md += [md_table(FINDING_HEAD, [[md_cell(x) for x in r] for r in finding_rows(c)]), ""]
    md += ["### Flow matrix", ""]
    if flows:
        md += [md_table(FLOW_HEAD, [[f"**{md_cell(x)}**" if i == 5 and x == "violation" else md_cell(x)
                                     for i, x in enumerate(r)]
                                    for r in ([f.get(k) for k in FLOW_HEAD] for f in flows)]), ""]
        md += ["### Flow graph", "", f"![flow graph]({png})", ""]
    else:
        md += ["No flows recorded in this run.", ""]

    doc = [f"<h2>{html.escape(title)}</h2><ul>"]
    doc += [f"<li><b>{html.escape(k)}</b>: {html.escape(text(v))}</li>" for k, v in facts]
    doc += ["</ul><h3>Checks</h3>"]
    if checks:
        t = "<table class='iso'><tr>" + "".join(f"<th>{h}</th>" for h in CHECK_HEAD) + "</tr>"
        for r in check_rows(res):
            bad = r[4] in ("FAIL", "ERROR")
            t += "<tr class='bad'>" if bad else "<tr>"
            t += "".join(f"<td class='v'>{html.escape(text(x))}</td>" if i == 4 and bad else
                         f"<td>{html.escape(text(x))}</td>" for i, x in enumerate(r)) + "</tr>"
        doc += [t + "</table>"]
    else:
        doc += ["<p>The run has no checks.</p>"]
    for c in probes:
        doc += [f"<h3>Guest probe findings: {html.escape(text(c.get('name')))}</h3>",
                f"<p>{html.escape(probe_line(c))}</p>"]
        if c.get("findings"):
            doc += [h_table(FINDING_HEAD, [[text(x) for x in r] for r in finding_rows(c)], "iso")]
    doc += ["<h3>Flow matrix</h3>"]
    if flows:
        t = "<table class='iso'><tr>" + "".join(f"<th>{h}</th>" for h in FLOW_HEAD) + "</tr>"
        for f in flows:
            v = text(f.get("verdict"))
            t += "<tr class='bad'>" if v == "violation" else "<tr>"
            t += "".join(f"<td>{html.escape(text(f.get(k)))}</td>" for k in FLOW_HEAD[:-1])
            t += f"<td class='v' style='color:{flow_colour(v)}'>{html.escape(v)}</td></tr>"
        doc += [t + "</table>", "<h3>Flow graph</h3>", img_tag(png, png_data)]
    else:
        doc += ["<p>No flows recorded in this run.</p>"]
    return md, doc


ISO_STYLE = ("table.iso td{text-align:left;vertical-align:top}tr.bad td{background:#fde2e2}"
             "tr.bad td.v{color:#c62828;font-weight:bold}")


def main():
    ap = argparse.ArgumentParser(description="uvmlab report")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hyperfine", action="append", default=[])
    ap.add_argument("--all-checks", action="store_true",
                    help="for an `uvmlab up` run folder, every check-N, not only the newest")
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    boot_runs, runs = load_results(expand_up_runs(a.dirs, a.all_checks))
    hf = hyperfine_rows(a.hyperfine)
    title = ("uvmlab boot latency report" if not runs else
             "uvmlab isolation report" if not boot_runs else "uvmlab report")
    md, doc, pngs = [], [], {}
    if boot_runs:
        md, doc, pngs = boot_section(boot_runs, hf, alone=not runs)
    else:
        md, doc = ["# " + title, ""], [f"<h1>{title}</h1>"]
    if runs and boot_runs:
        md[:0], doc[:0] = ["# " + title, ""], [f"<h1>{title}</h1>"]
    taken = set(pngs)
    for d, res in runs:
        flows = sorted_flows(res)
        name = png_name(res, d, taken) if flows else None
        if name:
            pngs[name] = flow_graph(res, flows)
        m, h = isolation_section(d, res, name, pngs.get(name))
        md += m
        doc += h
    if runs and not boot_runs:
        m, h = hyperfine_md_html(hf, 2)
        md += m
        doc += h
    try:
        os.makedirs(a.out, exist_ok=True)
        for name, data in pngs.items():
            with open(os.path.join(a.out, name), "wb") as f:
                f.write(data)
    except OSError as e:
        fail(3, f"{a.out}: {e}")

    head = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "th{background:#eee}img{max-width:100%}" + (ISO_STYLE if runs else "") + "</style></head><body>"]
    try:
        with open(os.path.join(a.out, "report.md"), "w") as f:
            f.write("\n".join(md))
        with open(os.path.join(a.out, "report.html"), "w") as f:
            f.write("\n".join(head + doc + ["</body></html>"]))
    except OSError as e:
        fail(3, f"{a.out}: {e}")
    print(os.path.join(a.out, "report.html"))


if __name__ == "__main__":
    main()
