"""Batch CSV in and out: header validation, streaming rows, result rows, and resume bookkeeping.

Input columns are the Scenario fields (`id` optional); list fields hold ';'-separated values.
Output (`results.csv`): one row per input row, in input order (RESULT_COLUMNS).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from solver.errors import GpuplanError, closest
from solver.schema.scenario import FIELD_ALIASES, Scenario, format_validation

LIST_SEP = ";"
VALID_COLUMNS = list(Scenario.model_fields)
PICKS = ("cheapest", "fastest", "recommended")
PICK_FIELDS = ("gpu", "gpus", "server", "servers", "engine", "tp", "pp", "ep", "replicas", "cost_per_hour",
               "output_tokens_per_s", "output_tokens_per_s_per_user", "tpot_ms", "ttft_ms", "deployment_option")
RESULT_COLUMNS = (["row", "id", "status", "reason", "front_size", "currency"] + [f"{p}_{f}" for p in PICKS for f in PICK_FIELDS]
                  + ["recommended_command", "warnings"])


def validate_header(header: list[str], path: str) -> None:
    """Unknown or missing columns are a user error naming them with the closest valid names."""
    problems = []
    seen = set()
    for col in header:
        c = col.strip()
        if c in seen:
            problems.append(f"column '{c}' appears twice")
        seen.add(c)
        if c not in VALID_COLUMNS:
            near = closest(c, VALID_COLUMNS)
            problems.append(f"unknown column '{c}'" + (f" (did you mean {', '.join(near)}?)" if near else ""))
    if "model" not in seen and "params_b" not in seen:
        problems.append("missing column 'model' (or 'params_b'): every scenario needs a model")
    if problems:
        raise GpuplanError(f"{path}: bad header: " + "; ".join(problems) + f". Valid columns: {', '.join(VALID_COLUMNS)}")


UNREADABLE = "\x00error"  # first cell of a row read_rows could not read; the second says why


def _bad_byte(cells: list[str]) -> int | None:
    """The first byte that was not UTF-8 (read with errors='surrogateescape'), if any."""
    for c in cells:
        for ch in c:
            if "\udc80" <= ch <= "\udcff":
                return ord(ch) - 0xDC00
    return None


def read_rows(path: str | Path, notices: list[str] | None = None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header, iterator of (row number from 1, cells)); streams the file, BOM tolerated.  A row that
    cannot be read (not UTF-8, a CSV error) comes as [UNREADABLE, why]: it becomes an error row and
    the rows after it are read as usual."""
    try:
        fh = open(path, newline="", encoding="utf-8-sig", errors="surrogateescape")  # noqa: SIM115 - closed by the generator
    except OSError as e:
        raise GpuplanError(f"{path}: cannot be read ({e.strerror or e})") from None
    reader = csv.reader(fh)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        fh.close()
        raise GpuplanError(f"{path}: empty file (no header)") from None
    except csv.Error as e:
        fh.close()
        raise GpuplanError(f"{path}: not a readable CSV: {e}") from None
    bad = _bad_byte(header)
    if bad is not None:
        fh.close()
        raise GpuplanError(f"{path}: the header is not UTF-8 text (byte 0x{bad:02x}); save the file as UTF-8 "
                           "(a spreadsheet's 'CSV UTF-8')")
    renamed = [h for h in header if h in FIELD_ALIASES]
    if renamed and notices is not None:
        notices.extend(f"{path}: column '{h}' is now called '{FIELD_ALIASES[h]}' (the old name is accepted for now)"
                       for h in renamed)
    header = [FIELD_ALIASES.get(h, h) for h in header]
    validate_header(header, str(path))

    def rows() -> Iterator[tuple[int, list[str]]]:
        n = 0
        try:
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    n += 1
                    yield n, [UNREADABLE, str(e)]
                    continue
                n += 1
                bad = _bad_byte(cells)
                if bad is not None:
                    yield n, [UNREADABLE, f"not UTF-8 text (byte 0x{bad:02x}); save the file as UTF-8"]
                    continue
                yield n, cells
        finally:
            fh.close()

    return header, rows()


