"""The speed model's physics and the `gpuplan estimate` contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from solver.predict.estimate import estimate, estimate_named
from solver.schema.precision import Precision as P

CONTRACT = {"fits", "max_concurrency", "memory_gib", "ttft_ms", "tpot_ms", "output_tokens_per_s",
            "output_tokens_per_s_per_gpu", "output_tokens_per_s_per_user", "bound", "range"}


def est(cat, model="llama-3.1-70b", gpu="h100-sxm", engine="vllm", p=P.fp8, tp=4, pp=1, i=1024, o=256, c=16, kv=P.bf16, **kw):
    return estimate(cat, cat.model(model), cat.gpu(gpu), cat.engine(engine), p, kv, tp, pp, i, o, c, **kw)


def test_more_users_slow_each_user_but_raise_throughput(catalog):
    a, b = est(catalog, c=4).perf, est(catalog, c=64).perf
    assert b.tpot_ms > a.tpot_ms and b.ttft_ms > a.ttft_ms
    assert b.output_tokens_per_s > a.output_tokens_per_s


def test_tensor_parallel_cuts_tpot_at_low_load(catalog):
    assert est(catalog, tp=8, c=1).perf.tpot_ms < est(catalog, tp=2, c=1).perf.tpot_ms


def test_faster_memory_decodes_faster(catalog):
    assert est(catalog, gpu="h200-sxm", tp=2, c=8).perf.tpot_ms < est(catalog, gpu="h100-sxm", tp=2, c=8).perf.tpot_ms


def _factors(cat, burst: float | None = None, **changes):
    """vLLM's Hopper factors with `changes`; `burst` sets the burst factor on every GPU."""
    base, _ = cat.factors("vllm", "nvidia_hopper")
    if burst is not None:
        changes.update(burst_factor=burst, burst_factor_by_gpu={})
    return base.model_copy(update=changes)


def _h100_fabric(cat):
    """The H100 SXM GPU and the links of an 8-GPU NVSwitch server of it."""
    from solver.predict.fabric import fabric_of

    g = cat.gpu("h100-sxm")
    server = next(s for s in cat.servers.values() if s.gpu == g.id and s.gpu_count == 8)
    return g, fabric_of(server, g)


def _perf(cat, factors, model="llama-3.1-70b", c=64):
    from solver.predict.speed import predict

    g, fabric = _h100_fabric(cat)
    return predict(cat.model(model), g, fabric, P.fp8, True, P.bf16, 4, 1, c, 1024, 256, factors)


def test_shared_wait_does_not_queue(catalog):
    """The wait campaigns show while a request shares the engine delays that request only: with half the
    other users' prefills ahead of a new request (burst 0.5, 64 users), 100 ms more of it adds at most
    100 ms x 63/64 to the TTFT, not 100 ms per prefill waited for."""
    lo = _perf(catalog, _factors(catalog, burst=0.5, shared_wait_ms=0.0))
    hi = _perf(catalog, _factors(catalog, burst=0.5, shared_wait_ms=100.0))
    assert 80.0 < hi.ttft_ms - lo.ttft_ms <= 100.0 * 63 / 64 + 1e-6


def test_a_request_alone_pays_no_shared_wait(catalog):
    """Alone, a request's TTFT is its own prefill: the GPUs' service time and the per-layer latency,
    whatever the shared wait fitted on campaigns; with one other user it pays half the wait."""
    from solver.predict.speed import ReplicaSpeed

    g, fabric = _h100_fabric(catalog)
    model = catalog.model("llama-3.1-70b")
    args = (model, g, fabric, P.fp8, True, P.bf16, 4, 1, 512, 128)
    quiet, busy = (ReplicaSpeed(*args, _factors(catalog, shared_wait_ms=w)) for w in (0.0, 400.0))
    alone_ms = (quiet.t_p_service + model.layers * quiet.factors.prefill_layer_latency_us / 1e6) * 1e3
    assert busy.at(1).ttft_ms == pytest.approx(alone_ms, rel=1e-9) == pytest.approx(quiet.at(1).ttft_ms, rel=1e-9)
    assert busy.at(2).ttft_ms - quiet.at(2).ttft_ms == pytest.approx(200.0, rel=0.05)


def test_prefill_share_counts_the_gpus_whole_prefill_time(catalog):
    """In a closed loop each user's prefill occupies the replica for its service time (compute and its
    all-reduces; not the request's own fixed latency) once per cycle: rho x cycle = C x t_s."""
    from solver.predict.speed import ReplicaSpeed

    g, fabric = _h100_fabric(catalog)
    rs = ReplicaSpeed(catalog.model("qwen3-32b"), g, fabric, P.fp8, True, P.fp8, 8, 1, 4096, 128, _factors(catalog))
    for c in (16, 64):
        p = rs.at(c)
        assert 0.05 < p.prefill_share < 0.95
        cycle_s = (p.ttft_ms + 127 * p.tpot_ms) / 1e3
        assert p.prefill_share * cycle_s == pytest.approx(c * rs.t_p_service, rel=1e-6)


def _prefill_pair(cat, burst: float):
    """A 70B on 4 H100s twice, its decode step the same: normal prefill, and a cheaper one."""
    from solver.predict.speed import ReplicaSpeed

    g, fabric = _h100_fabric(cat)
    args = (cat.model("llama-3.1-70b"), g, fabric, P.fp8, True, P.bf16, 4, 1, 4096, 256)
    return (ReplicaSpeed(*args, _factors(cat, burst=burst)),
            ReplicaSpeed(*args, _factors(cat, burst=burst, compute_efficiency_prefill=1.5, shared_wait_ms=0.0)))


