"""Robustness as a hostile or careless user meets it: bad inputs, kills, orphaned workers.

Prints and saves (JSON):
- every bad input of tests/data/bad/cases.yaml run as a user would (`gpuplan ...` in a subprocess):
  kinds tried, tracebacks (must be 0), cases whose exit code or message differ from the expected;
- good rows lost: a CSV mixing good and bad rows, the good ones must all be solved (must be 0 lost);
- kill -9 of a 2-worker batch at 5 points, each resumed with --resume: identical bytes to an
  uninterrupted run (must be 5/5);
- orphaned processes after a kill -9 of the parent: workers still alive 3 s later (must be 0).

Usage: python benchmarks/robustness.py [--out benchmarks/results/robustness.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad"


def load_cases(bad: Path = BAD, tmp: Path | None = None) -> list[tuple[str, str, list[str], int, str]]:
    """(group, name, gpuplan arguments, expected exit code, message fragment) for every case of
    cases.yaml, with {bad} and {tmp} filled in."""
    doc = yaml.safe_load((bad / "cases.yaml").read_text())
    tmp = tmp or Path(tempfile.gettempdir())
    out = []
    for group, spec in doc.items():
        for name, case in spec["cases"].items():
            code, fragment = case[0], case[1]
            args = case[2] if len(case) > 2 else spec["args"]
            out.append((group, name, [a.format(bad=bad, tmp=tmp, file=name) for a in args], code, fragment))
    return out


def gpuplan(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "solver.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)


def children_of(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(x) for x in (task / "children").read_text().split()]
    return out


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def generated_csv(path: Path, n: int) -> Path:
    """The batch benchmark's generated scenarios (benchmarks/batch.py), n rows."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.batch import write_csv

    write_csv(path, n)
    return path


def kill_and_resume(src: Path, work: Path, expected: bytes, after_rows: int) -> bool:
    """kill -9 a 2-worker batch once `after_rows` rows are written, resume, compare the bytes."""
    out = work / f"killed-{after_rows}.csv"
    p = subprocess.Popen([sys.executable, "-m", "solver.cli.main", "batch", str(src), "-o", str(out), "--workers", "2"],
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") > after_rows:
            break
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL) if p.poll() is None else None
    p.wait()
    r = gpuplan("batch", str(src), "-o", str(out), "--workers", "2", "--resume")
    return r.returncode in (0, 4) and out.read_bytes() == expected


def orphans_after_parent_kill(src: Path, work: Path) -> int:
    """Workers still alive 3 s after kill -9 of the batch's main process (the workers only: the
    process group is not killed)."""
    out = work / "orphan.csv"
    p = subprocess.Popen([sys.executable, "-m", "solver.cli.main", "batch", str(src), "-o", str(out), "--workers", "2"],
                         cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    workers: list[int] = []
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and not (out.exists() and out.read_bytes().count(b"\n") > 2):
        time.sleep(0.05)
    workers = [c for c in children_of(p.pid) if alive(c)]
    p.kill()
    p.wait()
    time.sleep(3)
    left = [w for w in workers if alive(w)]
    for w in left:  # do not leave them running after the measurement
        os.kill(w, signal.SIGKILL)
    return len(left) if workers else -1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "robustness.json"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gpuplan-robustness-"))
    try:
        cases = load_cases(tmp=work)
        tracebacks, mismatches = 0, []
        for group, name, argv, code, fragment in cases:
            r = gpuplan(*argv)
            text = r.stdout + r.stderr
            tracebacks += "Traceback" in text
            if r.returncode != code or fragment not in text:
                mismatches.append({"case": f"{group}: {name}", "exit": r.returncode, "expected_exit": code,
                                   "output_tail": text[-300:]})
        # good rows among bad ones: every good row solved, in place
        mixed = work / "results-mixed.csv"
        r = gpuplan("batch", str(BAD / "csv_bad_rows.csv"), "-o", str(mixed))
        lines = mixed.read_text().splitlines()[1:]
        good_ids = ["good-1", "good-2"]
        solved = [ln.split(",")[1] for ln in lines if ln.split(",")[2] == "ok"]
        good_lost = len([g for g in good_ids if g not in solved])
        # kill -9 at five points
        src = generated_csv(work / "gen.csv", 120)
        full = work / "full.csv"
        gpuplan("batch", str(src), "-o", str(full), "--workers", "2")
        expected = full.read_bytes()
        points = [8, 24, 48, 72, 104]
        resumed = [kill_and_resume(src, work, expected, k) for k in points]
        orphans = orphans_after_parent_kill(src, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "bad_input_cases": len(cases),
        "bad_input_kinds": sorted({g for g, *_ in cases}),
        "tracebacks": tracebacks,
        "unexpected_answers": mismatches,
        "good_rows_lost": good_lost,
        "kill9_points_rows": points,
        "kill9_resumed_identical": f"{sum(resumed)}/{len(resumed)}",
        "orphaned_workers_after_parent_kill": orphans,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result, indent=2))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
