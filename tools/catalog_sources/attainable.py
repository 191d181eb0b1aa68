"""Each GPU's attainable share of its datasheet peaks, from reference/achievable.yaml (microbenchmarks only).

Four figures per GPU, each the share of the datasheet peak it reaches:
- gemm_16bit: large dense BF16/FP16 GEMMs (metric gemm_tflops_large, precision bf16 or fp16);
- gemm_8bit: large dense FP8 GEMMs (precision fp8*, e4m3*, mxfp8); None where none was measured;
- hbm: memory streaming (metric hbm_bandwidth: STREAM-like triad/copy or TMA loads);
- allreduce: a large all-reduce's bus bandwidth over the GPU-to-GPU fabric, share of its per-direction
  rate (metric allreduce_busbw), ring or tree rows only: NVLink SHARP (NVLS) reduces in the switch and
  exceeds the wire rate (1.05-1.07 on 8 Hopper GPUs), but NCCL picks it only for 6 or more GPUs of an
  NVSwitch system, so it is not what a TP group of 2 or 4 gets.

Choosing among rows (conflicts are kept as rows in the source): rows measured on the part itself
first; proxy parts (same silicon and memory, per the source's notes: H800 for H100 SXM, L40 for L40S,
A800 for A100 PCIe, MI210 for MI250X) only when the part has none; crude host-timed rows only when
nothing better exists; then the median of what is left, the upper one of an even count (the middle
of conflicting measurements, not the best run; of two, the higher: the sources' own notes put the
low outliers on flawed runs — an occupancy spoiler, an early driver, throttled clocks).  A GPU without a figure takes its architecture sibling's (same engine hardware
class, nearest memory bandwidth), listed in `borrowed`; a class with no measurement at all
takes nothing (`attainable` absent: the model then applies the wildcard factors unchanged, as before).
A GPU that borrowed any figure has its `attainable` flagged unverified; off the fit, its error band widens by how far measured siblings differ
(solver.predict.attainable.sibling_widening).
"""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import yaml

SOURCE = "shared/reference/achievable.yaml"
KEYS = ("gemm_16bit", "gemm_8bit", "hbm", "allreduce")


def _rank(row: dict, gpu_id: str) -> int:
    """0: measured on the part; 1: on a proxy part; 2: crude (host-timed); rows ranked 3 are not used."""
    kind = str(row.get("kind", ""))
    if kind.startswith(("acceptance_threshold", "vendor slide")):
        return 3
    if "crude" in kind:
        return 2
    if "proxy" in kind or row.get("catalog_id") != gpu_id:
        return 1
    return 0


def _is_16bit(p: str) -> bool:
    return p.startswith(("bf16", "fp16"))


def _is_8bit(p: str) -> bool:
    return p.startswith(("fp8", "e4m3", "mxfp8"))


def _in_switch(row: dict) -> bool:
    """An all-reduce reduced in the switch (NVLS / SHARP), whose bus bandwidth is not a wire rate: said
    so, or 6 or more GPUs of an NVSwitch system, where NCCL picks it; not where the row says it ran a
    ring or the switch has no SHARP (A100's)."""
    cond = str(row.get("conditions", ""))
    text = f"{row.get('interconnect', '')} {cond}"
    if "no SHARP" in cond or re.search(r"\bRing\b|\(ring;", cond):
        return False
    nvswitch = "NVSwitch" in text or "NVL72" in text
    return "NVLS" in text or "SHARP" in text or (nvswitch and int(row.get("n_gpus") or 0) >= 6)


def _pick(rows: list[dict], gpu_id: str) -> tuple[float, list[dict]] | None:
    ranked = [(r, _rank(r, gpu_id)) for r in rows if r.get("fraction_of_peak") is not None]
    ranked = [(r, k) for r, k in ranked if k < 3]
    if not ranked:
        return None
    best = min(k for _, k in ranked)
    chosen = [r for r, k in ranked if k == best]
    return round(statistics.median_high(float(r["fraction_of_peak"]) for r in chosen), 3), chosen


def measured(ref: Path) -> dict[str, dict]:
    """catalog GPU id -> {gemm_16bit, gemm_8bit, hbm: (fraction, rows)} from the microbenchmarks."""
    data = yaml.safe_load((ref / "achievable.yaml").read_text())
    by_gpu: dict[str, dict[str, list[dict]]] = {}
    for r in data:
        cid = r.get("catalog_id")
        metric = r.get("metric")
        p = str(r.get("precision") or "").lower()
        key = None
        if metric == "gemm_tflops_large" and _is_16bit(p):
            key = "gemm_16bit"
        elif metric == "gemm_tflops_large" and _is_8bit(p):
            key = "gemm_8bit"
        elif metric == "hbm_bandwidth":
            key = "hbm"
        elif metric == "allreduce_busbw" and not _in_switch(r):
            key = "allreduce"
        if key and cid:
            by_gpu.setdefault(cid, {}).setdefault(key, []).append(r)
    out: dict[str, dict] = {}
    for cid, metrics in by_gpu.items():
        for key, rows in metrics.items():
            got = _pick(rows, cid)
            if got is not None:
                out.setdefault(cid, {})[key] = got
    return out


def _cite(rows: list[dict]) -> str:
    r = rows[0]
    src = str(r.get("source", "")).split(" ")[0]
    more = f" (+{len(rows) - 1} more)" if len(rows) > 1 else ""
    return f"{r['metric']} {r.get('precision')} {r.get('value')} {r.get('unit')}: {src}{more}"


def attainable_for(gpus: list[dict], ref: Path) -> dict[str, dict]:
    """gpu id -> the catalog's `attainable` entry (absent for a GPU whose class has no measurement)."""
    got = measured(ref)
    out: dict[str, dict] = {}
    for g in gpus:
        gid = g["id"]
        entry: dict = {}
        cites: list[str] = []
        borrowed: list[str] = []
        siblings = sorted((s for s in gpus if s["compat_key"] == g["compat_key"] and s["id"] != gid and s["id"] in got),
                          key=lambda s: (abs(s["memory_bandwidth_tbs"] - g["memory_bandwidth_tbs"]), s["id"]))
        for key in KEYS:
            mine = got.get(gid, {}).get(key)
            if key == "gemm_8bit" and "fp8" not in g["native_precisions"]:
                entry[key] = None  # no FP8 units: the 8-bit formats run through a 16-bit path
                continue
            if key == "allreduce" and g["scale_up_link"].get("type", "none") == "none":
                entry[key] = None  # PCIe only: no GPU-to-GPU fabric for the share to be of
                continue
            if mine is None:
                sib = next((s for s in siblings if key in got[s["id"]]), None)
                if sib is None:
                    entry[key] = None
                    continue
                mine = got[sib["id"]][key]
                borrowed.append(key)
                cites.append(f"{key} from sibling {sib['id']}: {_cite(mine[1])}")
            else:
                cites.append(f"{key}: {_cite(mine[1])}")
            entry[key] = mine[0]
        if all(v is None for v in entry.values()):
            continue  # nothing to scale by: the wildcard factors apply unchanged
        out[gid] = {**{k: entry.get(k) for k in KEYS}, "borrowed": borrowed, "source": [SOURCE + " (median of the chosen rows; rule in tools/catalog_sources/attainable.py)", *cites]}
    return out
