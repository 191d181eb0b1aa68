"""Every bad input in tests/data/bad/cases.yaml gets its documented exit code and a message naming the
problem — never a traceback — and a batch loses none of the good rows around bad ones."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from benchmarks.robustness import BAD, load_cases
from solver.cli.main import main

CASES = load_cases(tmp=Path("{tmp}"))  # "{tmp}" stays in the arguments: each test fills in its own


def test_the_folder_holds_forty_bad_inputs_or_more():
    assert len(CASES) >= 40
    files = {p.name for p in BAD.iterdir() if p.name != "cases.yaml"}
    named = {name for _, name, *_ in CASES}
    assert files <= named, f"bad input files no case runs: {sorted(files - named)}"


@pytest.mark.parametrize(("group", "name", "argv", "code", "fragment"), CASES, ids=[f"{g}: {n}" for g, n, *_ in CASES])
def test_bad_input_is_answered_without_a_traceback(group, name, argv, code, fragment, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        main(argv)
        got = 0
    except SystemExit as e:
        got = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    assert got == code, text[-2000:]
    assert fragment in text, text[-2000:]


def test_good_rows_around_bad_ones_are_all_solved(tmp_path, capsys):
    out = tmp_path / "r.csv"
    with pytest.raises(SystemExit) as e:
        main(["batch", str(BAD / "csv_bad_rows.csv"), "-o", str(out)])
    assert e.value.code == 4
    rows = list(csv.DictReader(out.open(newline="")))
    assert [r["id"] for r in rows] == ["good-1", "bad-users", "row3", "bad-nan", "bad-count", "good-1", "row7", "good-2"]
    assert [r["status"] for r in rows] == ["ok", "error", "error", "error", "error", "error", "error", "ok"]
    reasons = [r["reason"] for r in rows]
    assert "users: Input should be greater than or equal to 1" in reasons[1]
    assert "not UTF-8 text (byte 0xff)" in reasons[2]
    assert "max_tpot_ms: Input should be a finite number" in reasons[3]
    assert "2 values for 4 columns" in reasons[4]
    assert "duplicate id 'good-1' (first used on row 1)" in reasons[5]
    assert reasons[6] == "empty row"
