"""Batch throughput and memory: generated scenarios through `gpuplan batch`.

Reports scenarios/s with 1 worker (on the small input) and 2 local workers, with Ray on a local 2-CPU
cluster, and the peak resident memory of the largest process with 2 workers for the small and the
big input (flatness: the big one is 10 x larger by default).  Saves JSON.

Usage: python benchmarks/batch.py [--n 10000] [--small 1000] [--skip-ray] [--out benchmarks/results/batch.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.scenarios_gen import generate  # noqa: E402

COLUMNS = ["id", "model", "context_tokens", "input_tokens", "output_tokens", "precision", "users", "engine",
           "min_tokens_per_s_per_user", "max_ttft_ms", "budget_per_hour", "load", "peak_factor", "allow_multi_server",
           "objectives", "allow_fallback_precision"]


def write_csv(path: Path, n: int) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for f in generate(n, seed=1):
            row = []
            for c in COLUMNS:
                v = f.get(c, "")
                row.append(";".join(v) if isinstance(v, list) else v)
            w.writerow(row)


def run(args: list[str], env=None) -> tuple[float, float, int]:
    """(seconds, peak RSS MiB of the largest child process, exit code) of one CLI run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "solver.cli.main", *args], capture_output=True, text=True, cwd=ROOT, env=env)
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode not in (0, 4):
        raise SystemExit(f"batch failed: {p.stderr[-2000:]}")
    return secs, max(peak, before) / 1024, p.returncode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "batch.json"))
    args = ap.parse_args()
    work = Path(ROOT / "benchmarks" / "results" / "batch_work")
    work.mkdir(parents=True, exist_ok=True)
    big, small = work / "big.csv", work / "small.csv"
    write_csv(big, args.n)
    write_csv(small, args.small)
    report: dict = {"rows": args.n, "small_rows": args.small, "cpus": os.cpu_count(), "runs": {}}
    for name, extra, src in (("local_1_worker_small", ["--workers", "1"], small),
                             ("local_2_workers_small", ["--workers", "2"], small),
                             ("local_2_workers", ["--workers", "2"], big)):
        secs, rss, _ = run(["batch", str(src), "-o", str(work / f"{name}.csv"), *extra])
        n = args.small if src == small else args.n
        report["runs"][name] = {"rows": n, "seconds": round(secs, 1), "scenarios_per_s": round(n / secs, 2), "peak_rss_mib": round(rss, 1)}
        print(name, report["runs"][name], flush=True)
    same = (work / "local_1_worker_small.csv").read_bytes() == (work / "local_2_workers_small.csv").read_bytes()
    report["local_1_and_2_workers_identical"] = same
    if not args.skip_ray:
        ray_bin = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        subprocess.run([ray_bin, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                        "--include-dashboard=false", "--disable-usage-stats"], check=True, capture_output=True, env=env)
        try:
            secs, rss, _ = run(["batch", str(big), "-o", str(work / "ray.csv"), "--executor", "ray",
                                "--ray-address", f"127.0.0.1:{port}"], env=env)
            report["runs"]["ray_2_cpus"] = {"rows": args.n, "seconds": round(secs, 1), "scenarios_per_s": round(args.n / secs, 2),
                                            "peak_rss_mib_driver": round(rss, 1)}
            report["ray_identical_to_local"] = (work / "ray.csv").read_bytes() == (work / "local_2_workers.csv").read_bytes()
            print("ray_2_cpus", report["runs"]["ray_2_cpus"], flush=True)
        finally:
            subprocess.run([ray_bin, "stop", "--force"], capture_output=True, env=env)
    r = report["runs"]
    report["memory_flatness"] = {"rows_small": args.small, "rows_big": args.n,
                                 "peak_rss_mib_small": r["local_2_workers_small"]["peak_rss_mib"],
                                 "peak_rss_mib_big": r["local_2_workers"]["peak_rss_mib"]}
    report["targets"] = {"scenarios_per_s_2_workers": 50, "peak_memory_mib": 1024}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