def test_prefill_time_shares_the_gpus_with_decoding(catalog):
    """Spread-out arrivals (burst 0): prefill that runs as a pass of its own (an engine that does not mix
    it into decode steps, as SGLang by default) stretches decoding by its whole GPU time: TPOT = step /
    (1 - rho), also when the step is weight-bound (4 users of a 70B on 4 GPUs)."""
    normal, cheap = _prefill_pair(catalog, burst=0.0)
    for c in (4, 64):
        shared, bare = normal.at(c), cheap.at(c)
        assert shared.prefill_share > bare.prefill_share + 0.03
        assert shared.tpot_ms * (1 - shared.prefill_share) == pytest.approx(bare.tpot_ms * (1 - bare.prefill_share), rel=1e-9)
        assert shared.tpot_ms > bare.tpot_ms


def test_a_wave_counts_each_prefill_once(catalog):
    """Arrivals in waves (burst 1): a request waits for the prefills of the (C-1)/2 users ahead of it,
    and those of the (C-1)/2 behind it join its 255 decode steps; no queue, no stretch beyond that.
    With the decode step the same, a costlier prefill adds to TTFT its own extra time plus (C-1)/2
    others', and to the 255 steps the other (C-1)/2 — each other user's prefill once per cycle."""
    normal, cheap = _prefill_pair(catalog, burst=1.0)
    d_s = normal.t_p_service - cheap.t_p_service
    for c in (4, 64):
        a, b = normal.at(c), cheap.at(c)
        own = normal.t_prefill_alone - cheap.t_prefill_alone + (normal.shared_wait_s - cheap.shared_wait_s) * (c - 1) / c
        assert (a.ttft_ms - b.ttft_ms) / 1e3 == pytest.approx(own + (c - 1) / 2 * d_s, rel=1e-9)
        assert 255 * (a.tpot_ms - b.tpot_ms) / 1e3 == pytest.approx((c - 1) / 2 * d_s, rel=1e-9)


def _mixing(cat, model: str, i: int, kv=P.bf16):
    """The same layout on 4 H100s twice: prefill in passes of its own, and mixed into decode steps."""
    from solver.predict.speed import ReplicaSpeed

    g, fabric = _h100_fabric(cat)
    args = (cat.model(model), g, fabric, P.fp8, True, kv, 4, 1, i, 256, _factors(cat))
    return ReplicaSpeed(*args), ReplicaSpeed(*args, mixed_prefill=True)


def _added_s(rs, p, c: int, o: int = 256) -> float:
    """The GPU time each of the c users' prefills took from decoding, from the closed loop's identity
    rho x cycle = c x t_add (the share is rho when it solved the fixed point)."""
    return p.prefill_share * (p.ttft_ms + (o - 1) * p.tpot_ms) / 1e3 / c


def test_a_mixing_engines_short_prefill_costs_decoding_only_its_all_reduces(catalog):
    """A 128-token prompt mixed into the decode step of 16 users of a 70B on 4 GPUs: the step streams
    17.5 GB per GPU of weights (about 6.5 ms) whether or not the chunk rides along, and the chunk's
    FLOPs fit in the streaming's slack, so it adds only its all-reduces; run as a pass of its own it
    also reads the weights again."""
    from solver.predict.fabric import allreduce_s
    from solver.predict.memory import streamed_weight_bytes

    alone, mixed = _mixing(catalog, "llama-3.1-70b", 128)
    m, f = catalog.model("llama-3.1-70b"), _factors(catalog)
    t_w = streamed_weight_bytes(m, P.fp8) / 4 / (3.35e12 * f.bandwidth_efficiency)
    a, b = alone.at(16), mixed.at(16)
    assert b.decode_compute_ms / 1e3 + mixed.t_p_chunk_compute < t_w  # the chunk hides in the slack
    all_reduces_s = m.layers * 2 * allreduce_s(4, 128 * m.hidden_size * 2, alone.link_gbs, alone.link_lat)
    assert _added_s(mixed, b, 16) == pytest.approx(all_reduces_s, rel=1e-6)
    assert _added_s(alone, a, 16) == pytest.approx(alone.t_p_service, rel=1e-6)
    assert alone.t_p_service > t_w  # the pass of its own reads the weights
    assert b.tpot_ms < a.tpot_ms
    assert b.ttft_ms < a.ttft_ms  # fewer prefills in service ahead of a new request


def test_a_mixing_engines_long_prefill_saves_one_weight_read_per_chunk(catalog):
    """A 4,096-token prompt is compute-bound: mixed into a weight-bound step it adds its GPU time minus
    the step's slack (weight streaming - decode compute), one chunk of 8,192 tokens at most."""
    from solver.predict.memory import streamed_weight_bytes

    alone, mixed = _mixing(catalog, "llama-3.1-70b", 4096)
    t_w = streamed_weight_bytes(catalog.model("llama-3.1-70b"), P.fp8) / 4 / (3.35e12 * _factors(catalog).bandwidth_efficiency)
    b = mixed.at(16)
    slack_s = t_w - b.decode_compute_ms / 1e3
    assert mixed.t_p_chunk_compute > slack_s > 0
    assert _added_s(mixed, b, 16) == pytest.approx(mixed.t_p_service - slack_s, rel=1e-6)


