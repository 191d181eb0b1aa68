"""Each HTML report opened in a real browser (headless Chromium driven by Selenium through chromedriver,
both from Debian's packages, installed by .ci/run): no console error, every chart drawn, the key
figures on the page, a screenshot kept in the test's folder.  Skipped, saying why, only where no
browser and driver can be had."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.io.test_batch import small_csv

ROOT = Path(__file__).resolve().parents[2]


def browser_and_driver() -> tuple[str, str] | None:
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def page():
    found = browser_and_driver()
    if found is None:
        pytest.skip("no Chromium and chromedriver on this machine (.ci/run installs Debian's chromium and chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is part of the test extra")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads: both binaries are given
    opts = Options()
    opts.binary_location = found[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000",
                "--disable-background-networking", "--disable-component-update", "--no-first-run"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(found[1]), options=opts)
    yield drv
    drv.quit()


def gpuplan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli.main", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def open_report(drv, path: Path, shot: Path) -> dict:
    drv.get(path.as_uri())
    errors = [e for e in drv.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    charts = drv.execute_script("return [...document.querySelectorAll('svg')].map(s => {"
                                "const r = s.getBoundingClientRect(); return [r.width, r.height, s.querySelectorAll('path').length]; })")
    text = drv.execute_script("return document.body.innerText")
    width = drv.execute_script("return document.documentElement.scrollWidth")
    drv.save_screenshot(str(shot))
    return {"errors": errors, "charts": charts, "text": text, "width": width}


def test_batch_report_in_a_browser(page, tmp_path):
    src = small_csv(tmp_path / "in.csv", 10)
    out, fronts, report = tmp_path / "r.csv", tmp_path / "f.jsonl", tmp_path / "report.html"
    r = gpuplan("batch", str(src), "-o", str(out), "--fronts", str(fronts), "--report", str(report))
    assert r.returncode in (0, 4), r.stderr[-2000:]
    html = report.read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)  # self-contained: nothing to fetch
    got = open_report(page, report, tmp_path / "batch.png")
    assert got["errors"] == []
    feasible = sum(row["status"] == "ok" for row in csv.DictReader(out.open()))
    assert len(got["charts"]) == 1 + feasible  # the GPUs chosen, then one front per feasible scenario
    assert all(w > 100 and h > 100 and paths > 3 for w, h, paths in got["charts"]), got["charts"]
    first = next(row for row in csv.DictReader(out.open()) if row["status"] == "ok")
    assert "Recommendations" in got["text"] and first["id"] in got["text"]
    assert f"{float(first['recommended_cost_per_hour']):,.2f}" in got["text"] and "EUR" in got["text"]
    assert got["width"] <= 1280, "the page is wider than the window: a table does not fit"
    assert (tmp_path / "batch.png").stat().st_size > 10_000


def test_whatif_report_in_a_browser(page, tmp_path):
    variant = tmp_path / "cheap-h100.yaml"
    variant.write_text("servers:\n- {id: ovh-h100-380, price: {amount_per_hour: 0.10}}\n")  # the answers change
    src = small_csv(tmp_path / "in.csv", 8)
    out, report = tmp_path / "w.csv", tmp_path / "w.html"
    r = gpuplan("whatif", str(src), "-o", str(out), "--report", str(report), "--variant", f"cheap-h100={variant}")
    assert r.returncode in (0, 4), r.stderr[-2000:]
    got = open_report(page, report, tmp_path / "whatif.png")
    assert got["errors"] == []
    assert len(got["charts"]) >= 2 and all(w > 100 and h > 100 for w, h, _ in got["charts"])
    summary = next(csv.DictReader(out.with_name("w.summary.csv").open()))
    assert f"{float(summary['total_cost_per_hour']):,.2f}" in got["text"]
    assert "cheap-h100" in got["text"] and "before" in got["text"] and "ovh-h100-380" in got["text"]
    assert got["width"] <= 1280


def test_fleet_report_in_a_browser(page, tmp_path):
    report = tmp_path / "fleet.html"
    ex = ROOT / "examples"
    r = gpuplan("fleet", str(ex / "fleet" / "portfolio.csv"), "--inventory", str(ex / "fleet" / "inventory.yaml"),
                "--variant", f"stock2={ex / 'variants' / 'h100-stock-2.yaml'}", "--front-points", "2", "--no-alone",
                "--report", str(report))
    assert r.returncode == 0, r.stderr[-2000:]
    html = report.read_text()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)
    got = open_report(page, report, tmp_path / "fleet.png")
    assert got["errors"] == []
    assert len(got["charts"]) == 2 and all(w > 100 and h > 100 for w, h, _ in got["charts"])  # utilisation, base and variant
    for words in ("Servers to use", "support-chat-70b", "ovh-h100-1520", "Variant stock2", "EUR/h"):
        assert words in got["text"]
    assert got["width"] <= 1280, "the page is wider than the window: a table does not fit"
