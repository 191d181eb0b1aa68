"""GPU entries from reference/hardware.yaml: class and compute capability per GPU, native precisions,
and the reference's `# unverified` comments carried into each entry's `unverified` list."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

# id -> (compat_key, compute capability / gfx id); classes from reference/engines.yaml hardware_keys
GPU_CLASS = {
    "v100-pcie-16gb": ("nvidia_volta", "7.0"),
    "v100-pcie-32gb": ("nvidia_volta", "7.0"),
    "v100-sxm2-16gb": ("nvidia_volta", "7.0"),
    "v100-sxm2-32gb": ("nvidia_volta", "7.0"),
    "v100s-pcie-32gb": ("nvidia_volta", "7.0"),
    "t4-16gb": ("nvidia_turing", "7.5"),
    "a10-24gb": ("nvidia_ampere", "8.6"),
    "a10g-24gb": ("nvidia_ampere", "8.6"),
    "a16-64gb": ("nvidia_ampere", "8.6"),
    "a30-24gb": ("nvidia_ampere", "8.0"),
    "a40-48gb": ("nvidia_ampere", "8.6"),
    "a100-pcie-40gb": ("nvidia_ampere", "8.0"),
    "a100-sxm4-40gb": ("nvidia_ampere", "8.0"),
    "a100-pcie-80gb": ("nvidia_ampere", "8.0"),
    "a100-sxm4-80gb": ("nvidia_ampere", "8.0"),
    "l4-24gb": ("nvidia_ada", "8.9"),
    "l40-48gb": ("nvidia_ada", "8.9"),
    "l40s-48gb": ("nvidia_ada", "8.9"),
    "rtx-6000-ada-48gb": ("nvidia_ada", "8.9"),
    "rtx-pro-6000-blackwell-server-96gb": ("nvidia_blackwell_rtx", "12.0"),
    "h100-pcie-80gb": ("nvidia_hopper", "9.0"),
    "h100-sxm-80gb": ("nvidia_hopper", "9.0"),
    "h100-nvl-94gb": ("nvidia_hopper", "9.0"),
    "h200-sxm-141gb": ("nvidia_hopper", "9.0"),
    "h200-nvl-141gb": ("nvidia_hopper", "9.0"),
    "gh200-96gb": ("nvidia_hopper", "9.0"),
    "gh200-144gb": ("nvidia_hopper", "9.0"),
    "b200-sxm-180gb": ("nvidia_blackwell_dc", "10.0"),
    "b300-sxm-288gb": ("nvidia_blackwell_dc", "10.3"),
    "gb200-186gb": ("nvidia_blackwell_dc", "10.0"),
    "mi210-64gb": ("amd_mi200", "gfx90a"),
    "mi250x-128gb": ("amd_mi200", "gfx90a"),
    "mi300x-192gb": ("amd_mi300", "gfx942"),
    "mi325x-256gb": ("amd_mi300", "gfx942"),
    "mi355x-288gb": ("amd_mi350", "gfx950"),
    "gaudi2-96gb": ("intel_gaudi", None),
    "gaudi3-128gb-oam": ("intel_gaudi", None),
    "gaudi3-128gb-pcie": ("intel_gaudi", None),
}
HW_SOURCE = "shared/reference/hardware.yaml"
ENG_SOURCE = "shared/reference/engines.yaml (hardware_keys: compute capability / gfx id per class)"

UNVERIFIED_KEYS = {
    "tflops_dense": "dense_tflops",
    "memory_bw_tbs": "memory_bandwidth_tbs",
    "tdp_w": "tdp_w",
    "interconnect": "scale_up_link",
    "memory_gb": "memory_gb_labelled",
}


def unverified_fields(raw_text: str) -> dict[str, list[str]]:
    """Map entry id -> catalog fields whose reference line carries '# unverified'."""
    out: dict[str, list[str]] = {}
    current = None
    for line in raw_text.splitlines():
        m = re.match(r"^- id: (\S+)", line)
        if m:
            current = m.group(1)
            continue
        if current and "# unverified" in line:
            key = line.strip().split(":")[0]
            if key in UNVERIFIED_KEYS:
                out.setdefault(current, []).append(UNVERIFIED_KEYS[key])
            elif key == "notes" and "TFLOPS" in line:
                out.setdefault(current, []).extend(["dense_tflops", "memory_bandwidth_tbs"])
            elif key == "notes":
                out.setdefault(current, []).append("dense_tflops")
    return {k: sorted(set(v)) for k, v in out.items()}


def native_precisions(tc: list[str]) -> list[str]:
    out = {"fp32"}
    for p in tc:
        if p.startswith("fp8") or p == "mxfp8":
            out.add("fp8")
        elif p in ("fp4", "nvfp4", "mxfp4"):
            out.add("fp4")
        elif p in ("fp16", "bf16", "tf32", "int8", "int4", "fp64", "fp32"):
            out.add(p)
        elif p in ("fp6", "mxfp6"):
            out.add("fp6")
    order = ["fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "fp6", "int8", "int4", "fp4"]
    return [p for p in order if p in out]


def build_gpus(ref: Path) -> list[dict]:
    text = (ref / "hardware.yaml").read_text()
    data = yaml.safe_load(text)
    unv = unverified_fields(text.split("\nplatforms:")[0])
    ids = [g["id"] for g in data["gpus"]]
    stripped = {i: re.sub(r"-\d+gb", "", i) for i in ids}
    first = {i: i.split("-")[0] for i in ids}
    gpus = []
    for g in data["gpus"]:
        gid = g["id"]
        compat, cc = GPU_CLASS[gid]
        aliases = []
        if stripped[gid] != gid and list(stripped.values()).count(stripped[gid]) == 1:
            aliases.append(stripped[gid])
        if first[gid] not in aliases and first[gid] != gid and list(first.values()).count(first[gid]) == 1:
            aliases.append(first[gid])
        ic = g["interconnect"]
        vendor = g["vendor"].split()[0].lower()
        mem = float(g["memory_gb"])
        usable = mem
        unverified = list(unv.get(gid, []))
        notes = g.get("notes")
        if gid == "b300-sxm-288gb":
            usable = 2100 / 8  # HGX B300 page: 2.1 TB usable per 8 GPUs
            notes = "Usable memory from the HGX B300 page (2.1 TB per 8 GPUs); 288 GB physical."
        tflops = {k: v for k, v in g["tflops_dense"].items() if k in ("fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4", "fp6", "fp4")}
        gpus.append(
            {
                "id": gid,
                "name": g["name"],
                "aliases": aliases,
                "vendor": vendor,
                "architecture": g["architecture"],
                "compat_key": compat,
                "compute_capability": cc,
                "memory_gb_labelled": mem,
                "memory_gib_usable": usable,
                "memory_bandwidth_tbs": float(g["memory_bw_tbs"]),
                "dense_tflops": tflops,
                "native_precisions": native_precisions(g["tensor_core_precisions"]),
                "form_factor": g["form_factor"],
                "tdp_w": float(g["tdp_w"]),
                "scale_up_link": {
                    "type": ic["type"],
                    "bandwidth_gbs_bidir": None if ic.get("bw_gbs_bidir") is None else float(ic["bw_gbs_bidir"]),
                    "max_gpus": ic.get("max_gpus"),
                },
                "pcie_gen": g.get("pcie_gen"),
                "release_year": int(g["release_year"]),
                "source": [HW_SOURCE, ENG_SOURCE, *g["sources"]],
                "unverified": unverified,
                **({"notes": notes} if notes else {}),
            }
        )
    return gpus
