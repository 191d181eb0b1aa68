"""`gpuplan batch`: thousands of scenarios from a CSV, streamed, in order, resumable, local or on Ray.

Rows are read lazily and sent in chunks to an executor with a bounded window of chunks in flight, so
memory stays flat whatever the input size; results are written and flushed in input order as soon
as they are ready (a crash loses at most the chunks in flight); `--resume` keeps the complete rows
already written and finishes the run, giving the same bytes as an uninterrupted run.  Each row's
output depends only on that row and the catalog, so every executor gives identical bytes.
"""

from __future__ import annotations

import csv
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from solver.errors import GpuplanError, IncompleteRunError
from solver.io.batch_rows import (
    RESULT_COLUMNS,
    cells_to_scenario,
    complete_lines,
    csv_line,
    front_line,
    read_rows,
    result_row,
    row_id,
)
from solver.io.files import writing

RESUME_HINT = "rerun the same command with --resume to finish (the output is the same as an uninterrupted run's)"
CHUNK_ROWS = 8
CACHE_ENTRIES = 32  # candidate sets kept per worker for rows sharing a workload (bounds memory)
WINDOW_PER_WORKER = 4

# ------------------------------------------------------------------------------------ worker side
_STATE: dict = {}


def _catalog(paths: tuple[str, ...]):
    from solver.plan.planner import LruCache
    from solver.schema.catalog import load_catalog

    if _STATE.get("paths") != paths:
        _STATE.update(paths=paths, catalog=load_catalog(paths), cache=LruCache(CACHE_ENTRIES))
    return _STATE["catalog"], _STATE["cache"]


def solve_cells(header: list[str], row: int, cells: list[str], duplicate_of: int | None, catalog, cache) -> tuple[str, str, str]:
    """(results.csv line, fronts.jsonl line, status) for one input row; never raises for bad input."""
    from solver.plan.planner import solve

    sid = row_id(header, cells, row)
    try:
        if duplicate_of is not None:
            raise GpuplanError(f"duplicate id '{sid}' (first used on row {duplicate_of})")
        sc = cells_to_scenario(header, cells, row)
        plan = solve(sc, catalog, cache=cache)
    except Exception as e:  # noqa: BLE001 - one row never stops the batch; a bug is reported as such
        reason = str(e) if isinstance(e, GpuplanError) else f"internal error (a bug in gpuplan, please report): {type(e).__name__}: {e}"
        return csv_line(result_row(row, sid, "error", reason, [], None)), front_line(row, sid, "error", [], {"message": reason}), "error"
    if plan.status == "ok":
        rec = plan.recommendation or {}
        return (csv_line(result_row(row, sid, "ok", "", plan.front, plan.scenario.currency, rec.get("command"), plan.warnings,
                                    plan.front_total)),
                front_line(row, sid, "ok", plan.front, None), "ok")
    e = plan.explanation
    reason = e["message"] + ("; nearest relaxation: " + e["suggestions"][0] if e["suggestions"] else "")
    return (csv_line(result_row(row, sid, "infeasible", reason, [], plan.scenario.currency)),
            front_line(row, sid, "infeasible", [], e), "infeasible")


def solve_chunk(header: list[str], items: list[tuple[int, list[str], int | None]], catalog_paths: tuple[str, ...]) -> list[tuple[str, str, str]]:
    catalog, cache = _catalog(catalog_paths)
    return [solve_cells(header, row, cells, dup, catalog, cache) for row, cells, dup in items]


# ------------------------------------------------------------------------------------- executors
PARENT_POLL_S = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Pool worker initializer: exit as soon as the process that started the pool is gone, so that a
    killed `gpuplan batch` (kill -9 included, which runs no cleanup) leaves no worker computing.  A
    daemon thread polls the parent id: a worker whose parent died is re-parented (POSIX), and the
    thread runs between the solver's Python steps and while CP-SAT holds no GIL."""
    if os.getppid() != parent_pid:  # the parent died while this worker started
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()



