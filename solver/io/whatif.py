"""`gpuplan whatif`: every scenario's cheapest configuration under the base catalog and each variant.

A variant is a catalog overlay: price changes (server prices, or `pricing.factors_by_gpu` such as
{h100-sxm-80gb: 0.8}), new or removed GPUs and servers, stock limits (`stock` on a server), or
buy-instead-of-rent (`pricing: [{id: default, mode: buy, ...}]` with purchase prices and power).
Streams like `gpuplan batch` (same executors, same ordering guarantees).
"""

from __future__ import annotations

import csv
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from solver.errors import GpuplanError, IncompleteRunError
from solver.io.batch import CACHE_ENTRIES, LocalExecutor, RayExecutor, _chunks, run_ordered
from solver.io.batch_rows import cells_to_scenario, csv_line, csv_value, read_rows, row_id, spreadsheet_safe
from solver.io.files import writing

#: what makes two answers the same deployment
LAYOUT_KEYS = ("server", "servers", "engine", "tp", "pp", "ep", "replicas")
WHATIF_COLUMNS = ["row", "id", "variant", "status", "reason", "gpu", "gpus", "server", "servers", "engine", "layout",
                  "cost_per_hour", "currency", "output_tokens_per_s", "tpot_ms", "delta_cost_pct", "delta_throughput_pct",
                  "choice_changed", "feasibility_change"]
SUMMARY_COLUMNS = ["variant", "currency", "scenarios", "feasible", "total_cost_per_hour", "base_total_cost_per_hour",
                   "delta_total_cost_pct", "choice_changed", "became_feasible", "became_infeasible"]

_STATE: dict = {}


def _catalogs(paths: tuple[str, ...], variants: tuple[tuple[str, str], ...]):
    from solver.plan.planner import LruCache
    from solver.schema.catalog import load_catalog

    key = (paths, variants)
    if _STATE.get("key") != key:
        cats = {"base": load_catalog(paths)}
        for name, path in variants:
            cats[name] = load_catalog((*paths, path))
        _STATE.update(key=key, cats=cats, caches={n: LruCache(CACHE_ENTRIES) for n in cats})
    return _STATE["cats"], _STATE["caches"]


def _cheapest(sc, catalog, cache):
    from solver.plan.planner import solve

    plan = solve(sc.model_copy(update={"objectives": ["cost"]}), catalog, cache=cache)
    if plan.status != "ok":
        e = plan.explanation
        return None, e["message"] + ("; nearest relaxation: " + e["suggestions"][0] if e["suggestions"] else "")
    return plan.front[0], ""


def whatif_chunk(header, items, paths, variants):
    cats, caches = _catalogs(paths, variants)
    out = []
    for row, cells, dup in items:
        sid = row_id(header, cells, row)
        lines, contrib = [], []
        try:
            if dup is not None:
                raise GpuplanError(f"duplicate id '{sid}' (first used on row {dup})")
            sc = cells_to_scenario(header, cells, row)
        except GpuplanError as e:
            for name in cats:
                lines.append(csv_line([str(row), sid, name, "error", str(e).replace("\n", " ")] + [""] * (len(WHATIF_COLUMNS) - 5)))
            out.append(("".join(lines), [], True))
            continue
        base, base_reason = _cheapest(sc, cats["base"], caches["base"])
        failed = base is None
        for name, cat in cats.items():
            c, reason = (base, base_reason) if name == "base" else _cheapest(sc, cat, caches[name])
            failed = failed or c is None
            if c is None:
                change = "" if name == "base" else ("same (infeasible)" if base is None else "became infeasible")
                lines.append(csv_line([str(row), sid, name, "infeasible", reason] + [""] * 12 + ["", change]))
                contrib.append((name, sc.currency, base, None))
                continue
            dc = dt = changed = change = ""
            if name != "base" and base is not None:
                if base["cost_per_hour"]:
                    dc = csv_value(100 * (c["cost_per_hour"] / base["cost_per_hour"] - 1))
                dt = csv_value(100 * (c["output_tokens_per_s"] / base["output_tokens_per_s"] - 1))
                same = all(c[k] == base[k] for k in LAYOUT_KEYS)
                changed, change = ("no" if same else "yes"), "same"
            elif name != "base":
                change = "became feasible"
            lines.append(csv_line([str(row), sid, name, "ok", "", c["gpu"], str(c["gpus"]), c["server"], str(c["servers"]), c["engine"],
                                   f"TP{c['tp']} PP{c['pp']}" + (f" EP{c['ep']}" if c["ep"] > 1 else "") + f" x{c['replicas']}", csv_value(c["cost_per_hour"]), c["currency"] or "",
                                   csv_value(c["output_tokens_per_s"]), csv_value(c["tpot_ms"]), dc, dt, changed, change]))
            contrib.append((name, sc.currency, base, c))
        out.append(("".join(lines), contrib, failed))
    return out


