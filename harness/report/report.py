#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""report.py: boot-latency report (Markdown + self-contained HTML) from uvmlab bench results.

Usage: report.py --out DIR [--hyperfine FILE.json ...] RESULT_DIR...

Reads RESULT_DIR/result.json written by `uvmlab bench boot` (schema
uvmlab.result/1, metrics named "boot"), and writes DIR/report.md,
DIR/report.html (plots embedded) and the plots as PNG files. Statistics are
the ones uvmlab computed in C (medians, 95% CIs, CV); this script only
arranges them, computes the two headline ratios and draws.

Exit codes: 0 written, 2 bad usage or unreadable input, 3 could not write.
"""
import argparse
import base64
import html
import io
import json
import os
import sys

SEGMENTS = ("qemu_start", "firmware", "kernel", "agent")
SEGMENT_HELP = {
    "qemu_start": "QEMU exec to QMP greeting (QEMU's own start-up)",
    "firmware": "QMP greeting to first console byte (firmware, kernel decompressor)",
    "kernel": "first console byte to init start (kernel boot)",
    "agent": "init start to agent ready (modules, network, control port)",
}


def fail(code, msg):
    print(f"report: {msg}", file=sys.stderr)
    sys.exit(code)


def load_runs(dirs):
    runs = []
    for d in dirs:
        path = os.path.join(d, "result.json")
        try:
            with open(path) as f:
                res = json.load(f)
        except (OSError, ValueError) as e:
            fail(2, f"{path}: {e}")
        if res.get("schema") != "uvmlab.result/1":
            fail(2, f"{path}: not a uvmlab.result/1 file")
        boots = [m for m in res.get("metrics", []) if m.get("name") == "boot"]
        if not boots:
            fail(2, f"{path}: no boot metrics (write it with `uvmlab bench boot`)")
        runs.append((d, res, boots))
    return runs


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


def main():
    ap = argparse.ArgumentParser(description="uvmlab boot report")
    ap.add_argument("--out", required=True)
    ap.add_argument("--hyperfine", action="append", default=[])
    ap.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    runs = load_runs(a.dirs)
    configs = [m for _, _, boots in runs for m in boots]
    first = runs[0][1]
    host, acc = first.get("host", {}), first.get("accelerator", {})
    rats = ratios(configs)
    try:
        os.makedirs(a.out, exist_ok=True)
        plots = make_plots(configs)
        for name, data in plots.items():
            with open(os.path.join(a.out, name), "wb") as f:
                f.write(data)
    except OSError as e:
        fail(3, f"{a.out}: {e}")

    facts = [
        ("runs", ", ".join(r.get("run_id", "?") for _, r, _ in runs)),
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
    hf = hyperfine_rows(a.hyperfine)

    md = ["# uvmlab boot latency report", ""]
    md += [f"- **{k}**: {v}" for k, v in facts] + [""]
    md += ["## Headline ratios", ""] + rat_lines + [""]
    md += ["## Configurations", "", md_table(HEAD, config_rows(configs)), ""]
    md += ["Phases: " + "; ".join(f"*{k}* = {v}" for k, v in SEGMENT_HELP.items()) + ".", ""]
    md += ["## First bottleneck per configuration", ""] + bottlenecks + [""]
    md += ["## Plots", "", "![phases](phases.png)", "", "![distribution](distribution.png)", ""]
    if hf:
        md += ["## Whole-command timings (hyperfine)", "",
               md_table(["command", "median ms", "mean ± sd ms", "runs"], hf), ""]
    md += ["Raw samples, with every parameter that shaped them, are in each run's result.json.", ""]

    def h_table(head, rows):
        t = "<table><tr>" + "".join(f"<th>{html.escape(x)}</th>" for x in head) + "</tr>"
        for r in rows:
            t += "<tr>" + "".join(f"<td>{html.escape(str(x))}</td>" for x in r) + "</tr>"
        return t + "</table>"

    img = lambda n: f'<img alt="{n}" src="data:image/png;base64,{base64.b64encode(plots[n]).decode()}">'
    doc = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>uvmlab boot latency report</title>",
           "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
           "th{background:#eee}img{max-width:100%}</style></head><body>",
           "<h1>uvmlab boot latency report</h1><ul>"]
    doc += [f"<li><b>{html.escape(k)}</b>: {html.escape(str(v))}</li>" for k, v in facts]
    doc += ["</ul><h2>Headline ratios</h2><ul>"]
    doc += [f"<li>{html.escape(l[2:].replace('**', ''))}</li>" for l in rat_lines]
    doc += ["</ul><h2>Configurations</h2>", h_table(HEAD, config_rows(configs))]
    doc += ["<h2>First bottleneck per configuration</h2><ul>"]
    doc += [f"<li>{html.escape(b[2:].replace('**', ''))}</li>" for b in bottlenecks]
    doc += ["</ul><h2>Plots</h2>", img("phases.png"), img("distribution.png")]
    if hf:
        doc += ["<h2>Whole-command timings (hyperfine)</h2>",
                h_table(["command", "median ms", "mean ± sd ms", "runs"], hf)]
    doc += ["<p>Raw samples, with every parameter that shaped them, are in each run's result.json.</p>",
            "</body></html>"]
    try:
        with open(os.path.join(a.out, "report.md"), "w") as f:
            f.write("\n".join(md))
        with open(os.path.join(a.out, "report.html"), "w") as f:
            f.write("\n".join(doc))
    except OSError as e:
        fail(3, f"{a.out}: {e}")
    print(os.path.join(a.out, "report.html"))


if __name__ == "__main__":
    main()
