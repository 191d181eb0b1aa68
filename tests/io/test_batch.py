"""`gpuplan batch` and `gpuplan whatif`: bad rows, ordering, kill and resume, Ray, reports in a browser."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["llama-3.2-1b", "qwen3-0.6b", "llama-3.2-3b", "qwen3-4b", "llama-3.1-8b", "mistral-7b-v0.3"]


def run(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli.main", *args], capture_output=True, text=True, cwd=ROOT, **kw)


def small_csv(path: Path, n: int = 32) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "model", "context_tokens", "input_tokens", "output_tokens", "precision", "users", "allowed_servers",
                    "min_tokens_per_s_per_user"])
        for i in range(n):
            w.writerow([f"s{i}", SMALL[i % len(SMALL)], 8192, 500 + 100 * (i % 7), 128 + 64 * (i % 3), ["bf16", "fp8"][i % 2],
                        [1, 4, 16, 64][i % 4], "ovh-l4-90;ovh-l40s-90;ovh-h100-380;ovh-a10-45", [10, 20, ""][i % 3]])
    return path


def read(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


# ------------------------------------------------------------------------------------------ bad rows
EXPECTED = {
    "missing-columns": "missing: output_tokens",
    "extra-values": "extra values past the header",
    "row4": "empty row",
    "zero-users": "users: Input should be greater than or equal to 1",
    "negative-users": "users: Input should be greater than or equal to 1",
    "non-numeric-users": "unable to parse string as an integer",
    "unknown-model": "Did you mean: llama-3.3-70b",
    "unknown-precision": "Did you mean: fp8",
    "absurd-users": "less than or equal to 10000000",
    "absurd-context": "less than or equal to 10485760",
    "lengths-exceed-context": "exceed context_tokens",
    "unknown-engine": "Did you mean: vllm",
    "bad-boolean": "valid boolean",
    "repeated-objective": "objectives repeat",
    "unknown-gpu": "h100-sxm",
}


def test_bad_scenarios_become_error_rows_and_good_rows_are_solved(tmp_path):
    out = tmp_path / "r.csv"
    r = run("batch", "examples/bad_scenarios.csv", "-o", str(out))
    assert r.returncode == 4, r.stderr
    rows = read(out)
    assert [int(x["row"]) for x in rows] == list(range(1, len(rows) + 1))
    by_id = {}
    for x in rows:
        by_id.setdefault(x["id"], []).append(x)
    assert [x["status"] for x in by_id["good-8b"]] == ["ok", "error"]
    assert "duplicate id 'good-8b'" in by_id["good-8b"][1]["reason"]
    assert by_id["good-70b"][0]["status"] == "ok" and by_id["good-70b"][0]["cheapest_cost_per_hour"]
    for sid, needle in EXPECTED.items():
        (x,) = by_id[sid]
        assert x["status"] == "error" and needle in x["reason"], (sid, x["reason"])
    assert sum(x["status"] == "error" for x in rows) >= 10  # the file's BOM is an 11th kind: 'id' still parsed
    assert rows[0]["id"] == "good-8b"  # with a BOM, a misread header would make it "row1"


def test_bad_header_names_columns(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("id,modle,users,contxt_tokens\nx,llama-3.1-8b,1,8192\n")
    r = run("batch", str(f), "-o", str(tmp_path / "o.csv"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "unknown column 'modle' (did you mean model" in r.stderr and "context_tokens" in r.stderr


# ------------------------------------------------------------------------------------ crash, resume
def test_sigkill_then_resume_is_byte_identical(tmp_path):
    src = small_csv(tmp_path / "in.csv", 40)
    clean, clean_fr = tmp_path / "clean.csv", tmp_path / "clean.jsonl"
    assert run("batch", str(src), "-o", str(clean), "--fronts", str(clean_fr)).returncode in (0, 4)
    out, fr = tmp_path / "out.csv", tmp_path / "out.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "solver.cli.main", "batch", str(src), "-o", str(out), "--fronts", str(fr)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if out.exists() and out.read_text().count("\n") >= 12:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = out.read_text().count("\n") - 1
    assert 0 < partial < 40, f"killed too late or too early ({partial} rows)"
    with out.open("a") as fh:  # a torn last line, as a crash mid-write could leave
        fh.write("41,half-a-row,ok")
    r = run("batch", str(src), "-o", str(out), "--fronts", str(fr), "--resume")
    assert r.returncode in (0, 4), r.stderr
    assert f"({partial} resumed)" in r.stderr or "resumed" in r.stderr
    assert out.read_bytes() == clean.read_bytes()
    assert fr.read_bytes() == clean_fr.read_bytes()


def test_two_local_workers_give_the_same_bytes(tmp_path):
    src = small_csv(tmp_path / "in.csv", 24)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    run("batch", str(src), "-o", str(a))
    r = run("batch", str(src), "-o", str(b), "--workers", "2")
    assert r.returncode in (0, 4), r.stderr
    assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------------------------------------- Ray
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ray_cluster_gives_the_same_bytes_as_local(tmp_path):
    """Starts a real Ray head on 127.0.0.1 and stops it afterwards (`ray stop` ends every Ray process of
    this user on the machine: do not run it beside another Ray job)."""
    ray_bin = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    assert Path(ray_bin).exists(), "Ray is part of the test extra: pip install -e '.[test]'"
    src = small_csv(tmp_path / "in.csv", 16)
    local = tmp_path / "local.csv"
    run("batch", str(src), "-o", str(local))
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    start = subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                            "--include-dashboard=false", "--disable-usage-stats"], capture_output=True, text=True, env=env, timeout=180)
    assert start.returncode == 0, start.stderr[-2000:]
    try:
        out = tmp_path / "ray.csv"
        r = run("batch", str(src), "-o", str(out), "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", env=env, timeout=600)
        assert r.returncode in (0, 4), r.stderr[-3000:]
        assert out.read_bytes() == local.read_bytes()
    finally:
        subprocess.run([ray_bin, "stop", "--force"], capture_output=True, env=env, timeout=120)


# ------------------------------------------------------------------------------------------ what-if
def test_whatif_variants(tmp_path):
    (tmp_path / "cheap.yaml").write_text("pricing:\n- id: default\n  factors_by_provider: {ovhcloud: 0.5}\n")
    (tmp_path / "nostock.yaml").write_text("servers:\n- {id: ovh-l4-90, stock: 0}\n- {id: ovh-l40s-90, stock: 0}\n"
                                            "- {id: ovh-h100-380, stock: 0}\n- {id: ovh-a10-45, stock: 0}\n")
    # buy instead of rent: test-only purchase quotes and power figures (not catalog facts)
    (tmp_path / "buy.yaml").write_text(
        "pricing:\n- {id: default, mode: buy, amortisation_years: 3, pue: 1.5, electricity_price_per_kwh: 0.2, currency: EUR}\n"
        "servers:\n- id: ovh-l4-90\n  purchase: {amount: 26280, currency: EUR, observed: test, source: test quote}\n  power_kw: 0.5\n")
    src = small_csv(tmp_path / "in.csv", 6)
    out = tmp_path / "w.csv"
    r = run("whatif", str(src), "--variant", f"cheap={tmp_path / 'cheap.yaml'}", "--variant", f"nostock={tmp_path / 'nostock.yaml'}",
            "--variant", f"buy={tmp_path / 'buy.yaml'}", "-o", str(out), "--report", str(tmp_path / "w.html"))
    assert r.returncode == 4, r.stderr  # the no-stock variant leaves scenarios without a configuration
    rows = read(out)
    assert {x["variant"] for x in rows} == {"base", "cheap", "nostock", "buy"}
    base = {x["row"]: x for x in rows if x["variant"] == "base"}
    for x in rows:
        if x["variant"] == "nostock":
            assert x["status"] == "infeasible" and x["feasibility_change"] == "became infeasible"
        if x["variant"] == "cheap" and x["status"] == "ok":
            assert float(x["cost_per_hour"]) <= float(base[x["row"]]["cost_per_hour"])
        if x["variant"] == "buy" and x["status"] == "ok":
            assert x["server"] == "ovh-l4-90"  # the only server with a purchase price
            # 26280 EUR over 3 years = 1.0 EUR/h, plus 0.5 kW x 1.5 x 0.2 EUR = 0.15 EUR/h, per server
            assert float(x["cost_per_hour"]) == pytest.approx(1.15 * int(x["servers"]))
    summary = read(out.with_name("w.summary.csv"))
    cheap = next(s for s in summary if s["variant"] == "cheap")
    assert float(cheap["total_cost_per_hour"]) == pytest.approx(float(cheap["base_total_cost_per_hour"]) / 2)
    assert next(s for s in summary if s["variant"] == "nostock")["became_infeasible"] == "6"


# -------------------------------------------------------------------------------- report in a browser