def run_whatif(input_csv: str, variants: list[tuple[str, str]], output: str, workers: int = 1, executor: str = "local",
               ray_address: str | None = None, catalog_paths: tuple[str, ...] = ()) -> dict:
    t0 = time.perf_counter()
    _catalogs(tuple(catalog_paths), tuple(variants))  # validate every variant before any row
    header, rows = read_rows(input_csv)
    out_path = Path(output)
    ex = RayExecutor(ray_address, workers) if executor == "ray" else LocalExecutor(workers)
    agg: dict[tuple[str, str], dict] = {}
    failed = False
    try:
        with writing(out_path), out_path.open("w", encoding="utf-8", newline="") as fh:
            fh.write(csv_line(WHATIF_COLUMNS))
            def write(results) -> None:
                nonlocal failed
                for text, contrib, bad in results:
                    fh.write(text)
                    failed = failed or bad
                    for name, cur, base, c in contrib:
                        a = agg.setdefault((name, cur), dict.fromkeys(("scenarios", "feasible", "choice_changed", "became_feasible",
                                                                       "became_infeasible"), 0) | {"total": 0.0, "base_total": 0.0})
                        a["scenarios"] += 1
                        if c is not None:
                            a["feasible"] += 1
                            a["total"] += c["cost_per_hour"] or 0.0
                            if base is not None:
                                a["base_total"] += base["cost_per_hour"] or 0.0
                                if any(c[k] != base[k] for k in LAYOUT_KEYS):
                                    a["choice_changed"] += 1
                            else:
                                a["became_feasible"] += 1
                        elif base is not None:
                            a["became_infeasible"] += 1
                fh.flush()

            calls = ((header, chunk, tuple(catalog_paths), tuple(variants)) for chunk in _chunks(rows, header, 0))
            run_ordered(ex, calls, whatif_chunk, write)
    except BrokenProcessPool:
        raise IncompleteRunError(f"a worker process died (killed, or out of memory); {out_path} is incomplete: rerun "
                                 "the command") from None
    finally:
        ex.close()
    summary_rows = []
    for (name, cur), a in sorted(agg.items(), key=lambda kv: (kv[0][0] != "base", kv[0])):
        if name == "base":
            continue
        delta = 100 * (a["total"] / a["base_total"] - 1) if a["base_total"] else None
        summary_rows.append({"variant": name, "currency": cur, "scenarios": a["scenarios"], "feasible": a["feasible"],
                             "total_cost_per_hour": round(a["total"], 4), "base_total_cost_per_hour": round(a["base_total"], 4),
                             "delta_total_cost_pct": None if delta is None else round(delta, 3), "choice_changed": a["choice_changed"],
                             "became_feasible": a["became_feasible"], "became_infeasible": a["became_infeasible"]})
    summary_path = out_path.with_name(out_path.stem + ".summary.csv")
    with writing(summary_path), summary_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in summary_rows:
            w.writerow({k: ("" if v is None else spreadsheet_safe(v)) for k, v in r.items()})
    return {"variants": summary_rows, "failed": failed, "seconds": time.perf_counter() - t0, "summary_path": str(summary_path)}
