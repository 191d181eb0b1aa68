"""`gpuplan fleet` end to end: the example portfolio and inventory, formats, exit codes, bad rows and
bad inventories, variants and the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples"
SMALL = ["--front-points", "2", "--no-alone"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli.main", "fleet", *args], capture_output=True, text=True, cwd=ROOT)


def portfolio(tmp_path: Path, rows: list[str]) -> str:
    p = tmp_path / "portfolio.csv"
    p.write_text("id,model,users,precision,min_tokens_per_s_per_user,allowed_servers\n" + "\n".join(rows) + "\n")
    return str(p)


def test_example_portfolio_json_is_complete_and_deterministic():
    args = [str(EX / "fleet" / "portfolio.csv"), "--inventory", str(EX / "fleet" / "inventory.yaml"), "--format", "json", "--front-points", "2"]
    r1, r2 = run(*args), run(*args)
    assert r1.returncode == 0, r1.stderr
    assert r1.stdout == r2.stdout
    d = json.loads(r1.stdout)["base"]
    assert d["status"] == "ok" and d["servers"] and len(d["workloads"]) == 6
    owned = next(s for s in d["servers"] if s["server"] == "ovh-h100-1520")
    assert owned["owned_used"] == 1  # the owned server is used before renting more
    for w in d["workloads"]:
        assert w["status"] == "served" and sum(p["users"] for p in w["pools"]) == w["users"]
        assert w["cost_alone_per_hour"] is not None
    assert abs(sum(w["cost_share_per_hour"] for w in d["workloads"]) - d["cost_per_hour"]) < 1e-3
    assert d["cost_per_hour"] <= 120  # the inventory's budget
    assert sum(s["power_kw"] for s in d["servers"]) <= 40


def test_table_and_csv(tmp_path):
    r = run(str(EX / "fleet" / "portfolio.csv"), "--inventory", str(EX / "fleet" / "inventory.yaml"), *SMALL)
    assert r.returncode == 0, r.stderr
    assert "Servers to use" in r.stdout and "support-chat-70b" in r.stdout
    r = run(str(EX / "fleet" / "portfolio.csv"), "--format", "csv", *SMALL)
    lines = r.stdout.splitlines()
    assert lines[0].startswith("variant,section,id,status")
    assert {ln.split(",")[1] for ln in lines[1:]} == {"server", "pool"}


def test_a_bad_row_is_an_error_workload_and_the_others_are_planned(tmp_path):
    f = portfolio(tmp_path, ["good,llama-3.1-8b,10,fp8,20,ovh-h100-380", "bad,llama-3.1-8b,ten,fp8,20,",
                             "good,llama-3.1-8b,3,fp8,20,"])
    r = run(f, "--format", "json", *SMALL)
    assert r.returncode == 4, r.stderr
    ws = {w["id"]: w for w in json.loads(r.stdout)["base"]["workloads"]}
    assert ws["good"]["status"] == "served"
    assert ws["bad"]["status"] == "error" and "users" in ws["bad"]["reason"]
    assert ws["good@row3"]["status"] == "error" and "duplicate" in ws["good@row3"]["reason"]


def test_nothing_servable_exits_3(tmp_path):
    f = portfolio(tmp_path, ["huge,llama-3.3-70b,10,bf16,20,ovh-l4-90"])
    r = run(f, *SMALL)
    assert r.returncode == 3
    assert "Traceback" not in r.stderr


def test_bad_inventory_names_file_entry_field_and_suggests(tmp_path):
    inv = tmp_path / "inv.yaml"
    inv.write_text("servers:\n  - {server: ovh-h100-76, stock: 2}\n")
    r = run(str(EX / "fleet" / "portfolio.csv"), "--inventory", str(inv))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "servers[0]" in r.stderr and "ovh-h100-760" in r.stderr
    inv.write_text("servers:\n  - {server: ovh-h100-760, stok: 2}\n")
    r = run(str(EX / "fleet" / "portfolio.csv"), "--inventory", str(inv))
    assert r.returncode == 2 and "servers[0] (ovh-h100-760)" in r.stderr and "stock" in r.stderr
    inv.write_text("budget_per_hour: -3\n")
    r = run(str(EX / "fleet" / "portfolio.csv"), "--inventory", str(inv))
    assert r.returncode == 2 and "budget_per_hour" in r.stderr


def test_variant_reports_what_changes_and_the_report_is_written(tmp_path):
    f = portfolio(tmp_path, ["chat,llama-3.3-70b,100,fp8,20,ovh-h100-380;ovh-h100-760;ovh-h100-1520"])
    out = tmp_path / "fleet.html"
    r = run(f, "--variant", f"stock2={EX / 'variants' / 'h100-stock-2.yaml'}", "--format", "json", "--report", str(out), *SMALL)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    v = d["variants"]["stock2"]
    assert v["plan"]["status"] == "ok"
    for s in v["plan"]["servers"]:
        assert s["new"] <= 2
    assert v["changes"]["base_cost_per_hour"] == d["base"]["cost_per_hour"]
    page = out.read_text()
    assert "Variant stock2" in page and "<svg" in page


def test_solve_mix_json():
    r = subprocess.run([sys.executable, "-m", "solver.cli.main", "solve", "--model", "llama-3.3-70b", "--users", "100",
                        "--precision", "fp8", "--min-tokens-per-s-per-user", "20", "--allowed-gpus", "H100", "--catalog",
                        str(EX / "variants" / "h100-stock-2.yaml"), "--mix", "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["front"][0]["mixed"] and d["one_shape_cost_per_hour"] is None
    assert {p["server"] for p in d["front"][0]["pools"]} == {"ovh-h100-1520", "ovh-h100-760"}