class LocalExecutor:
    """In-process for one worker; a process pool otherwise."""

    def __init__(self, workers: int):
        self.workers = workers
        self.pool = None
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor
            from multiprocessing import get_context

            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                            initializer=die_with_parent, initargs=(os.getpid(),))

    def submit(self, *args, fn=None):
        fn = fn or solve_chunk
        if self.pool is None:
            return _Done(fn(*args))
        return self.pool.submit(fn, *args)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


class _Done:
    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


LOOPBACK_HOSTS = ("localhost", "::1", "[::1]")


def ray_init_kwargs(address: str | None, workers: int) -> dict:
    """ray.init's arguments.  A local Ray (no address) and a cluster on this machine (a loopback
    address) are reached on 127.0.0.1 explicitly: left to itself, Ray names the driver's node by the
    address the host name resolves to, which on some hosts is not where a head bound to 127.0.0.1
    listens."""
    quiet = {"log_to_driver": False, "logging_level": "ERROR"}
    if not address:
        return {"num_cpus": workers, "include_dashboard": False, "_node_ip_address": "127.0.0.1", **quiet}
    host = address.split("://", 1)[-1].rsplit(":", 1)[0]
    local = host.startswith("127.") or host in LOOPBACK_HOSTS
    return {"address": address, **({"_node_ip_address": "127.0.0.1"} if local else {}), **quiet}


class RayExecutor:
    """Chunks as Ray tasks (one CPU, one CP-SAT worker each) on a cluster or a local Ray."""

    def __init__(self, address: str | None, workers: int):
        try:
            import ray
        except ImportError:
            raise GpuplanError("the Ray executor needs Ray: pip install 'gpuplan[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            ray.init(**ray_init_kwargs(address, workers))
        self._remote: dict = {}
        self.workers = max(1, int(ray.cluster_resources().get("CPU", workers)))

    def submit(self, *args, fn=None):
        fn = fn or solve_chunk
        if fn not in self._remote:
            self._remote[fn] = self.ray.remote(num_cpus=1)(fn)
        return _RayFuture(self.ray, self._remote[fn].remote(*args))

    def close(self) -> None:
        self.ray.shutdown()


class _RayFuture:
    def __init__(self, ray, ref):
        self.ray, self.ref = ray, ref

    def result(self):
        return self.ray.get(self.ref)


# ----------------------------------------------------------------------------------------- driver
def run_ordered(ex, calls: Iterator[tuple], fn, on_result) -> None:
    """Submit `fn(*args)` for each args in `calls` with a bounded window in flight; hand each result
    to `on_result` in submission order (flat memory, ordered output)."""
    # in-process work is done at submit time: hand each chunk over at once (a crash loses one chunk)
    window = 1 if isinstance(ex, LocalExecutor) and ex.pool is None else max(1, WINDOW_PER_WORKER * ex.workers)
    pending: deque = deque()
    for args in calls:
        pending.append(ex.submit(*args, fn=fn))
        while len(pending) >= window:
            on_result(pending.popleft().result())
    while pending:
        on_result(pending.popleft().result())



@dataclass
class BatchSummary:
    rows: int = 0
    ok: int = 0
    infeasible: int = 0
    error: int = 0
    resumed: int = 0
    seconds: float = 0.0
    chosen_gpus: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)  # old column names renamed
    flushed: int = 0  # rows of this run on disk in both outputs (what --resume keeps)

    @property
    def failed(self) -> bool:
        return self.infeasible + self.error > 0


def _chunks(rows: Iterator[tuple[int, list[str]]], header: list[str], skip: int) -> Iterator[list]:
    """Chunks of (row, cells, duplicate_of); duplicate ids are detected here, in input order."""
    first_row: dict[str, int] = {}
    chunk: list = []
    for row, cells in rows:
        dup = None
        sid = row_id(header, cells, row)
        if sid != f"row{row}":
            dup = first_row.get(sid)
            if dup is None:
                first_row[sid] = row
        if row <= skip:
            continue
        chunk.append((row, cells, dup))
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def prepare_outputs(output: Path, fronts: Path | None, resume: bool) -> int:
    """Open for a fresh run (truncate) or for resuming (keep complete rows): rows already done."""
    header = csv_line(RESULT_COLUMNS)
    if not resume or not output.exists():
        output.write_text(header)
        if fronts is not None:
            fronts.write_text("")
        return 0
    with output.open("rb") as fh:
        first = fh.readline().decode("utf-8", "replace")
    if first != header:
        raise GpuplanError(f"{output}: not a gpuplan results file (header differs); cannot resume")
    n_res, _ = complete_lines(output)
    done = max(0, n_res - 1)
    if fronts is not None:
        n_fr, _ = complete_lines(fronts) if fronts.exists() else (0, 0)
        done = min(done, n_fr)
    _truncate_lines(output, done + 1)
    if fronts is not None:
        if not fronts.exists():
            fronts.write_text("")
        _truncate_lines(fronts, done)
    return done


