"""The guide's lost table: regenerated from the catalog, it matches the reconstruction in the seed notes."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from solver.predict.sizing import sizing_rows
from solver.schema.precision import Precision

COLUMNS = {"L4": "l4-24gb", "A10": "a10-24gb", "V100S": "v100s-pcie-32gb", "L40S": "l40s-48gb", "A100_80": "a100-sxm4-80gb",
           "H100_80": "h100-sxm-80gb", "H200": "h200-sxm-141gb", "B200": "b200-sxm-180gb", "MI300X": "mi300x-192gb",
           "MI325X": "mi325x-256gb", "B300": "b300-sxm-288gb", "MI355X": "mi355x-288gb"}


def test_guide_table_matches_reconstruction(catalog, reference):
    ref = yaml.safe_load((reference / "seed_and_ovhcloud.yaml").read_text())["min_gpus"]
    checked = 0
    for key, rows in ref.items():
        if not key.startswith(("FP16_", "FP8_", "FP4_")):
            continue
        prec, ctx = key.split("_")
        tokens = {"8K": 8000, "32K": 32000, "128K": 128000}[ctx]
        sizes = [r["params_b"] for r in rows]
        ours = sizing_rows(catalog, [Precision(prec.lower())], [tokens], sizes, "guide")
        for r, mine in zip(rows, ours, strict=True):
            assert mine["need_gb"] == r["need_gb"], (key, r["params_b"])
            for col, gid in COLUMNS.items():
                assert mine[gid]["label"] == str(r[col]), (key, r["params_b"], col)
                checked += 1
    assert checked > 700


def test_cli_sizing_table_csv_and_json():
    r = subprocess.run([sys.executable, "-m", "solver.cli.main", "sizing-table", "--format", "json", "--sizes", "70",
                        "--contexts", "128000", "--precision", "fp8"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["need_gb"] == 132.5 and row["h200-sxm-141gb"]["gpus"] == 1 and row["h100-sxm-80gb"]["fits_server"] == "4"
    r = subprocess.run([sys.executable, "-m", "solver.cli.main", "sizing-table", "--format", "csv", "--rule", "exact",
                        "--sizes", "8,70"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("model,params_b,precision,context,need_gb,")
