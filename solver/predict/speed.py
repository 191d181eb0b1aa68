"""Speed of one replica: time per output token (decode), time to first token (prefill + queueing).

Model (docs/model.md derives it):
- a decode step of b sequences: its GEMMs read every GPU's weight shard (for MoE, only the experts
  the b tokens touch: E x (1 - (1 - k/E)^b) per MoE layer) and do 2 x (active matmul params) +
  attention FLOPs per token, overlapped: max(weights, compute); attention reads the KV cache of the
  b sequences in kernels of its own, at a fitted share of the weights' bandwidth
  (kv_bandwidth_efficiency); plus TP all-reduces (2 per layer, ring: 2(n-1)/n x bytes / link
  bandwidth + latency x 2 log2 n) and an overhead per layer (launches and gaps between small
  kernels).  With PP, the batch is split into PP micro-batches and a token crosses every stage:
  TPOT = PP x stage time + (PP-1) point-to-point transfers;
- prefill of I tokens: compute 2 x active x I + causal attention (MoE: the routed experts' share at
  the 16-bit peak x moe_prefill_efficiency), memory = weights per chunk, + all-reduces of I x hidden
  activations (together: the GPUs' service time t_s) + a latency per layer of the request's own (the
  launches of a forward pass that is not graph-captured; measured at batch 1) + a wait that serving
  campaigns show only while a request shares the engine, x (b-1)/b with b requests running (fitted);
  neither occupies the GPUs;
- closed loop of C users with chunked prefill: on an engine that mixes (Engine.mixes_prefill: vLLM,
  TensorRT-LLM, llama.cpp) a prefill chunk rides in a decode step, which reads the weights once for both, so a
  prefill adds to the steps it joins only what they did not already spend: t_add = its compute beyond
  what the step's weight streaming hides, the weights the decode batch did not read (MoE: the experts
  it did not touch), and its all-reduces; elsewhere (SGLang's default) it runs as a pass of its own:
  t_add = t_s.  Prefill takes a share
  rho = C x t_add / (TTFT + (O-1) x TPOT) of the replica.  A fitted share b of the load (burst_factor, the
  GPU's own where it was measured) arrives in waves, as a closed loop's users that start together stay:
  a request waits for the prefills (t_s) of the (C-1)/2 users ahead of it, and those behind it add their
  t_add to its decode steps; the rest arrives spread out: a request waits (M/D/1) rho/(2(1-rho))
  prefills of t_s and a decode step stretches to step / (1 - rho).  TTFT = own prefill + b (C-1)/2 t_s +
  (1-b) M/D/1 wait + half a decode step; TPOT = b (step + (C-1)/2 t_add / (O-1)) + (1-b) step / (1-rho),
  rho the fixed point over that cycle (closed form, _prefill_share);
- an engine that runs P requests at a time (Ollama: 1; any engine: what its KV cache holds) runs them as
  a closed loop of P users and queues the rest: a queued request waits (C / P - 1) stays of a running
  one (its TTFT + (O - 1) x TPOT), so beyond P only the TTFT grows.
Efficiencies and overheads come from calibration (solver.schema.calibration.PerfFactors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.predict.fabric import Fabric, allreduce_s, links_of
from solver.predict.memory import (
    TOKEN_BUDGET,
    kv_bytes_read_per_sequence,
    kv_share_per_gpu,
    state_bytes_per_gpu,
    streamed_weight_bytes,
)
from solver.predict.work import (
    attention_flops,
    model_work,
    moe_step_bytes,
    moe_weight_split,
    peak_tflops,
    prefill_flops,
)
from solver.schema.calibration import PerfFactors
from solver.schema.hardware import Gpu
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision

ACT_BYTES = 2  # activations exchanged in 16-bit
FALLBACK_BW_FACTOR = 1.0  # weight-only (Marlin-style) kernels stream weights at the dense rate; their cost is 16-bit compute
PREFILL_CHUNK = TOKEN_BUDGET  # tokens per prefill chunk where the caller gives none (weights re-read per chunk)
MAX_RHO = 0.95  # prefill share beyond which a replica is saturated


def _prefill_share(n: float, t_prefill: float, t_service: float, wait0: float, o1: int, step0: float) -> float:
    """The prefill share rho solving rho = n / cycle(rho), in closed form.

    The cycle is t_prefill + t_service rho / (2(1 - rho)) + wait0 + o1 x step0 / (1 - rho) (t_prefill: a
    request's own prefill with its latencies beyond the GPUs' work; t_service: the GPU time others wait for; step0: a decode
    step without prefill, which prefill's share of the GPU time stretches).  With u = 1 / (1 - rho) the
    cycle is K + L u (K = t_prefill - t_service / 2 + wait0, L = t_service / 2 + o1 step0), and
    n u = (u - 1)(K + L u) is the quadratic L u^2 + (K - L - n) u - K = 0 with one positive root.
    """
    k = t_prefill - t_service / 2 + wait0
    L = t_service / 2 + o1 * step0
    b = k - L - n
    disc = math.sqrt(b * b + 4 * L * k)
    u = 2 * k / (b + disc) if b > 0 else (disc - b) / (2 * L)  # the stable form of the positive root
    return 1 - 1 / u


@dataclass(slots=True)  # not frozen: built hundreds of thousands of times per batch, and frozen construction costs ~5x
class Perf:
    ttft_ms: float
    tpot_ms: float
    output_tokens_per_s: float  # whole replica
    per_user_tokens_per_s: float
    decode_mem_ms: float
    decode_compute_ms: float
    decode_comm_ms: float
    prefill_ms: float
    prefill_share: float
    bound: str


class ReplicaSpeed:
    """The speed model of one replica layout; `at(concurrency)` gives its Perf.

    Everything that does not depend on the load (bandwidths, links, one request's prefill, the KV of
    one sequence) is computed once here, so evaluating a ladder of load levels costs little more
    than the load-dependent part."""

    def __init__(self, model: LlmModel, gpu: Gpu, fabric: Fabric, precision: Precision, native: bool,
                 kv_precision: Precision, tp: int, pp: int, input_len: int, output_len: int, factors: PerfFactors,
                 max_parallel: int | None = None, mixed_prefill: bool = False, chunk_tokens: int = PREFILL_CHUNK,
                 expert_parallel: int = 1):
        self.model, self.factors, self.mixed_prefill = model, factors, mixed_prefill
        # experts spread whole over the GPUs (EP) run their grouped GEMMs full width: an efficiency of their own
        self.moe_eff = factors.moe_efficiency * (factors.moe_ep_efficiency if expert_parallel > 1 else 1.0)
        self.burst = factors.burst_for(gpu.id)  # how this GPU's campaigns sent requests (docs/model.md)
        self.tp, self.pp, self.output_len, self.max_parallel = tp, pp, output_len, max_parallel
        # the kernels of their own that DSA layers and linear-attention layers run (fitted per layer)
        # per-layer overhead (a token crosses every layer once whatever the PP split), s per decode step
        sparse_us = factors.sparse_layer_overhead_us if model.sparse_attention else 0.0
        linear_us = factors.linear_layer_overhead_us * model.linear_attention.layers if model.linear_attention else 0.0
        self.layer_overhead_s = (model.layers * (factors.layer_overhead_us + sparse_us) + linear_us) / 1e6
        self.bw = gpu.memory_bandwidth_tbs * 1e12 * factors.bandwidth_efficiency * (1.0 if native else FALLBACK_BW_FACTOR)
        peak = peak_tflops(gpu, precision, native) * 1e12
        work = model_work(model)
        self.shards = tp * pp
        links = links_of(fabric, tp, pp)
        self.link_gbs, self.link_lat, self.p2p_gbs, self.p2p_lat = links.tp_gbs, links.tp_latency_us, links.p2p_gbs, links.p2p_latency_us
        # decode, per sequence of the batch
        avg_ctx = input_len + output_len / 2
        # plus a linear-attention state, read and written back once a step
        self.kv_bytes_seq = (kv_bytes_read_per_sequence(model, kv_precision, int(avg_ctx)) * kv_share_per_gpu(model, tp, pp)
                             + 2 * state_bytes_per_gpu(model, tp, pp))
        self.flops_seq = (2 * work.matmul_active + attention_flops(model, avg_ctx)) / self.shards
        self.decode_flops_rate = peak * factors.compute_efficiency_decode
        streamed = streamed_weight_bytes(model, precision)
        # a dense model reads all its weights whatever the batch; MoE depends on the experts it touches
        # (split once here: at() runs once per load level)
        self.dense_w_bytes = None if model.moe else streamed / self.shards
        self.moe_split = moe_weight_split(model, precision) if model.moe else None
        self.act_bytes_token = model.hidden_size * ACT_BYTES
        # prefill of one request
        n_chunks = math.ceil(input_len / chunk_tokens)  # the engine's tokens per forward pass (memory.token_budget)
        # MoE: the routed experts' grouped GEMMs (a few hundred tokens per expert) run at their own
        # efficiency of the 16-bit peak whatever the weight format (fitted; docs/model.md)
        p_flops, p_expert_flops = prefill_flops(model, input_len)
        t_p_compute = (p_flops / peak + p_expert_flops / (peak_tflops(gpu, precision, False) * 1e12 * factors.moe_prefill_efficiency)) \
            / (tp * factors.compute_efficiency_prefill)
        t_p_mem = n_chunks * streamed / tp / self.bw
        t_p_comm = model.layers * 2 * allreduce_s(tp, input_len * model.hidden_size * ACT_BYTES, self.link_gbs, self.link_lat)
        t_p_comm += (pp - 1) * (input_len * model.hidden_size * ACT_BYTES / (self.p2p_gbs * 1e9) + self.p2p_lat * 1e-6)
        # the GPUs' time for one prefill (the steps that carry it): what other requests wait for
        self.t_p_service = max(t_p_compute, t_p_mem) + t_p_comm
        # a request's own prefill, alone: the GPUs' time and the forward pass's per-layer latency; with others
        # running it also pays the shared wait (at(): x (b-1)/b)
        self.t_prefill_alone = self.t_p_service + model.layers * factors.prefill_layer_latency_us / 1e6
        self.shared_wait_s = factors.shared_wait_ms / 1e3
        # what a prefill adds to the decode steps it is mixed into (at(): _prefill_added_s)
        self.n_chunks, self.t_p_comm = n_chunks, t_p_comm
        self.t_p_chunk_compute, self.t_p_chunk_mem = t_p_compute / n_chunks, t_p_mem / n_chunks

    def at(self, concurrency: int) -> Perf:
        model, pp, factors, output_len, max_parallel = self.model, self.pp, self.factors, self.output_len, self.max_parallel
        batch = concurrency if max_parallel is None else min(concurrency, max_parallel)
        t_s = self.t_p_service
        t_prefill = self.t_prefill_alone + self.shared_wait_s * (batch - 1) / batch
        micro = batch / pp

        # ---- decode
        w_bytes = self.dense_w_bytes
        if w_bytes is None:
            w_bytes = moe_step_bytes(model, self.moe_split, batch, self.moe_eff) / self.shards
        t_w = w_bytes / self.bw  # the GEMMs stream the weights
        t_kv = micro * self.kv_bytes_seq / (self.bw * factors.kv_bandwidth_efficiency)  # attention kernels of its own
        t_mem = t_w + t_kv
        t_comp = micro * self.flops_seq / self.decode_flops_rate
        t_comm = model.layers / pp * 2 * allreduce_s(self.tp, micro * self.act_bytes_token, self.link_gbs, self.link_lat)
        p2p = (pp - 1) * (micro * self.act_bytes_token / (self.p2p_gbs * 1e9) + self.p2p_lat * 1e-6) if pp > 1 else 0.0
        fixed = pp * (t_comm + t_kv) + p2p + self.layer_overhead_s

        tpot0 = pp * max(t_w, t_comp) + fixed  # a decode step with no prefill mixed in

        # ---- closed loop of the `batch` users the engine runs at once.  A share `burst` of them arrive in
        # waves (a closed loop's users start together and stay in step): a request waits for the prefills
        # of the (C-1)/2 users ahead of it on average, and those behind it join its decode steps; the rest
        # arrive spread out: they wait (M/D/1) for the prefills queued, and prefill's share rho of the GPU
        # time stretches their decode steps.  Each other user's prefill counts once in a request's cycle.
        burst = self.burst
        wait0 = burst * (batch - 1) / 2 * t_s + (tpot0 / 2 if batch > 1 else 0.0)
        o1 = max(output_len - 1, 0)
        rho = 0.0
        t_add = t_s  # one user's own prefill joins no decode step; an engine that does not mix runs it alone
        spread = 1 - burst
        behind_s = 0.0
        if batch > 1:
            if self.mixed_prefill:
                t_add = self._prefill_added_s(t_w, t_comp)
            behind_s = (batch - 1) / 2 * t_add / o1 if o1 else 0.0  # in a wave, per decode step of a request
            if spread > 0:
                # rho = C t_add / cycle over the whole cycle below: the waves' part of it does not depend on
                # rho, so it joins the fixed wait, and the spread-out part scales the queue and the stretch
                wave_decode = burst * o1 * (tpot0 + behind_s)
                rho = min(_prefill_share(batch * t_add, t_prefill, spread * t_s, wait0 + wave_decode, o1, spread * tpot0), MAX_RHO)
        # prefill time-shares the GPUs with decoding: the steps it is mixed into last as long as both
        tpot = burst * (tpot0 + behind_s) + spread * tpot0 / (1 - rho)
        ttft = t_prefill + spread * t_s * rho / (2 * (1 - rho)) + wait0
        service = ttft + o1 * tpot  # one request's stay among the running ones
        total = batch * output_len / service
        # the GPUs' share of time in prefill: rho itself when it solved the fixed point (or its cap); with one
        # user, whose own prefill stretches no decode step, still that prefill's share of the GPU time
        share = min(batch * t_add / service, MAX_RHO)
        if concurrency > batch:
            # the engine runs `batch` requests (Ollama: one; or what the KV cache holds) and queues the rest:
            # in a closed loop of C users served `batch` at a time, each waits (C / batch - 1) services
            ttft += (concurrency / batch - 1) * service

        if share >= 0.5:
            bound = "prefill compute"
        elif t_comm > max(t_mem, t_comp):
            bound = "interconnect"
        else:
            bound = "memory bandwidth" if t_mem >= t_comp else "compute"
        return Perf(
            ttft_ms=ttft * 1e3,
            tpot_ms=tpot * 1e3,
            output_tokens_per_s=total,
            per_user_tokens_per_s=1.0 / tpot,
            decode_mem_ms=t_mem * 1e3,
            decode_compute_ms=t_comp * 1e3,
            decode_comm_ms=t_comm * 1e3,
            prefill_ms=t_prefill * 1e3,
            prefill_share=share,
            bound=bound,
        )

    def _prefill_added_s(self, t_w: float, t_comp: float) -> float:
        """GPU time one prefill adds to the decode steps it is mixed into, a chunk per step (t_w, t_comp:
        a stage's weight streaming and compute in a step without it).  A mixed step streams what the
        decode batch reads or what the chunk reads alone (for MoE all experts, which its hundreds of
        tokens touch), whichever takes longer, and computes both; so a chunk adds its compute beyond
        what the streaming hides, and the bytes the decode batch did not read — never more than the
        chunk's own pass (max(compute, memory)) would take."""
        pp = self.pp
        mixed = max(pp * t_w, self.t_p_chunk_mem, pp * t_comp + self.t_p_chunk_compute)
        return self.n_chunks * (mixed - pp * max(t_w, t_comp)) + self.t_p_comm


def predict(
    model: LlmModel,
    gpu: Gpu,
    fabric: Fabric,
    precision: Precision,
    native: bool,
    kv_precision: Precision,
    tp: int,
    pp: int,
    concurrency: int,
    input_len: int,
    output_len: int,
    factors: PerfFactors,
    max_parallel: int | None = None,
    mixed_prefill: bool = False,
    chunk_tokens: int = PREFILL_CHUNK,
    expert_parallel: int = 1,
) -> Perf:
    """The speed of one replica at one load (see ReplicaSpeed)."""
    return ReplicaSpeed(model, gpu, fabric, precision, native, kv_precision, tp, pp, input_len, output_len, factors,
                        max_parallel, mixed_prefill, chunk_tokens, expert_parallel).at(concurrency)