def _truncate_lines(path: Path, keep: int) -> None:
    if keep == 0:
        path.write_text("")
        return
    seen, pos = 0, 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            start = 0
            while seen < keep:
                i = chunk.find(b"\n", start)
                if i < 0:
                    break
                seen += 1
                start = i + 1
            if seen == keep:
                pos += start
                break
            pos += len(chunk)
    with path.open("r+b") as fh:
        fh.truncate(pos)


def run_batch(input_csv: str, output: str, fronts: str | None = None, workers: int = 1, executor: str = "local",
              ray_address: str | None = None, resume: bool = False, catalog_paths: tuple[str, ...] = (),
              progress: bool | None = None) -> BatchSummary:
    from solver.schema.catalog import load_catalog

    t0 = time.perf_counter()
    load_catalog(catalog_paths)  # validate the catalog once, before any row (a bad catalog is exit 2)
    notices: list[str] = []
    header, rows = read_rows(input_csv, notices)
    out_path, fr_path = Path(output), Path(fronts) if fronts else None
    with writing(out_path if fr_path is None else f"{out_path} or {fr_path}"):
        done = prepare_outputs(out_path, fr_path, resume)
    summary = BatchSummary(resumed=done, notices=notices)
    ex = RayExecutor(ray_address, workers) if executor == "ray" else LocalExecutor(workers)
    show = sys.stderr.isatty() if progress is None else progress
    bar = _Progress(show)
    try:
        with out_path.open("a", encoding="utf-8", newline="") as res, (fr_path.open("a", encoding="utf-8") if fr_path else open(os.devnull, "w")) as fro:
            def write(results) -> None:
                for res_line, fr_line, status in results:
                    res.write(res_line)
                    fro.write(fr_line)
                    summary.rows += 1
                    setattr(summary, status, getattr(summary, status) + 1)
                    if status == "ok":
                        gpu = next(csv.reader([res_line]))[RESULT_COLUMNS.index("cheapest_gpu")] or "(no price)"
                        summary.chosen_gpus[gpu] = summary.chosen_gpus.get(gpu, 0) + 1
                res.flush()
                fro.flush()
                summary.flushed = summary.rows
                bar.advance(summary)

            calls = ((header, chunk, tuple(catalog_paths)) for chunk in _chunks(rows, header, done))
            run_ordered(ex, calls, solve_chunk, write)
    except OSError as e:
        raise IncompleteRunError(f"writing {output}{' or ' + str(fronts) if fronts else ''} failed: {e.strerror or e}; the "
                                 f"{done + summary.flushed} rows written so far are kept: {RESUME_HINT}") from e
    except BrokenProcessPool:
        raise IncompleteRunError(f"a worker process died (killed, or out of memory) after {done + summary.flushed} rows; "
                                 f"they are kept: {RESUME_HINT}") from None
    finally:
        bar.close()
        ex.close()
    summary.seconds = time.perf_counter() - t0
    return summary


class _Progress:
    """A rich progress line on stderr when it is a terminal; silent otherwise."""

    def __init__(self, show: bool):
        self.p = None
        if show:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.p = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True,
                              console=Console(stderr=True))
            self.p.start()
            self.task = self.p.add_task("solving")

    def advance(self, s: BatchSummary) -> None:
        if self.p is not None:
            self.p.update(self.task, description=f"{s.rows} rows: {s.ok} ok, {s.infeasible} infeasible, {s.error} error")

    def close(self) -> None:
        if self.p is not None:
            self.p.stop()