def test_a_mixing_engines_moe_prefill_reads_the_experts_the_decode_batch_did_not(catalog):
    """Qwen3-235B: 4 decoding users touch about 29 of 128 experts per layer; a 256-token chunk reads
    every expert, as its pass alone would, so riding along it adds the bytes of the other experts (its
    FLOPs within that reading time) — less than its pass alone, which reads the touched ones again."""
    from solver.predict.memory import streamed_weight_bytes
    from solver.predict.work import experts_touched, moe_weight_split

    m = catalog.model("qwen3-235b-a22b")
    alone, mixed = _mixing(catalog, "qwen3-235b-a22b", 256, kv=P.fp8)
    f = _factors(catalog)
    fixed, per_expert = moe_weight_split(m, P.fp8)
    bw = 3.35e12 * f.bandwidth_efficiency
    t_w = (fixed + per_expert * experts_touched(m, 4) / f.moe_efficiency) / 4 / bw  # the decode step's
    t_all = streamed_weight_bytes(m, P.fp8) / 4 / bw  # the chunk's
    assert 25 < experts_touched(m, 4) < 33 and t_all > t_w
    b = mixed.at(4)
    assert b.decode_compute_ms / 1e3 + mixed.t_p_chunk_compute < t_all
    assert _added_s(mixed, b, 4) == pytest.approx(t_all - t_w + mixed.t_p_comm, rel=1e-6)
    assert _added_s(mixed, b, 4) < _added_s(alone, alone.at(4), 4) == pytest.approx(alone.t_p_service, rel=1e-6)


def test_moe_prefill_runs_its_experts_at_their_own_efficiency(catalog):
    """A prefill's routed-expert GEMMs run at moe_prefill_efficiency of the 16-bit peak whatever the
    weight format; the dense parts (attention projections, shared layers) are untouched, and a dense
    model not at all."""
    from solver.predict.speed import ReplicaSpeed
    from solver.predict.work import model_work, peak_tflops

    g, fabric = _h100_fabric(catalog)

    def service(model: str, p: P, eff: float) -> float:
        f = _factors(catalog, moe_prefill_efficiency=eff)
        return ReplicaSpeed(catalog.model(model), g, fabric, p, True, P.bf16, 1, 1, 4096, 64, f).t_p_service

    routed = model_work(catalog.model("qwen3-30b-a3b")).routed_active
    assert routed > 0
    eff_prefill = _factors(catalog).compute_efficiency_prefill
    for p in (P.bf16, P.fp8):
        extra_s = service("qwen3-30b-a3b", p, 0.25) - service("qwen3-30b-a3b", p, 0.5)
        # halving the efficiency adds the routed FLOPs once more, at the 16-bit peak (989 TFLOPS), for FP8 too
        want = 4096 * 2 * routed / (peak_tflops(g, P.bf16, True) * 1e12 * eff_prefill * 0.5)
        assert extra_s == pytest.approx(want, rel=1e-9)
    assert service("llama-3.1-70b", P.fp8, 0.25) == service("llama-3.1-70b", P.fp8, 0.5)


def test_layer_overhead_scales_with_depth(catalog):
    """At one user (no prefill mixed into decode) the per-layer overhead adds layers x us to the TPOT."""
    for model, layers in (("llama-3.1-70b", 80), ("llama-3.1-8b", 32)):
        a = _perf(catalog, _factors(catalog, layer_overhead_us=0.0), model, c=1)
        b = _perf(catalog, _factors(catalog, layer_overhead_us=100.0), model, c=1)
        assert b.tpot_ms - a.tpot_ms == pytest.approx(layers * 0.1)


def test_kv_reads_run_at_their_own_efficiency(catalog):
    """Halving the KV-read efficiency doubles each sequence's KV time in a decode step, not the weights'."""
    def kv_per_sequence_ms(kv_eff: float) -> tuple[float, float]:
        f = _factors(catalog, kv_bandwidth_efficiency=kv_eff)
        one, eight = _perf(catalog, f, "llama-3.1-70b", c=1), _perf(catalog, f, "llama-3.1-70b", c=8)
        return (eight.decode_mem_ms - one.decode_mem_ms) / 7, one.decode_mem_ms - (eight.decode_mem_ms - one.decode_mem_ms) / 7

    kv_full, weights_full = kv_per_sequence_ms(1.0)
    kv_half, weights_half = kv_per_sequence_ms(0.5)
    assert kv_full > 0
    assert kv_half == pytest.approx(2 * kv_full)
    assert weights_half == pytest.approx(weights_full)


def test_fp8_on_ampere_is_a_fallback(catalog):
    e = est(catalog, gpu="a100-sxm4-80gb", tp=2)
    assert e.precision_path == "fallback" and any("fallback" in n for n in e.notes)
    assert est(catalog, gpu="h100-sxm", tp=2).precision_path == "native"


def test_unsupported_precision_is_an_answer(catalog):
    e = est(catalog, gpu="v100s", engine="vllm", p=P.fp8, tp=8)
    assert not e.fits and "fp8" in e.reason and e.perf is None


