"""One vocabulary across commands, files and the Python API; answers that fit a screen."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from solver.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_estimate_and_memory_take_the_scenario_field_names_and_the_old_ones_with_a_notice(capsys):
    code, new, err = run(capsys, "estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--input-tokens", "500",
                         "--output-tokens", "100", "--users", "4", "--context-tokens", "2048", "--json")
    assert code == 0 and not err
    code, old, err = run(capsys, "estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm", "--input-len", "500",
                         "--output-len=100", "--concurrency", "4", "--context", "2048", "--json")
    assert code == 0 and json.loads(old) == json.loads(new)
    assert err.count("notice:") == 4 and "--input-len is now --input-tokens" in err
    code, out, err = run(capsys, "memory", "--model", "llama-3.3-70b", "--context", "128000", "--precision", "fp8",
                         "--rule", "guide", "--json")
    assert code == 0 and json.loads(out)["total_gb"] == 132.5 and "--rule is now --memory-rule" in err


def test_solve_takes_the_old_spellings_too(capsys):
    code, out, err = run(capsys, "solve", "--model", "llama-3.1-8b", "--concurrency", "8", "--context", "4096",
                         "--input-len", "1000", "--output-len", "200", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["scenario"]["users"] == 8 and d["scenario"]["context_tokens"] == 4096
    assert d["scenario"]["input_tokens"] == 1000 and "notice: --concurrency is now --users" in err


def test_scenario_files_and_csv_columns_take_the_old_names(tmp_path, capsys):
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({"model": "llama-3.1-8b", "concurrency": 8, "input_len": 1000, "output_len": 200}))
    code, out, err = run(capsys, "solve", str(f), "--format", "json")
    assert code == 0 and json.loads(out)["scenario"]["users"] == 8 and "'input_len' is now called 'input_tokens'" in err
    f.write_text(yaml.safe_dump({"model": "llama-3.1-8b", "concurrency": 8, "users": 4}))
    code, _, err = run(capsys, "solve", str(f))
    assert code == 2 and "'concurrency' is the old name of 'users': give one of them, not both" in err
    src = tmp_path / "in.csv"
    src.write_text("id,model,concurrency,input_len\na,llama-3.1-8b,8,1000\n")
    code, _, err = run(capsys, "batch", str(src), "-o", str(tmp_path / "r.csv"))
    assert code == 0 and "column 'concurrency' is now called 'users'" in err
    assert next(csv.DictReader((tmp_path / "r.csv").open()))["status"] == "ok"


def test_ids_and_enums_are_case_insensitive(capsys):
    code, out, err = run(capsys, "solve", "--model", "Llama-3.1-8B", "--users", "4", "--engine", "vLLM", "--precision", "FP8",
                         "--currency", "usd", "--load", "Bursty", "--objective", "COST", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["scenario"]["currency"] == "USD" and d["scenario"]["load"] == "bursty" and d["objectives"] == ["cost"]
    code, out, err = run(capsys, "solve", "--model", "llama-3.1-8b", "--users", "4", "--allowed-gpus", "H100", "--format", "json")
    assert code == 0 and json.loads(out)["scenario"]["allowed_gpus"] == ["h100-nvl-94gb", "h100-pcie-80gb", "h100-sxm-80gb"]


def test_conflicting_options_are_refused(capsys):
    code, _, err = run(capsys, "solve", "--model", "llama-3.1-8b", "--objective", "cost", "--objectives", "cost,throughput")
    assert code == 2 and "contradict each other" in err


def test_help_shows_real_defaults(capsys):
    code, out, _ = run(capsys, "solve", "--help")
    assert code == 0 and "PydanticUndefined" not in out and "[default: cost,throughput]" in out


def test_the_table_fits_120_columns_and_states_the_recommendation(capsys):
    code, out, err = run(capsys, "solve", "examples/chat-llama70b-fp8.yaml")
    assert code == 0
    lines = out.splitlines()
    table = lines[:lines.index("")] if "" in lines else lines
    assert max(len(x) for x in table) <= 120, max(table, key=len)
    assert any(x.lstrip().startswith(("1*", "2*", "3*", "4*", "5*", "6*", "7*", "8*")) for x in table)
    assert "EUR/h" in out and "Recommended (*): Rent" in out and "  launch: " in out and "  assumes: prompts of" in out
    code, wide, _ = run(capsys, "solve", "examples/chat-llama70b-fp8.yaml", "--wide")
    assert "binding" in wide and "KV free" in wide and "interconnect" in wide and "EUR/month" in wide


def test_the_cost_column_follows_the_cost_unit(capsys):
    code, out, _ = run(capsys, "solve", "examples/batch-summaries-qwen3-30b-a3b.yaml")
    assert code == 0 and "EUR/Mtok" in out and "EUR/h " not in out.split("Recommended")[0]


def test_python_api_takes_a_dict_and_the_builtin_catalog(tmp_path):
    from solver import Plan, Scenario, plot_front, solve
    from solver.errors import ScenarioError

    with pytest.raises(ScenarioError) as e:
        solve({"model": "llama-3.1-8b", "users": 20, "gpu": "h100"})
    assert "unknown field 'gpu'" in str(e.value)
    plan = solve({"model": "llama-3.1-8b", "users": 20, "min_tokens_per_s_per_user": 20})
    assert isinstance(plan, Plan) and isinstance(plan.scenario, Scenario) and plan.recommendation["command"]
    frame = plan.to_frame()
    assert len(frame) == len(plan.front) and {"tpot_ms_low", "tpot_ms_high", "recommended"} <= set(frame.columns)
    assert frame["recommended"].sum() == 1
    html = plan._repr_html_()
    assert html.startswith("<p><b>Recommended</b>") and "<table>" in html
    fig = plot_front(plan, str(tmp_path / "front.svg"))
    assert (tmp_path / "front.svg").read_text().count("<svg") == 1 and fig.axes[0].get_xscale() in ("log", "linear")
