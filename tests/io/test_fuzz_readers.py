"""Fuzzing every reader: arbitrary bytes and arbitrary structured rows end in an answer or a typed
GpuplanError (exit 2 with a message), never in another exception (a traceback)."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.errors import GpuplanError
from solver.io.batch import solve_cells
from solver.io.batch_rows import read_rows
from solver.io.scenario_file import load_scenario_file
from solver.plan.planner import LruCache
from solver.predict.calibration import read_measurements
from solver.schema.catalog import load_catalog
from solver.schema.scenario import Scenario, build_scenario

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CATALOG = load_catalog()

#: cells a careless or hostile user writes: valid values, near misses, numbers out of range, junk
NUMBERS = st.sampled_from(["0", "-1", "1", "4", "1e9", "1e300", "nan", "inf", "-inf", "3.5", "08", " 12 ", "", "1_000"])
WORDS = st.sampled_from(["llama-3.1-8b", "qwen3-8b", "70b", "", "=1+1", "@SUM(1)", "h100-sxm", "vllm", "fp8", "FP8",
                         "any", "x" * 300, "\x00", "é", "\ufeff", "cost;throughput", "latency;latency", "steady", "bursty"])
CELL = st.one_of(NUMBERS, WORDS, st.text(max_size=12))


def _file(data: bytes, suffix: str) -> Path:
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as f:
        f.write(data)
    return Path(f.name)


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8", "surrogatepass")


# ------------------------------------------------------------------------------------ scenario YAML
def _scenario_from(data: bytes) -> None:
    """Read bytes as a scenario file: a Scenario or a GpuplanError, nothing else."""
    path = _file(data, ".yaml")
    try:
        build_scenario(load_scenario_file(path), str(path))
    except GpuplanError:
        pass
    finally:
        path.unlink()


@FUZZ
@given(st.binary(max_size=300))
def test_scenario_file_bytes(data):
    _scenario_from(data)


@FUZZ
@given(st.dictionaries(st.sampled_from([*Scenario.model_fields, "contex_tokens", "gpu"]),
                       st.one_of(CELL, st.integers(-10**12, 10**12), st.floats(), st.lists(CELL, max_size=3),
                                 st.booleans(), st.none()), max_size=6))
def test_scenario_mapping(fields):
    _scenario_from(yaml.safe_dump(fields).encode())


# -------------------------------------------------------------------------------------- batch CSV
def _solve_all(path: Path, limit: int = 4) -> None:
    """Read like `gpuplan batch` and solve the first rows: an error row is fine, an internal error not."""
    header, rows = read_rows(path)
    cache = LruCache(4)
    for i, (row, cells) in enumerate(rows):
        if i >= limit:
            break
        _, _, status = res = solve_cells(header, row, cells, None, CATALOG, cache)
        assert "internal error" not in res[0], res[0]
        assert status in ("ok", "infeasible", "error")


@FUZZ
@given(st.binary(max_size=300))
def test_batch_csv_bytes(data):
    path = _file(data, ".csv")
    try:
        _solve_all(path)
    except GpuplanError:
        pass  # a bad header stops the run with exit 2; rows never raise
    finally:
        path.unlink()


COLUMNS = ["id", "model", "users", "context_tokens", "output_tokens", "precision", "engine", "max_tpot_ms",
           "budget_per_hour", "objectives", "allowed_gpus", "load", "peak_factor"]


@FUZZ
@given(st.lists(st.lists(CELL, min_size=0, max_size=len(COLUMNS) + 2), min_size=1, max_size=3))
def test_batch_csv_rows(rows):
    path = _file(_csv([COLUMNS, *rows]), ".csv")
    try:
        _solve_all(path)
    finally:
        path.unlink()


# -------------------------------------------------------------------------------- catalog overlays
@FUZZ
@given(st.binary(max_size=300))
def test_catalog_overlay_bytes(data):
    path = _file(data, ".yaml")
    try:
        load_catalog([path])
    except GpuplanError:
        pass
    finally:
        path.unlink()


SECTIONS = {
    "gpus": ("h100-sxm-80gb", ["memory_gib_usable", "memory_bandwidth_tbs", "dense_tflops", "tdp_w", "pcie_gen", "aliases"]),
    "servers": ("ovh-h100-1520", ["price", "gpu_count", "stock", "power_kw", "interconnect", "network", "gpu"]),
    "engines": ("vllm", ["max_parallel_requests", "scheduling", "hardware", "memory"]),
    "calibration": ("vllm@nvidia_hopper", ["bandwidth_efficiency", "layer_overhead_us", "tpot_log_band", "burst_factor_by_gpu"]),
    "pricing": ("default", ["mode", "amortisation_years", "factors_by_gpu", "currency"]),
}
VALUE = st.recursive(st.one_of(CELL, st.integers(-10**6, 10**6), st.floats(), st.booleans(), st.none()),
                     lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(WORDS, inner, max_size=3)),
                     max_leaves=6)


@FUZZ
@given(st.sampled_from(sorted(SECTIONS)), st.data())
def test_catalog_overlay_fields(section, data):
    eid, fields = SECTIONS[section]
    entry = {"id": eid, data.draw(st.sampled_from(fields)): data.draw(VALUE)}
    path = _file(yaml.safe_dump({section: [entry]}).encode(), ".yaml")
    try:
        cat = load_catalog([path])
    except GpuplanError:
        return
    finally:
        path.unlink()
    # a catalog that loads answers a scenario without a traceback
    header, cells = ["model", "users"], ["llama-3.1-8b", "8"]
    _, _, status = res = solve_cells(header, 1, cells, None, cat, LruCache(2))
    assert "internal error" not in res[0], res[0]


# ------------------------------------------------------------------------------ calibration CSVs
@FUZZ
@given(st.binary(max_size=300))
def test_calibration_csv_bytes(data):
    path = _file(data, ".csv")
    try:
        read_measurements(path, CATALOG)
    except GpuplanError:
        pass
    finally:
        path.unlink()


OWN = ["model", "gpu", "engine", "precision", "tp", "concurrency", "input_len", "output_len", "ttft_ms", "tpot_ms", "pp",
       "kv_precision"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(NUMBERS, WORDS), min_size=8, max_size=13), min_size=1, max_size=4))
def test_calibration_csv_rows(rows):
    path = _file(_csv([OWN, *rows]), ".csv")
    try:
        good, skipped = read_measurements(path, CATALOG)
        assert len(good) + len(skipped) == len(rows)  # every row is used or skipped with its reason
    finally:
        path.unlink()
