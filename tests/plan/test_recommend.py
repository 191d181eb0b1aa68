"""The recommendation rule, the front shown by default, the reading-speed floor and the launch commands."""

from __future__ import annotations

import shlex

import pytest

from solver.plan.launch import launch_command
from solver.plan.planner import solve
from solver.plan.recommend import (
    HEADROOM,
    MAX_SHOWN,
    MIN_ELASTICITY,
    READING_TOKENS_PER_S,
    cut_position,
    has_headroom,
    knee,
    recommend_index,
    shown_front,
)
from solver.schema.scenario import Scenario


def cfg(cost: float, tput: float, tpot: float = 20.0, ttft: float = 500.0, per_user: float = 30.0) -> dict:
    return {"cost_per_hour": cost, "gpus": 1, "output_tokens_per_s": tput, "tpot_ms": tpot, "ttft_ms": ttft,
            "output_tokens_per_s_per_user": per_user}


def test_the_cheapest_with_headroom_on_every_target_is_recommended():
    sc = Scenario(model="llama-3.1-8b", max_tpot_ms=50, max_ttft_ms=2000)
    front = [cfg(1, 100, tpot=45), cfg(2, 180, tpot=41), cfg(3, 250, tpot=30, ttft=1700), cfg(4, 300, tpot=20)]
    # 45 ms and 41 ms leave less than 20% of 50 ms; 30 ms does, but its TTFT 1,700 ms is 85% of 2 s
    i, rule = recommend_index(front, sc)
    assert i == 3 and "20% to spare" in rule
    assert has_headroom(front[3], sc) and not has_headroom(front[2], sc)
    assert has_headroom(cfg(1, 1, tpot=40), Scenario(model="x", params_b=7, max_tpot_ms=50))  # exactly 80%: allowed


def test_without_headroom_anywhere_the_knee_is_recommended():
    sc = Scenario(model="llama-3.1-8b", max_tpot_ms=50)
    front = [cfg(1, 100, tpot=49), cfg(2, 400, tpot=48), cfg(4, 480, tpot=47), cfg(8, 500, tpot=46)]
    i, rule = recommend_index(front, sc)
    assert i == 1 and "knee" in rule  # 2x the cost for 4x the throughput, then little
    assert knee([cfg(1, 100), cfg(10, 1000)]) == 0  # two points: no knee but the cheapest


def test_the_front_is_cut_where_more_cost_buys_little_and_thinned_to_a_screen():
    # doubling cost doubles throughput up to 8/h (each point pays); 12/h gains 4%, 20/h 7.5%: past twice
    # the last paying point's cost (16) with nothing paying since, the front is cut
    front = [cfg(2 ** k, 100 * 2 ** k) for k in range(4)] + [cfg(12, 830), cfg(20, 860), cfg(40, 2000)]
    assert cut_position(front) == 5 and cut_position(front[:5]) is None
    assert shown_front(front, keep=0) == [0, 1, 2, 3, 4]
    assert shown_front(front, keep=5) == [0, 1, 2, 3, 4, 5]  # the recommendation is always shown
    long = [cfg(1.2 ** k, 100 * 1.2 ** k) for k in range(20)]  # every step pays: only thinned
    shown = shown_front(long, keep=7)
    assert cut_position(long) is None
    assert len(shown) == MAX_SHOWN and {0, 7, 19} <= set(shown) and shown == sorted(shown)
    assert MIN_ELASTICITY == 0.3 and HEADROOM == 0.2


def test_the_default_front_is_the_full_fronts_head_and_full_front_gives_all(catalog):
    base = {"model": "llama-3.1-8b", "users": 500, "input_tokens": 1500, "output_tokens": 300, "min_tokens_per_s_per_user": 20}
    short, full = solve(Scenario(**base), catalog), solve(Scenario(**base, full_front=True), catalog)
    assert full.front_complete and full.front_total == len(full.front)
    # the front is computed whole when no model is needed, else up to the cut
    assert short.front_total == full.front_total if short.front_complete else short.front_total < full.front_total
    assert len(short.front) <= MAX_SHOWN
    keys = lambda c: (c["server"], c["engine"], c["replicas"], c["cost_per_hour"])  # noqa: E731
    assert {keys(c) for c in short.front} <= {keys(c) for c in full.front}  # the head of the same exact front
    assert sum(c["recommended"] for c in short.front) == 1
    assert max(c["cost_per_hour"] for c in short.front) < max(c["cost_per_hour"] for c in full.front)


