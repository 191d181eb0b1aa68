"""Self-contained HTML reports (no network; plots as inline SVG from matplotlib), deterministic bytes."""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from pathlib import Path

from solver.io.files import write_text

MAX_FRONT_PLOTS = 60
MAX_TABLE_ROWS = 300

CSS = """body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d0d7de}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #d0d7de;padding:3px 6px;text-align:left}th{background:#f6f8fa}.grid{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #d0d7de;padding:4px}.ok{color:#1a7f37}.infeasible{color:#9a6700}.error{color:#cf222e}"""


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    start, end = text.find("<metadata>"), text.find("</metadata>")
    if start >= 0 and end > start:  # RDF boilerplate: namespaces only, nothing to show
        text = text[:start] + text[end + len("</metadata>"):]
    return text


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["svg.hashsalt"] = "gpuplan"
    plt.rcParams["svg.fonttype"] = "none"
    plt.rcParams["text.parse_math"] = False  # ids and names are shown as written: "$...$" is text, not TeX
    return plt


def _table(rows: list[dict], cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in rows:
        cells = []
        for c in cols:
            v = str(r.get(c, ""))
            cls = f' class="{html.escape(v)}"' if c == "status" else ""
            cells.append(f"<td{cls}>{html.escape(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _page(title: str, parts: list[str]) -> str:
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{''.join(parts)}</body></html>\n")


def _front_svg(front: list[dict], title: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    priced = all(c["cost_per_hour"] is not None for c in front)
    xs = [c["cost_per_hour"] if priced else c["tpot_ms"] for c in front]
    ys = [c["output_tokens_per_s"] for c in front]
    order = sorted(range(len(front)), key=lambda i: xs[i])
    ax.plot([xs[i] for i in order], [ys[i] for i in order], "o-", color="#1f6feb", markersize=4)
    for c, x, y in zip(front, xs, ys, strict=True):
        ax.annotate(f"{c['gpus']}x {c['gpu'].split('-')[0]} {c['engine']}", (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"cost per hour ({front[0]['currency']})" if priced else "TPOT (ms)", fontsize=7)
    ax.set_ylabel("output tokens/s", fontsize=7)
    ax.tick_params(labelsize=6)
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def _bar_svg(counts: list[tuple[str, float]], title: str, xlabel: str) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(3, len(counts)) + 1))
    labels = [k for k, _ in counts]
    ax.barh(range(len(counts)), [v for _, v in counts], color="#1f6feb")
    ax.set_yticks(range(len(counts)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _svg(fig)


def batch_report(results_csv: str, fronts_jsonl: str | None, out_html: str) -> None:
    with open(results_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    status = Counter(r["status"] for r in rows)
    parts = [f"<p>{len(rows)} scenarios: <span class=ok>{status.get('ok', 0)} ok</span>, "
             f"<span class=infeasible>{status.get('infeasible', 0)} infeasible</span>, "
             f"<span class=error>{status.get('error', 0)} in error</span>. Source: {html.escape(Path(results_csv).name)}.</p>"]
    gpus = Counter(r["cheapest_gpu"] or r["fastest_gpu"] for r in rows if r["status"] == "ok")
    if gpus:
        parts.append("<h2>GPUs chosen (cheapest configuration, or fastest when unpriced)</h2>")
        parts.append(_bar_svg(sorted(gpus.items(), key=lambda kv: (-kv[1], kv[0]))[:25], "scenarios per GPU", "scenarios"))
    if fronts_jsonl and Path(fronts_jsonl).exists():
        parts.append(f"<h2>Pareto fronts (first {MAX_FRONT_PLOTS} feasible scenarios)</h2><div class=grid>")
        shown = 0
        with open(fronts_jsonl, encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if d["status"] != "ok" or not d["front"]:
                    continue
                parts.append(f"<div class=card>{_front_svg(d['front'], d['id'])}</div>")
                shown += 1
                if shown >= MAX_FRONT_PLOTS:
                    break
        parts.append("</div>")
    cols = ["row", "id", "status", "front_size", "cheapest_gpus", "cheapest_gpu", "cheapest_server", "cheapest_cost_per_hour",
            "cheapest_output_tokens_per_s", "fastest_gpu", "fastest_output_tokens_per_s", "reason"]
    parts.append(f"<h2>Results (first {MAX_TABLE_ROWS} rows)</h2>" + _table(rows[:MAX_TABLE_ROWS], cols))
    write_text(out_html, _page("gpuplan batch report", parts))


def whatif_report(whatif_csv: str, out_html: str) -> None:
    plt = _plt()
    with open(whatif_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    summary_path = Path(whatif_csv).with_name(Path(whatif_csv).stem + ".summary.csv")
    summary = list(csv.DictReader(summary_path.open(encoding="utf-8"))) if summary_path.exists() else []
    parts = ["<p>Cheapest feasible configuration of every scenario under the base catalog and each variant.</p>"]
    if summary:
        parts.append("<h2>Per variant</h2>" + _table(summary, list(summary[0])))
        totals = [("base", float(summary[0]["base_total_cost_per_hour"] or 0))] + [
            (s["variant"], float(s["total_cost_per_hour"] or 0)) for s in summary]
        parts.append(_bar_svg(totals, "total cost per hour of all feasible scenarios", summary[0]["currency"]))
    base = {r["row"]: r for r in rows if r["variant"] == "base" and r["status"] == "ok"}
    variants = sorted({r["variant"] for r in rows} - {"base"})
    for v in variants:
        pts = [(float(base[r["row"]]["cost_per_hour"]), float(r["cost_per_hour"])) for r in rows
               if r["variant"] == v and r["status"] == "ok" and r["row"] in base and r["cost_per_hour"]]
        if not pts:
            continue
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, color="#1f6feb")
        hi = max(max(p) for p in pts)
        ax.plot([0, hi], [0, hi], color="#8c959f", linewidth=0.8)
        ax.set_xlabel("base cost per hour")
        ax.set_ylabel(f"{v} cost per hour")
        ax.set_title(f"{v} vs base (points below the line got cheaper)", fontsize=9)
        fig.tight_layout()
        parts.append(f"<h2>{html.escape(v)}</h2>" + _svg(fig))
    changed = [r for r in rows if r["choice_changed"] == "yes" or r["feasibility_change"] in ("became feasible", "became infeasible")]
    cols = ["row", "id", "variant", "status", "gpu", "gpus", "server", "engine", "layout", "cost_per_hour", "delta_cost_pct",
            "delta_throughput_pct", "choice_changed", "feasibility_change"]
    parts.append(f"<h2>Scenarios whose choice changed (first {MAX_TABLE_ROWS})</h2>" + _table(changed[:MAX_TABLE_ROWS], cols))
    write_text(out_html, _page("gpuplan what-if report", parts))
