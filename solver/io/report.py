"""Self-contained HTML reports (no network; plots as inline SVG from matplotlib), deterministic bytes."""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from pathlib import Path

from solver.io.files import write_text
from solver.io.plots import front_figure, pyplot

MAX_FRONT_PLOTS = 60
MAX_TABLE_ROWS = 300

CSS = """body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #d0d7de}table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #d0d7de;padding:3px 6px;text-align:left;overflow-wrap:anywhere}table{max-width:100%}th{background:#f6f8fa}.grid{display:flex;flex-wrap:wrap;gap:8px}
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


def _bar_svg(counts: list[tuple[str, float]], title: str, xlabel: str) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(3, len(counts)) + 1))
    labels = [k for k, _ in counts]
    ax.barh(range(len(counts)), [v for _, v in counts], color="#1f6feb")
    ax.set_yticks(range(len(counts)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _svg(fig)


def _num(v: str, digits: int = 2) -> str:
    """A CSV number for people: thousands separated, `digits` decimals; text as it is."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return v or ""
    return f"{x:,.{digits}f}"


def _config(r: dict, pick: str) -> str:
    if not r.get(f"{pick}_gpu"):
        return ""
    layout = f"TP{r[f'{pick}_tp']}" + (f" PP{r[f'{pick}_pp']}" if r[f"{pick}_pp"] not in ("", "1") else "")
    return (f"{r[f'{pick}_servers']} x {r[f'{pick}_server']} ({r[f'{pick}_gpus']} x {r[f'{pick}_gpu']}), "
            f"{r[f'{pick}_engine']} {layout} x{r[f'{pick}_replicas']}")