def test_no_speed_target_means_a_reading_speed_floor_with_a_warning(catalog):
    plan = solve(Scenario(model="llama-3.3-70b", users=100, objectives=["cost"]), catalog)
    assert plan.scenario.min_tokens_per_s_per_user == READING_TOKENS_PER_S == 5.3
    assert plan.warnings and "reading speed" in plan.warnings[0]
    assert all(c["output_tokens_per_s_per_user"] >= READING_TOKENS_PER_S for c in plan.front)
    off = solve(Scenario(model="llama-3.3-70b", users=100, objectives=["cost"],
                         min_tokens_per_s_per_user=0), catalog)
    assert off.warnings == [] and off.scenario.min_tokens_per_s_per_user == 0
    assert min(c["output_tokens_per_s_per_user"] for c in off.front) < READING_TOKENS_PER_S  # the floor did bind


def test_the_recommendation_says_what_to_rent_what_it_delivers_and_how_to_launch_it(catalog):
    plan = solve(Scenario(model="llama-3.3-70b", users=50, precision="fp8", engine="vllm", min_tokens_per_s_per_user=20,
                          context_tokens=8192, input_tokens=2000, output_tokens=400), catalog)
    r = plan.recommendation
    c = next(c for c in plan.front if c["recommended"])
    assert r["config"]["server"] == c["server"] and r["config"]["cost_per_hour"] == c["cost_per_hour"]
    assert r["text"].startswith(f"Rent {c['servers']} x ") and f"{c['cost_per_hour']:,.2f} EUR/h" in r["text"]
    assert f"{c['output_tokens_per_s_per_user']:.1f} tokens/s each" in r["text"]
    args = shlex.split(r["command"])
    assert args[:3] == ["vllm", "serve", "meta-llama/Llama-3.3-70B-Instruct"]
    assert args[args.index("--max-model-len") + 1] == "8192"
    assert args[args.index("--max-num-seqs") + 1] == str(c["running_per_replica"])
    assert ("--tensor-parallel-size" in args) == (c["tp"] > 1)
    assert any("prompts of 2,000 tokens, answers of 400 tokens" in a for a in r["assumptions"])
    assert r["unverified"] == c["unverified"]


@pytest.mark.parametrize(("engine", "expect"), [
    ("sglang", ["python", "-m", "sglang.launch_server", "--model-path", "Qwen/Qwen3-235B-A22B", "--tp", "8", "--ep", "8",
                "--context-length", "32768", "--max-running-requests", "64", "--kv-cache-dtype", "fp8_e4m3"]),
    ("tensorrt-llm", ["trtllm-serve", "Qwen/Qwen3-235B-A22B", "--tp_size", "8", "--ep_size", "8", "--max_seq_len", "32768",
                      "--max_batch_size", "64", "--kv_cache_free_gpu_memory_fraction", "0.9"]),
    ("vllm", ["vllm", "serve", "Qwen/Qwen3-235B-A22B", "--tensor-parallel-size", "8", "--enable-expert-parallel",
              "--max-model-len", "32768", "--max-num-seqs", "64", "--gpu-memory-utilization", "0.9", "--kv-cache-dtype", "fp8"]),
])
def test_each_engine_gets_its_own_flags(catalog, engine, expect):
    c = {"tp": 8, "pp": 1, "ep": 8, "running_per_replica": 64, "kv_precision": "fp8", "replicas": 1, "gpus_per_replica": 8,
         "deployment_option": "C", "servers": 1}
    cmd, notes = launch_command(catalog.engine(engine), c, 32768, catalog.model("qwen3-235b-a22b"))
    assert shlex.split(cmd) == expect
    if engine == "tensorrt-llm":
        assert any("kv_cache_config" in n for n in notes)  # its FP8 KV cache is not a flag


def test_ollama_takes_environment_variables_and_llama_cpp_a_total_context(catalog):
    c = {"tp": 1, "pp": 1, "ep": 1, "running_per_replica": 4, "kv_precision": "fp16", "replicas": 2, "gpus_per_replica": 1,
         "deployment_option": "D", "servers": 2}
    model = catalog.model("llama-3.1-8b")
    cmd, notes = launch_command(catalog.engine("ollama"), c, 8192, model)
    assert cmd == "OLLAMA_CONTEXT_LENGTH=8192 OLLAMA_NUM_PARALLEL=4 ollama serve"
    assert any("ollama run" in n for n in notes) and any("2 replicas" in n for n in notes)
    cmd, _ = launch_command(catalog.engine("llama.cpp"), c, 8192, model)
    assert "--ctx-size 32768 --parallel 4" in cmd  # its KV cache is shared by the 4 slots