def row_id(header: list[str], cells: list[str], row: int) -> str:
    """The row's scenario id: its `id` cell, else row<N> (also for an unreadable row)."""
    if "id" not in header or cells[:1] == [UNREADABLE]:
        return f"row{row}"
    i = header.index("id")
    return (cells[i].strip() if i < len(cells) else "") or f"row{row}"


def cells_to_scenario(header: list[str], cells: list[str], row: int) -> Scenario:
    """A Scenario from one CSV row; raises GpuplanError with the row's problem."""
    if cells[:1] == [UNREADABLE]:
        raise GpuplanError(f"unreadable row: {cells[1]}")
    if not any(c.strip() for c in cells):
        raise GpuplanError("empty row")
    if len(cells) > len(header):
        raise GpuplanError(f"{len(cells)} values for {len(header)} columns (extra values past the header: {cells[len(header):]})")
    if len(cells) < len(header):
        raise GpuplanError(f"{len(cells)} values for {len(header)} columns (missing: {', '.join(header[len(cells):])})")
    data: dict = {}
    for col, raw in zip(header, cells, strict=True):
        v = raw.strip()
        if v == "":
            continue
        field = Scenario.model_fields[col]
        data[col] = [x.strip() for x in v.split(LIST_SEP) if x.strip()] if "list" in str(field.annotation) else v
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise GpuplanError(format_validation(e, f"row {row}").replace("\n", "; ")) from None


def csv_value(v) -> str:
    """A result cell: empty for None, a float to 6 decimals (repr: no locale, no trailing zeros), else str."""
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(round(v, 6))
    return str(v)


def pick_configs(front: list[dict]) -> dict[str, dict | None]:
    """The cheapest, the most capable and the recommended configuration of a front (the front as shown:
    cut where more cost buys little, solver.plan.recommend)."""
    if not front:
        return {p: None for p in PICKS}
    priced = [c for c in front if c["cost_per_hour"] is not None]
    cheapest = min(priced, key=lambda c: (c["cost_per_hour"], -c["output_tokens_per_s"])) if priced else None
    fastest = max(front, key=lambda c: (c["output_tokens_per_s"], -(c["cost_per_hour"] or 0)))
    recommended = next((c for c in front if c.get("recommended")), None)
    return {"cheapest": cheapest, "fastest": fastest, "recommended": recommended}


def result_row(row: int, sid: str, status: str, reason: str, front: list[dict], currency: str | None,
               command: str | None = None, warnings: list[str] = (), front_total: int | None = None) -> list[str]:
    """One results.csv row; front_size is the whole front's (front_total), the picks come from `front`
    (the configurations shown)."""
    picks = pick_configs(front)
    out = [str(row), sid, status, reason.replace("\n", " "), str(len(front) if front_total is None else front_total),
           currency or ""]
    for p in PICKS:
        c = picks[p]
        out += [csv_value(c.get(f)) if c else "" for f in PICK_FIELDS]
    return out + [command or "", " | ".join(warnings)]


#: first characters that make a spreadsheet evaluate a cell as a formula (OWASP, "CSV Injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """A text cell a spreadsheet would evaluate (it starts with = + - @, a tab or a carriage return and
    is not a finite number) gets a leading apostrophe, which spreadsheets show as text; every other
    cell is returned unchanged (so -3.5 stays a number)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        try:
            if math.isfinite(float(cell)):
                return cell
        except ValueError:
            pass
        return "'" + cell
    return cell


def csv_line(cells: list[str]) -> str:
    """One CSV line, every cell spreadsheet_safe."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([spreadsheet_safe(c) for c in cells])
    return buf.getvalue()


def front_line(row: int, sid: str, status: str, front: list[dict], explanation: dict | None) -> str:
    return json.dumps({"row": row, "id": sid, "status": status, "front": front, "explanation": explanation},
                      sort_keys=True, separators=(",", ":")) + "\n"


def complete_lines(path: Path) -> tuple[int, int]:
    """(number of complete lines, byte offset just after the last one) of a file; a crash can leave a
    partial last line, which a resume discards."""
    if not path.exists():
        return 0, 0
    lines, end, pos = 0, 0, 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n = chunk.count(b"\n")
            if n:
                lines += n
                end = pos + chunk.rfind(b"\n") + 1
            pos += len(chunk)
    return lines, end