def test_ollama_queues_beyond_one_request(catalog):
    one = est(catalog, model="llama-3.1-8b", gpu="l40s", engine="ollama", p=P.int4, tp=1, c=1, kv=P.fp16)
    many = est(catalog, model="llama-3.1-8b", gpu="l40s", engine="ollama", p=P.int4, tp=1, c=8, kv=P.fp16)
    assert many.perf.tpot_ms == pytest.approx(one.perf.tpot_ms)  # one request decodes at a time
    assert many.perf.ttft_ms > 5 * one.perf.ttft_ms  # the others wait in the queue
    assert many.perf.output_tokens_per_s == pytest.approx(one.perf.output_tokens_per_s, rel=0.05)


def test_beyond_kv_capacity_the_admitted_users_run_as_at_capacity(catalog):
    """Past what the KV cache holds, the engine runs `max_concurrency` requests and queues the rest:
    the running ones decode exactly as at capacity (prefill mixed in included), throughput stays, and
    only the TTFT grows, by the queue wait of (C / P - 1) stays of a request among the running ones."""
    kw = dict(model="llama-3.1-70b", gpu="h100-sxm", tp=2, i=8192, o=1024)
    cap = est(catalog, c=1, **kw).memory.max_concurrency
    assert cap > 1
    at, over = est(catalog, c=cap, **kw), est(catalog, c=2 * cap, **kw)
    assert at.fits and not over.fits
    assert over.perf.tpot_ms == pytest.approx(at.perf.tpot_ms)
    assert over.perf.output_tokens_per_s == pytest.approx(at.perf.output_tokens_per_s)
    stay_ms = at.perf.ttft_ms + (1024 - 1) * at.perf.tpot_ms
    assert over.perf.ttft_ms == pytest.approx(at.perf.ttft_ms + stay_ms)
    assert at.perf.prefill_share > 0.01  # the admitted users' prefill does stretch their steps


def test_one_users_prefill_is_gpu_time_but_stretches_no_step(catalog):
    """With one user (or Ollama's one running request) the prefill share is the GPUs' prefill time over
    the request's stay, and a long prompt with a short answer is prefill-bound; its decode steps are not
    stretched, since no other user's prefill runs between them."""
    for engine, p, kv in (("vllm", P.fp8, P.bf16), ("ollama", P.int4, P.fp16)):
        kw = dict(model="llama-3.1-8b", gpu="l40s", engine=engine, p=p, tp=1, i=16384, o=16, kv=kv)
        one = est(catalog, c=1, **kw)
        f = one.factors
        t_s_ms = one.perf.prefill_ms - catalog.model("llama-3.1-8b").layers * f.prefill_layer_latency_us / 1e3
        stay_ms = one.perf.ttft_ms + 15 * one.perf.tpot_ms
        assert one.perf.prefill_share == pytest.approx(t_s_ms / stay_ms)
        assert one.perf.bound == "prefill compute"
    slow, fast = (_perf(catalog, _factors(catalog, compute_efficiency_prefill=e), c=1) for e in (0.2, 0.6))
    assert slow.prefill_share > fast.prefill_share
    assert slow.tpot_ms == pytest.approx(fast.tpot_ms, rel=1e-12)


def test_moe_reads_only_touched_experts_at_batch_one(catalog):
    from solver.predict.memory import streamed_weight_bytes
    from solver.predict.work import decode_weight_bytes

    m = catalog.model("qwen3-235b-a22b")
    assert decode_weight_bytes(m, P.fp8, 1) < 0.2 * streamed_weight_bytes(m, P.fp8)
    assert decode_weight_bytes(m, P.fp8, 4096) == pytest.approx(streamed_weight_bytes(m, P.fp8), rel=1e-3)


def test_band_is_wider_where_uncalibrated(catalog):
    hopper = est(catalog, gpu="h100-sxm").as_dict()
    ampere = est(catalog, gpu="a100-sxm4-80gb", p=P.bf16).as_dict()
    assert hopper["calibration"]["band"] == "measured"
    assert ampere["calibration"]["band"].startswith("extrapolated")
    width = lambda d: d["range"]["tpot_ms"][1] / d["range"]["tpot_ms"][0]  # noqa: E731
    assert width(ampere) > width(hopper)


def run(*args):
    return subprocess.run([sys.executable, "-m", "solver.cli.main", *args], capture_output=True, text=True)


def test_cli_json_contract():
    r = run("estimate", "--model", "meta-llama/Llama-3.1-70B", "--gpu", "h100-sxm", "--tp", "4", "--precision", "fp8",
            "--engine", "vllm", "--input-len", "1024", "--output-len", "256", "--concurrency", "16", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) >= CONTRACT
    assert set(d["memory_gib"]) >= {"weights", "kv_cache", "activations", "overhead", "total", "available"}
    assert set(d["range"]) == {"ttft_ms", "tpot_ms", "output_tokens_per_s"}
    lo, hi = d["range"]["tpot_ms"]
    assert lo <= d["tpot_ms"] <= hi


def test_cli_ep_option_is_used():
    """`gpuplan estimate --ep 8` estimates expert parallelism: the answer says EP 8, and on TensorRT-LLM
    (fitted EP efficiency above 1) a MoE model decodes faster than with its experts split by TP."""
    def answer(*extra: str) -> dict:
        r = run("estimate", "--model", "qwen3-235b-a22b", "--gpu", "h100-sxm", "--tp", "8", "--precision", "fp8",
                "--engine", "tensorrt-llm", "--concurrency", "16", "--json", *extra)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    ep, split = answer("--ep", "8"), answer()
    assert (ep["ep"], split["ep"]) == (8, 1)
    assert ep["tpot_ms"] < split["tpot_ms"] and ep["memory_gib"] == split["memory_gib"]


