"""What a batch does when things go wrong around it: its parent killed, a worker killed, the disk
full; outputs that are safe to open in a spreadsheet or a browser whatever the ids say."""

from __future__ import annotations

import contextlib
import csv
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.robustness import alive, children_of
from solver.io.batch import ray_init_kwargs
from solver.io.batch_rows import spreadsheet_safe
from tests.io.test_batch import small_csv

ROOT = Path(__file__).resolve().parents[2]
needs_proc = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to list a process's children")


def gpuplan(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli.main", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, **kw)


def start_batch(src: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "solver.cli.main", "batch", str(src), "-o", str(out), *extra],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_rows(p: subprocess.Popen, out: Path, rows: int, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and p.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") > rows:
            return
        time.sleep(0.02)
    raise AssertionError(f"the batch wrote fewer than {rows} rows in {timeout} s (exit {p.poll()})")


def pool_workers(pid: int) -> list[int]:
    """The pool's worker processes among a process's children (not multiprocessing's resource tracker)."""
    out = []
    for c in children_of(pid):
        try:
            cmd = Path(f"/proc/{c}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd and alive(c):
            out.append(c)
    return out


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> tuple[Path, bytes]:
    """64 scenarios and the bytes of their uninterrupted 2-worker run."""
    d = tmp_path_factory.mktemp("reliability")
    src = small_csv(d / "in.csv", 64)
    full = d / "full.csv"
    r = gpuplan("batch", str(src), "-o", str(full), "--workers", "2")
    assert r.returncode in (0, 4), r.stderr[-2000:]
    return src, full.read_bytes()


@needs_proc
def test_workers_die_with_their_parent(work, tmp_path):
    src, _ = work
    out = tmp_path / "out.csv"
    p = start_batch(src, out, "--workers", "2")
    try:
        wait_rows(p, out, 2)
        workers = pool_workers(p.pid)
        assert len(workers) == 2, "expected two pool workers to watch"
        p.kill()  # kill -9: no cleanup runs in the parent
        p.wait()
        deadline = time.time() + 5
        while time.time() < deadline and any(alive(w) for w in workers):
            time.sleep(0.1)
        orphans = [w for w in workers if alive(w)]
    finally:
        for w in children_of(p.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(w, signal.SIGKILL)
    assert not orphans, f"workers {orphans} outlived their parent"


@needs_proc
def test_a_worker_killed_mid_batch_is_reported_and_the_batch_resumes_to_identical_bytes(work, tmp_path):
    src, expected = work
    out = tmp_path / "out.csv"
    p = start_batch(src, out, "--workers", "2")
    wait_rows(p, out, 2)
    os.kill(pool_workers(p.pid)[0], signal.SIGKILL)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 5, err[-2000:]
    assert "a worker process died (killed, or out of memory)" in err and "--resume" in err
    assert "Traceback" not in err
    r = gpuplan("batch", str(src), "-o", str(out), "--workers", "2", "--resume")
    assert r.returncode in (0, 4), r.stderr[-2000:]
    assert out.read_bytes() == expected


def test_disk_full_mid_batch_is_reported_and_the_partial_output_resumes(work, tmp_path):
    """A file size limit (RLIMIT_FSIZE) stands in for a full disk: the write fails part-way (EFBIG, as
    ENOSPC would), leaving a truncated last line; --resume without the limit gives the same bytes."""
    src, expected = work
    out = tmp_path / "out.csv"
    limit = len(expected) // 3

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    r = subprocess.run([sys.executable, "-m", "solver.cli.main", "batch", str(src), "-o", str(out), "--workers", "2"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600, preexec_fn=cap)
    assert r.returncode == 5, r.stderr[-2000:]
    assert f"writing {out} failed: File too large" in r.stderr and "rows written so far are kept" in r.stderr
    assert "Traceback" not in r.stderr
    assert 0 < out.stat().st_size <= limit
    r = gpuplan("batch", str(src), "-o", str(out), "--workers", "2", "--resume")
    assert r.returncode in (0, 4), r.stderr[-2000:]
    assert out.read_bytes() == expected


def test_ray_is_reached_on_the_loopback_address():
    """A local Ray and a cluster on this machine are joined on 127.0.0.1, whatever the host name
    resolves to; a remote cluster keeps Ray's own choice."""
    assert ray_init_kwargs(None, 2)["_node_ip_address"] == "127.0.0.1"
    assert ray_init_kwargs(None, 2)["num_cpus"] == 2 and ray_init_kwargs(None, 2)["include_dashboard"] is False
    for local in ("127.0.0.1:6379", "localhost:6379", "ray://127.0.0.1:10001"):
        assert ray_init_kwargs(local, 2)["_node_ip_address"] == "127.0.0.1", local
    remote = ray_init_kwargs("10.1.2.3:6379", 2)
    assert remote["address"] == "10.1.2.3:6379" and "_node_ip_address" not in remote


# ------------------------------------------------------------------------------- safe to open
PAYLOADS = ["=cmd|' /C calc'!A0", "@SUM(1)", "+1+1", "-2+3", "\tTAB", "<script>alert(1)</script>", "$\\undefinedcmd$"]


def test_spreadsheet_safe_cells():
    assert [spreadsheet_safe(p) for p in PAYLOADS[:5]] == ["'=cmd|' /C calc'!A0", "'@SUM(1)", "'+1+1", "'-2+3", "'\tTAB"]
    assert spreadsheet_safe("-3.5") == "-3.5" and spreadsheet_safe("+7") == "+7" and spreadsheet_safe(-2) == -2
    assert spreadsheet_safe("-inf") == "'-inf" and spreadsheet_safe("h100") == "h100"


def test_hostile_ids_and_names_are_neutralised_in_every_output(tmp_path):
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id", "model", "users", "allowed_servers"])
        for p in PAYLOADS:
            w.writerow([p, "llama-3.1-8b", 4, "ovh-l4-90;ovh-l40s-90"])
    variant = tmp_path / "v.yaml"
    variant.write_text("servers:\n- {id: ovh-l4-90, price: {amount_per_hour: 0.5}}\n")
    out, fronts, report = tmp_path / "r.csv", tmp_path / "f.jsonl", tmp_path / "r.html"
    r = gpuplan("batch", str(src), "-o", str(out), "--fronts", str(fronts), "--report", str(report))
    assert r.returncode == 0, r.stderr[-2000:]
    wi, wi_report = tmp_path / "w.csv", tmp_path / "w.html"
    r = gpuplan("whatif", str(src), "-o", str(wi), "--report", str(wi_report), "--variant", f"@HYPERLINK(1)<b>={variant}")
    assert r.returncode == 0, r.stderr[-2000:]
    formula = ("=", "+", "@", "\t", "\r")
    for path in (out, wi, wi.with_name("w.summary.csv")):
        for row in csv.reader(path.open(newline="")):
            bad = [c for c in row if c.startswith(formula) or (c.startswith("-") and not _number(c))]
            assert not bad, f"{path.name}: cells a spreadsheet would evaluate: {bad}"
    ids = [row["id"] for row in csv.DictReader(out.open(newline=""))]
    assert ids == [spreadsheet_safe(p.strip()) for p in PAYLOADS]  # ids are trimmed, then neutralised
    assert ids[:4] == ["'=cmd|' /C calc'!A0", "'@SUM(1)", "'+1+1", "'-2+3"]
    batch_page, whatif_page = report.read_text(), wi_report.read_text()
    assert "<script>" not in batch_page and "&lt;script&gt;" in batch_page  # the id, in the table and a front's title
    assert "<script>" not in whatif_page and "<b>" not in whatif_page and "@HYPERLINK(1)&lt;b&gt;" in whatif_page
    assert "$\\undefinedcmd$" in report.read_text()  # shown as written, not parsed as TeX


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True

