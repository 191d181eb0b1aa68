"""One currency per answer: offers in another currency are converted at a dated, sourced rate the
catalog (an overlay) gives, each converted price said so, or left out; no table or chart adds
amounts of two currencies."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from solver.errors import CatalogError
from solver.plan.planner import solve
from solver.schema.catalog import load_catalog
from solver.schema.pricing import conversion
from solver.schema.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
RATE = "exchange_rates:\n- {id: USD-EUR, from_currency: USD, to_currency: EUR, rate: 0.5, observed: '2026-12-01', source: [treasury memo 42]}\n"
SC = {"model": "llama-3.1-8b", "users": 8, "min_tokens_per_s_per_user": 10, "allowed_servers": ["runpod-h100-sxm-1", "ovh-l4-90"],
      "full_front": True}


@pytest.fixture
def with_rate(tmp_path):
    f = tmp_path / "rate.yaml"
    f.write_text(RATE)
    return load_catalog([f])


def test_the_builtin_catalog_converts_nothing(catalog):
    assert catalog.exchange_rates == {}  # no stored source gives a rate: none is invented
    plan = solve(Scenario(**{**SC, "allowed_servers": ["runpod-h100-sxm-1"]}), catalog)
    assert plan.status == "infeasible" and "has no EUR price" in " ".join(plan.explanation["suggestions"])


def test_a_rate_brings_offers_in_another_currency_converted_and_noted(with_rate, catalog):
    plan = solve(Scenario(**SC), with_rate)
    runpod = [c for c in plan.front if c["server"] == "runpod-h100-sxm-1"]
    assert runpod, "the USD offer is compared once converted"
    usd = catalog.servers["runpod-h100-sxm-1"].price.amount_per_hour
    c = runpod[0]
    assert c["currency"] == "EUR" and c["cost_per_hour"] == pytest.approx(usd * 0.5 * c["servers"])
    assert any("converted at 0.5 EUR/USD (2026-12-01, treasury memo 42)" in n for n in c["notes"])
    only = solve(Scenario(**SC, convert_prices=False), with_rate)  # the user says: one currency only
    assert all(c["server"] != "runpod-h100-sxm-1" for c in only.front)
    back = solve(Scenario(**{**SC, "currency": "USD", "allowed_servers": ["ovh-l4-90"]}), with_rate)  # the rate read backwards
    assert back.status == "ok" and all(c["currency"] == "USD" for c in back.front)
    l4 = back.front[0]
    assert l4["cost_per_hour"] == pytest.approx(catalog.servers["ovh-l4-90"].price.amount_per_hour * 2 * l4["servers"])
    assert "converted at 2 USD/EUR" in l4["notes"][0]


def test_a_rate_names_its_pair_and_its_source(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("exchange_rates:\n- {id: EUR-USD, from_currency: USD, to_currency: EUR, rate: 0.9, observed: x, source: [y]}\n")
    with pytest.raises(CatalogError, match="id must be 'USD-EUR'"):
        load_catalog([f])
    f.write_text("exchange_rates:\n- {id: USD-EUR, from_currency: USD, to_currency: EUR, rate: 0.9, observed: x, source: []}\n")
    with pytest.raises(CatalogError, match="source"):
        load_catalog([f])
    assert conversion({}, "USD", "EUR") is None


def test_no_report_adds_two_currencies(tmp_path):
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "model", "users", "currency", "min_tokens_per_s_per_user"])
        w.writerows([["eur-a", "llama-3.1-8b", 8, "EUR", 20], ["usd-a", "llama-3.1-8b", 8, "USD", 20],
                     ["eur-b", "qwen3-8b", 16, "EUR", 20]])
    out, report = tmp_path / "r.csv", tmp_path / "r.html"
    r = subprocess.run([sys.executable, "-m", "solver.cli.main", "batch", str(src), "-o", str(out), "--report", str(report)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = list(csv.DictReader(out.open()))
    totals = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], 0.0) + float(row["recommended_cost_per_hour"])
    html = report.read_text()
    line = re.search(r"All recommended configurations together: <b>(.*?)</b>", html).group(1)
    assert line == "; ".join(f"{v:,.2f} {c}/h ({v * 730:,.0f} {c}/month)" for c, v in sorted(totals.items()))
    # every cost in the recommendations table sits beside its currency
    assert html.count("<td>EUR</td>") >= 2 and html.count("<td>USD</td>") >= 1