def test_cli_reports_the_burst_factor_it_used(catalog):
    """A GPU measured in campaigns of its own gets its own burst factor; a GPU of another class the engine's."""
    shipped = catalog.calibration["sglang@nvidia_hopper"]
    assert set(shipped.burst_factor_by_gpu) == {"h100-sxm-80gb", "h200-sxm-141gb"}
    for gpu, expected, of in (("h200-sxm", shipped.burst_factor_by_gpu["h200-sxm-141gb"], "this GPU"),
                              ("a100-sxm4-80gb", catalog.calibration["sglang@*"].burst_factor, "the engine")):
        r = run("estimate", "--model", "qwen3-32b", "--gpu", gpu, "--tp", "2", "--precision", "bf16", "--engine", "sglang",
                "--input-len", "2048", "--output-len", "256", "--concurrency", "32", "--json")
        assert r.returncode == 0, r.stderr
        cal = json.loads(r.stdout)["calibration"]
        assert (cal["burst_factor"], cal["burst_factor_of"]) == (expected, of)


def test_estimate_says_whether_prefill_rides_in_decode_steps(catalog):
    """The JSON names the scheduling assumption behind the TPOT: vLLM mixes prefill into decode steps,
    SGLang (by default) runs it in passes of its own — with equal factors, SGLang's TPOT is the longer."""
    got = {e: est(catalog, engine=e, c=32) for e in ("vllm", "sglang")}
    assert {e: x.as_dict()["prefill_mixed_into_decode"] for e, x in got.items()} == {"vllm": True, "sglang": False}
    from solver.predict.estimate import prepare

    alone = prepare(catalog, catalog.model("llama-3.1-70b"), catalog.gpu("h100-sxm"), catalog.engine("sglang"), P.fp8,
                    P.bf16, 4, 1, 1024, 256, 32).run(got["vllm"].factors, True)
    assert alone.perf.tpot_ms > got["vllm"].perf.tpot_ms