def _by_currency(rows: list[dict], key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rows:
        if r.get(key) and r.get("currency"):
            out[r["currency"]] = out.get(r["currency"], 0.0) + float(r[key])
    return out


def batch_report(results_csv: str, fronts_jsonl: str | None, out_html: str) -> None:
    """The batch report: the summary and each scenario's recommendation first (costs with their
    currency; totals per currency, never added across), then the GPUs chosen, the fronts (log cost
    axes) and the other picks."""
    with open(results_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    status = Counter(r["status"] for r in rows)
    ok = [r for r in rows if r["status"] == "ok"]
    totals = _by_currency(ok, "recommended_cost_per_hour")
    total_text = "; ".join(f"{v:,.2f} {cur}/h ({v * 730:,.0f} {cur}/month)" for cur, v in sorted(totals.items()))
    parts = [f"<p>{len(rows)} scenarios: <span class=ok>{status.get('ok', 0)} ok</span>, "
             f"<span class=infeasible>{status.get('infeasible', 0)} infeasible</span>, "
             f"<span class=error>{status.get('error', 0)} in error</span>. Source: {html.escape(Path(results_csv).name)}.</p>"]
    if total_text:
        parts.append(f"<p>All recommended configurations together: <b>{html.escape(total_text)}</b> "
                     "(each currency apart: prices in different currencies are not added).</p>")
    recs = [{"scenario": r["id"], "recommended configuration": _config(r, "recommended"),
             "cost per hour": _num(r["recommended_cost_per_hour"]), "currency": r["currency"],
             "output tokens/s": _num(r["recommended_output_tokens_per_s"], 0),
             "tokens/s per user": _num(r["recommended_output_tokens_per_s_per_user"], 1),
             "TPOT (ms)": _num(r["recommended_tpot_ms"], 1), "TTFT (ms)": _num(r["recommended_ttft_ms"], 0)}
            for r in ok[:MAX_TABLE_ROWS]]
    if recs:
        parts.append(f"<h2>Recommendations (first {MAX_TABLE_ROWS} feasible scenarios)</h2>" + _table(recs, list(recs[0])))
    bad = [{"row": r["row"], "scenario": r["id"], "status": r["status"], "reason": r["reason"]}
           for r in rows if r["status"] != "ok"][:MAX_TABLE_ROWS]
    if bad:
        parts.append("<h2>Scenarios without an answer</h2>" + _table(bad, list(bad[0])))
    gpus = Counter(r["recommended_gpu"] or r["fastest_gpu"] for r in ok)
    if gpus:
        parts.append("<h2>GPUs recommended</h2>")
        parts.append(_bar_svg(sorted(gpus.items(), key=lambda kv: (-kv[1], kv[0]))[:25], "scenarios per GPU", "scenarios"))
    if fronts_jsonl and Path(fronts_jsonl).exists():
        parts.append(f"<h2>Pareto fronts (first {MAX_FRONT_PLOTS} feasible scenarios; the star is the recommendation)</h2>"
                     "<div class=grid>")
        shown = 0
        with open(fronts_jsonl, encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if d["status"] != "ok" or not d["front"]:
                    continue
                parts.append(f"<div class=card>{_svg(front_figure(d['front'], d['id'], size=(4.2, 3.0), fontsize=6))}</div>")
                shown += 1
                if shown >= MAX_FRONT_PLOTS:
                    break
        parts.append("</div>")
    picks = [{"scenario": r["id"], "cheapest": _config(r, "cheapest"), "cheapest cost per hour": _num(r["cheapest_cost_per_hour"]),
              "most capable": _config(r, "fastest"), "its cost per hour": _num(r["fastest_cost_per_hour"]),
              "its output tokens/s": _num(r["fastest_output_tokens_per_s"], 0), "currency": r["currency"]}
             for r in ok[:MAX_TABLE_ROWS]]
    if picks:
        parts.append(f"<h2>Cheapest and most capable configurations (first {MAX_TABLE_ROWS})</h2>" + _table(picks, list(picks[0])))
    write_text(out_html, _page("gpuplan batch report", parts))


def whatif_report(whatif_csv: str, out_html: str) -> None:
    """The what-if report: per variant and currency, the total against the base; the scenarios whose
    answer changed, before and after."""
    plt = pyplot()
    with open(whatif_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    summary_path = Path(whatif_csv).with_name(Path(whatif_csv).stem + ".summary.csv")
    summary = list(csv.DictReader(summary_path.open(encoding="utf-8"))) if summary_path.exists() else []
    parts = ["<p>The cheapest feasible configuration of every scenario under the base catalog and each variant. "
             "Costs are per hour, in the currency named beside them; totals are per currency.</p>"]
    if summary:
        table = [{"variant": s["variant"], "currency": s["currency"], "scenarios": s["scenarios"], "feasible": s["feasible"],
                  "base total per hour": _num(s["base_total_cost_per_hour"]), "variant total per hour": _num(s["total_cost_per_hour"]),
                  "change (%)": _num(s["delta_total_cost_pct"], 1), "choice changed": s["choice_changed"],
                  "became feasible": s["became_feasible"], "became infeasible": s["became_infeasible"]} for s in summary]
        parts.append("<h2>Per variant</h2>" + _table(table, list(table[0])))
        for cur in sorted({s["currency"] for s in summary}):
            these = [s for s in summary if s["currency"] == cur]
            totals = [("base", float(these[0]["base_total_cost_per_hour"] or 0))] + [
                (s["variant"], float(s["total_cost_per_hour"] or 0)) for s in these]
            parts.append(_bar_svg(totals, f"total cost per hour of the scenarios priced in {cur}", f"{cur} per hour"))
    base = {r["row"]: r for r in rows if r["variant"] == "base" and r["status"] == "ok"}
    variants = sorted({r["variant"] for r in rows} - {"base"})
    for v in variants:
        for cur in sorted({r["currency"] for r in rows if r["variant"] == v and r["currency"]}):
            pts = [(float(base[r["row"]]["cost_per_hour"]), float(r["cost_per_hour"])) for r in rows
                   if r["variant"] == v and r["status"] == "ok" and r["row"] in base and r["cost_per_hour"]
                   and r["currency"] == cur and base[r["row"]]["currency"] == cur]
            if not pts:
                continue
            fig, ax = plt.subplots(figsize=(4.5, 4))
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, color="#1f6feb")
            hi = max(max(p) for p in pts)
            ax.plot([0, hi], [0, hi], color="#8c959f", linewidth=0.8)
            ax.set_xlabel(f"base cost per hour ({cur})")
            ax.set_ylabel(f"{v} cost per hour ({cur})")
            ax.set_title(f"{v} vs base (below the line: cheaper)", fontsize=9)
            fig.tight_layout()
            parts.append(f"<h2>{html.escape(v)} ({html.escape(cur)})</h2>" + _svg(fig))
    changed = []
    for r in rows:
        if r["variant"] == "base" or not (r["choice_changed"] == "yes" or r["feasibility_change"] in ("became feasible", "became infeasible")):
            continue
        b = base.get(r["row"], {})
        changed.append({"scenario": r["id"], "variant": r["variant"],
                        "before": f"{b.get('servers', '')} x {b.get('server', '')}, {b.get('engine', '')} {b.get('layout', '')}" if b else "infeasible",
                        "cost before": _num(b.get("cost_per_hour", "")), "after": (f"{r['servers']} x {r['server']}, {r['engine']} {r['layout']}"
                                                                                 if r["status"] == "ok" else "infeasible"),
                        "cost after": _num(r["cost_per_hour"]), "currency": r["currency"] or b.get("currency", ""),
                        "cost change (%)": _num(r["delta_cost_pct"], 1), "throughput change (%)": _num(r["delta_throughput_pct"], 1)})
    parts.append(f"<h2>Scenarios whose answer changed (first {MAX_TABLE_ROWS})</h2>"
                 + (_table(changed[:MAX_TABLE_ROWS], list(changed[0])) if changed else "<p>None.</p>"))
    write_text(out_html, _page("gpuplan what-if report", parts))