def test_cli_not_fitting_is_exit_0():
    r = run("estimate", "--model", "llama-3.1-405b", "--gpu", "l4", "--tp", "1", "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["fits"] is False and d["reason"]


@pytest.mark.parametrize("args", [["--gpu", "h100-sxx"], ["--precision", "fp7"], ["--tp", "0"]])
def test_cli_invalid_arguments_exit_2(args):
    base = ["estimate", "--model", "llama-3.1-8b", "--gpu", "h100-sxm"]
    r = run(*base, *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_cli_parallel_requests_tells_ollama_otherwise():
    """Ollama serves one request at a time unless told otherwise (OLLAMA_NUM_PARALLEL): --parallel-requests."""
    base = ["estimate", "--model", "llama-3.1-8b", "--gpu", "l40s", "--engine", "ollama", "--precision", "int4",
            "--kv-precision", "fp16", "--concurrency", "8", "--json"]
    one, four = (json.loads(run(*base, *extra).stdout) for extra in ([], ["--parallel-requests", "4"]))
    assert (one["parallel_requests"], four["parallel_requests"]) == (1, 4)
    assert (one["max_concurrency"], four["max_concurrency"]) == (1, 4)
    assert four["memory_gib"]["kv_cache"] == pytest.approx(4 * one["memory_gib"]["kv_cache"], rel=0.01)  # 4 resident
    assert four["output_tokens_per_s"] > 2 * one["output_tokens_per_s"] and four["ttft_ms"] < one["ttft_ms"] / 2
    assert run(*base, "--parallel-requests", "0").returncode == 2


def test_parallel_requests_cap_batches_any_engine(catalog):
    """A cap on a continuous-batching engine (vLLM --max-num-seqs) decodes at most that many at once."""
    capped = catalog.engine("vllm").model_copy(update={"max_parallel_requests": 8})
    eight = est(catalog, c=8).perf
    queued = estimate(catalog, catalog.model("llama-3.1-70b"), catalog.gpu("h100-sxm"), capped, P.fp8, P.bf16, 4, 1,
                      1024, 256, 32)
    assert queued.parallel_requests == 8 and est(catalog, c=8).parallel_requests == 1024  # vLLM's default on an H100
    assert queued.perf.tpot_ms == pytest.approx(eight.tpot_ms)
    assert queued.perf.ttft_ms > 3 * eight.ttft_ms
    assert queued.perf.output_tokens_per_s == pytest.approx(eight.output_tokens_per_s, rel=0.05)


def test_vllm_runs_at_most_its_default_max_num_seqs(catalog):
    """vLLM's API server runs at most 256 requests at once on a GPU under 70 GiB (or an A100), 1,024 on
    an H100 (its max_num_seqs defaults): 400 short chats of an 8B on one L40S, which its KV cache would
    hold, run 256 at a time and the rest queue; on an H100 all 400 run."""
    kw = dict(model="llama-3.1-8b", p=P.fp8, tp=1, i=256, o=128)
    l40s, at_cap = est(catalog, gpu="l40s", c=400, **kw), est(catalog, gpu="l40s", c=256, **kw)
    assert l40s.memory.max_concurrency == 256 and l40s.parallel_requests == 256
    assert "serves 256 request(s) at a time" in " ".join(l40s.notes)
    assert l40s.perf.tpot_ms == pytest.approx(at_cap.perf.tpot_ms) and l40s.perf.ttft_ms > 2 * at_cap.perf.ttft_ms
    h100 = est(catalog, gpu="h100-sxm", c=400, **kw)
    assert h100.parallel_requests == 1024 and h100.fits and not h100.notes
    assert est(catalog, gpu="a100-sxm4-80gb", c=400, **kw).parallel_requests == 256


def test_trtllm_schedules_at_most_its_default_max_batch_size(catalog):
    """trtllm-serve schedules at most --max_batch_size requests (default 2,048): an 8B on a B200, whose KV
    cache holds more short chats, runs 2,048 of 4,096 users and queues the rest, so its throughput stops
    growing there and only the TTFT grows."""
    kw = dict(model="llama-3.1-8b", gpu="b200", engine="tensorrt-llm", p=P.fp8, tp=1, i=256, o=256)
    at_cap, beyond = est(catalog, c=2048, **kw), est(catalog, c=4096, **kw)
    assert beyond.parallel_requests == 2048 and "serves 2048 request(s) at a time" in " ".join(beyond.notes)
    assert beyond.perf.output_tokens_per_s == pytest.approx(at_cap.perf.output_tokens_per_s, rel=1e-9)
    assert beyond.perf.ttft_ms > 10 * at_cap.perf.ttft_ms


def test_cli_memory_guide_example():
    r = run("memory", "--model", "llama-3.3-70b", "--context", "128000", "--precision", "fp8", "--rule", "guide", "--json")
    d = json.loads(r.stdout)
    assert (d["weights_gb"], d["context_gb"], d["total_gb"]) == (70.0, 62.5, 132.5)
    h100 = next(g for g in d["gpus"] if g["gpu"] == "h100-sxm-80gb")
    assert h100["min_gpus"] == 2


def test_trtllm_serves_gpt_oss_mxfp4_on_hopper_as_an_unverified_fallback(catalog):
    """aiconfigurator measured TensorRT-LLM serving gpt-oss-120b's MXFP4 experts on H200; Hopper has no FP4
    tensor cores, so it is the weight-only path, flagged unverified; Ampere stays unsupported."""
    e = est(catalog, model="gpt-oss-120b", gpu="h200-sxm", engine="tensorrt-llm", p=P.fp4, tp=1, c=32)
    assert e.fits and e.precision_path == "fallback" and e.perf.tpot_ms > 0
    assert any("weight-only fallback" in n and "unverified" in n for n in e.notes)
    ampere = est(catalog, model="gpt-oss-120b", gpu="a100-sxm4-80gb", engine="tensorrt-llm", p=P.fp4, tp=2, c=32)
    assert not ampere.fits and "does not run fp4" in ampere.reason
    # vLLM's Hopper fp4 cell has a stored source (the gpt-oss recipe): a fallback, not flagged
    v = est(catalog, model="gpt-oss-120b", gpu="h200-sxm", engine="vllm", p=P.fp4, tp=1, c=32)
    assert v.precision_path == "fallback" and not any("unverified" in n for n in v.notes)


def test_servers_share_a_speed_model_only_when_their_links_are_alike(catalog):
    """The planner evaluates one speed model per (GPU, engine, Links): a TP1 replica's speed is the same on
    a one-GPU server and in an NVSwitch box (it all-reduces nothing), a TP2 replica's is not over PCIe."""
    from solver.predict.fabric import fabric_of, links_of
    from solver.predict.speed import ReplicaSpeed

    g = catalog.gpu("h100-sxm")
    by_kind = {s.interconnect.kind: fabric_of(s, g) for s in catalog.servers.values() if s.gpu == g.id}
    one, pcie, nvs = by_kind["none"], by_kind["pcie"], by_kind["nvswitch"]
    assert links_of(one, 1, 1) == links_of(nvs, 1, 1)
    assert links_of(pcie, 2, 1) != links_of(nvs, 2, 1)
    args = (catalog.model("llama-3.1-8b"), g)
    rest = (P.fp8, True, P.bf16)
    for tp, a, b, same in ((1, one, nvs, True), (2, pcie, nvs, False)):
        pa = ReplicaSpeed(*args, a, *rest, tp, 1, 2048, 256, _factors(catalog)).at(32)
        pb = ReplicaSpeed(*args, b, *rest, tp, 1, 2048, 256, _factors(catalog)).at(32)
        assert (pa == pb) is same


def test_half_waves_stretch_decoding_by_the_share_prefill_really_takes(catalog):
    """Burst 0.5: TPOT = 0.5 (step + (C-1)/2 t_s / (O-1)) + 0.5 step / (1 - rho), where rho must be the
    prefill share of the cycle those TTFT and TPOT make (C t_s / cycle, the reported share), not of another
    cycle.  Solving that identity for the decode step gives the same step for a normal and a cheaper
    prefill of one layout, whose decode steps are the same."""
    normal, cheap = _prefill_pair(catalog, burst=0.5)
    for c in (8, 64):
        steps = []
        for rs in (normal, cheap):
            p = rs.at(c)
            assert p.prefill_share < 0.95  # not capped
            behind = (c - 1) / 2 * rs.t_p_service / 255
            steps.append((p.tpot_ms / 1e3 - 0.5 * behind) / (0.5 + 0.5 / (1 - p.prefill_share)))
        assert steps[0] == pytest.approx(steps[1], rel=1e-9)


def test_sparse_attention_caps_the_attention_not_the_indexer(catalog):
    """GLM-5 (DSA): beyond top_k tokens a query's attention work stops growing and only the indexer's
    scoring (2 x heads x dim FLOPs per cached token and layer) continues; a causal prefill's attention
    grows linearly past top_k, its indexer quadratically.  DeepSeek-V3 (dense MLA) grows throughout."""
    from solver.predict.work import attention_flops, model_work

    m = catalog.model("glm-5")
    sa, w = m.sparse_attention, model_work(m).attn_flops_per_ctx
    k, idx = sa.top_k_tokens, 2 * sa.indexer_heads * sa.indexer_head_dim
    assert attention_flops(m, 4 * k) - attention_flops(m, 2 * k) == pytest.approx(m.layers * idx * 2 * k)
    assert attention_flops(m, k / 2) == pytest.approx(m.layers * (w + idx) * k / 2)
    n = 4 * k
    assert attention_flops(m, n, causal_prefill=True) == pytest.approx(m.layers * (w * (k * k / 2 + (n - k) * k) + idx * n * n / 2))
    dense = catalog.model("deepseek-v3")
    assert attention_flops(dense, 4 * k) == pytest.approx(2 * attention_flops(dense, 2 * k))
    # and the estimate (one user, so no other prefill stretches the steps): a 32K prompt stores 16x the
    # KV of a 2K one, but its decode steps grow by a fraction of what dense MLA's do
    def growth(mid: str) -> float:
        long, short = (est(catalog, mid, "h200-sxm", "sglang", tp=8, i=i, o=256, c=1) for i in (32768, 2048))
        assert long.memory.kv_cache_gib > 10 * short.memory.kv_cache_gib
        return long.perf.tpot_ms - short.perf.tpot_ms

    assert 0 < growth("glm-5") < 0.3 * growth("deepseek-v3")


def test_architecture_layer_overheads_apply_to_their_layers_only(catalog):
    """The indexer's kernels cost each DSA layer sparse_layer_overhead_us per decode step, a Gated DeltaNet
    layer's own kernels linear_layer_overhead_us (one user, no prefill mixed in: exactly layers x the
    overhead); a model without such layers pays neither."""
    def tpot(model: str, **us: float) -> float:
        return _perf(catalog, _factors(catalog, **us), model, c=1).tpot_ms

    glm, qwen = catalog.model("glm-5"), catalog.model("qwen3.5-397b-a17b")
    for p in ("sparse_layer_overhead_us", "linear_layer_overhead_us"):
        assert tpot("deepseek-v3", **{p: 100.0}) == tpot("deepseek-v3", **{p: 0.0})
    assert tpot("glm-5", sparse_layer_overhead_us=100.0) - tpot("glm-5", sparse_layer_overhead_us=0.0) == pytest.approx(glm.layers * 0.1)
    assert tpot("glm-5", linear_layer_overhead_us=100.0) == tpot("glm-5", linear_layer_overhead_us=0.0)
    assert (tpot("qwen3.5-397b-a17b", linear_layer_overhead_us=100.0) - tpot("qwen3.5-397b-a17b", linear_layer_overhead_us=0.0)
            == pytest.approx(qwen.linear_attention.layers * 0.1))


def test_linear_attention_layers_keep_a_fixed_state_not_a_growing_cache(catalog):
    """Qwen3.5 (45 Gated DeltaNet + 15 full-attention layers): a query's attention work grows with the
    context in the 15 full layers only; the linear layers cost 8 x value_heads x key_dim x value_dim per
    token whatever the context, and a decode step reads and writes each sequence's state once."""
    from solver.predict.memory import kv_bytes_per_sequence, kv_share_per_gpu, state_bytes_per_gpu
    from solver.predict.speed import ReplicaSpeed
    from solver.predict.work import attention_flops, model_work

    m = catalog.model("qwen3.5-397b-a17b")
    la, w = m.linear_attention, model_work(m).attn_flops_per_ctx
    per_token = la.layers * 8 * la.value_heads * la.key_head_dim * la.value_head_dim
    assert attention_flops(m, 8192) - attention_flops(m, 4096) == pytest.approx(w * 15 * 4096)
    assert attention_flops(m, 4096) == pytest.approx(w * 15 * 4096 + per_token)
    assert attention_flops(m, 4096, causal_prefill=True) == pytest.approx(w * 15 * 4096 ** 2 / 2 + per_token * 4096)
    g, fabric = _h100_fabric(catalog)
    rs = ReplicaSpeed(m, g, fabric, P.fp8, True, P.bf16, 8, 1, 4096, 512, _factors(catalog))
    ctx = int(4096 + 512 / 2)
    assert rs.kv_bytes_seq == pytest.approx(kv_bytes_per_sequence(m, P.bf16, ctx) * kv_share_per_gpu(m, 8, 1)
                                            + 2 * state_bytes_per_gpu(m, 8, 1))


def test_an_engine_without_the_models_layer_kind_is_an_answer(catalog):
    """Estimating Qwen3.5 on TensorRT-LLM (linear attention not documented for it) answers fits: false with
    the reason, like an unsupported precision; on vLLM it runs."""
    trt = est(catalog, "qwen3.5-397b-a17b", "h200-sxm", "tensorrt-llm", tp=8)
    assert not trt.fits and "no linear_attention" in trt.reason and trt.perf is None
    assert est(catalog, "qwen3.5-397b-a17b", "h200-sxm", "vllm", tp=8).fits


def test_expert_parallel_reads_experts_at_its_own_efficiency(catalog):
    """With the routed experts spread whole over the GPUs (EP), a decode step reads them at
    moe_efficiency x moe_ep_efficiency (full-width grouped GEMMs); split by TP, the EP factor plays no
    part.  A dense model has no experts to spread: an answer with the reason."""
    from solver.predict.estimate import prepare

    def tpot(ep: int, eff: float) -> float:
        f = _factors(catalog, moe_ep_efficiency=eff)
        p = prepare(catalog, catalog.model("qwen3-235b-a22b"), catalog.gpu("h100-sxm"), catalog.engine("tensorrt-llm"),
                    P.fp8, P.bf16, 8, 1, 1024, 256, 8, expert_parallel=ep)
        return p.run(f, True).perf.tpot_ms

    tp_split = tpot(1, 1.0)
    assert tpot(1, 2.0) == tp_split  # split by TP, the EP factor plays no part
    assert tpot(8, 1.0) == pytest.approx(tp_split)  # whole experts at EP efficiency 1: as split ones
    assert tpot(8, 2.0) < tp_split
    dense = est(catalog, "llama-3.1-8b", tp=2, expert_parallel=2)
    assert not dense.fits and "expert parallelism 2 needs a MoE model" in dense.reason


def test_prefill_runs_the_lm_head_on_the_last_prompt_token_only(catalog):
    """Engines turn only a prompt's last position into logits, so each further prompt token costs the
    body's matmuls but not the LM head's (Llama-3.1-8B: 6.98 G instead of 7.51 G parameters)."""
    from solver.predict.work import attention_flops, model_work, prefill_flops

    m = catalog.model("llama-3.1-8b")
    work = model_work(m)
    assert work.head_params == 128_256 * 4_096

    def matmul_flops(n: int) -> float:
        return prefill_flops(m, n)[0] - attention_flops(m, n, causal_prefill=True)

    assert matmul_flops(2048) - matmul_flops(1024) == pytest.approx(1024 * 2 * (work.matmul_active - work.head_params))
    assert matmul_flops(1) == pytest.approx(2 * work.matmul_active)  # a one-token prompt: body and head once


def test_a_tied_lm_head_is_a_matmul_of_every_generated_token(catalog):
    """A tied model's embedding table is also its LM head: every parameter it counts is in a per-token
    matmul (the table once, as the head).  An untied model's input embedding is only looked up."""
    from solver.predict.work import model_work

    tied, untied = catalog.model("llama-3.2-1b"), catalog.model("llama-3.1-8b")
    assert model_work(tied).matmul_active == pytest.approx(tied.params_active)
    assert model_work(untied).matmul_active == pytest.approx(untied.params_active - untied.embedding_params)


@pytest.mark.parametrize("model, gpu, tp, prompt, precision, engine", [
    ("llama-2-7b", "l40s", 1, 128, "fp16", "vllm"),
    ("llama-2-7b", "l40s", 1, 128, "fp16", "tensorrt-llm"),
    ("llama-2-7b", "l40s", 1, 128, "bf16", "sglang"),
    ("llama-3.1-70b", "h100-sxm", 2, 500, "fp8", "tensorrt-llm"),
    ("llama-3.1-8b", "a10g", 1, 256, "bf16", "vllm"),  # a GPU no serving run covers
])
def test_a_short_prompt_alone_costs_about_its_own_prefill(catalog, model, gpu, tp, prompt, precision, engine):
    """One request with a short prompt waits for nobody: its TTFT is within 2x of the model's own prefill
    time (the GPUs' FLOPs, bytes and all-reduces at their rates), not charged the waits that serving
    campaigns with many users show (hundreds of ms fitted as the shared wait)."""
    e = estimate_named(model, gpu, tp=tp, precision=precision, engine=engine, input_len=prompt, output_len=128,
                       concurrency=1, catalog=catalog)
    assert e.fits and e.factors.shared_wait_ms > 20  # the campaigns' wait exists, and is not paid alone
    # alone, the reported prefill is the GPUs' service time and the per-layer latency
    service_ms = e.perf.prefill_ms - catalog.models[e.model].layers * e.factors.prefill_layer_latency_us / 1e3
    assert e.perf.ttft_ms == pytest.approx(e.perf.prefill_ms, rel=1e-12)  # nobody to wait for
    assert e.perf.ttft_ms <= 2 * service_ms  # (that no shared wait leaks in: test_a_request_alone_pays_no_shared_wait)


def test_the_per_layer_prefill_latency_is_what_its_source_gives(catalog):
    """PREFILL_LAYER_LATENCY_US is the median over the published batch-1 first-token latencies of (measured -
    the model's prefill service time) / layers (benchmarks/published.py recomputes it after a refit)."""
    from benchmarks.published import low_load
    from solver.schema.calibration import PREFILL_LAYER_LATENCY_US
    from tests.conftest import CALIBRATION

    got = low_load(catalog, str(CALIBRATION / "published_trtllm_hopper_ampere.csv"))
    assert got["n"] == 8
    assert got["residual_per_layer_us_median"] == pytest.approx(PREFILL_LAYER_LATENCY_US, rel=0.05)
    assert 0.85 < got["ttft_measured_over_predicted"] < 1.15
