"""Fitted efficiency factors of the performance model, per engine and hardware class."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

#: a band edge, ln(measured/predicted): e^10 is a factor of 22,026, beyond any prediction worth a band
LogBound = Annotated[float, Field(ge=-10, le=10)]

#: a prefill's latency per layer beyond its roofline time, us: the median over NVIDIA's published
#: TensorRT-LLM batch-1 first-token latencies (Llama-2 7B and 70B, 128 and 2,048 prompt tokens, H100
#: and H200, TP 1-8; ../shared/calibration/published_trtllm_hopper_ampere.csv) of (measured - the
#: model's prefill service time) / layers: 4-5 ms over 32 layers, 10-27 ms over 80; recomputed and
#: printed by `python benchmarks/published.py` ("low load"; 134.4 us on the shipped fit).  The serving
#: campaigns cannot give it: their fewest users are 4, where what others add is not separable from a
#: request's own latency.
PREFILL_LAYER_LATENCY_US = 134.0


class PerfFactors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(description="'<engine>@<hardware class>'; '*' matches any")
    engine: str = Field(description="engine id or '*'")
    gpu_class: str = Field(description="hardware class (compat key) or '*'")
    bandwidth_efficiency: float = Field(gt=0, le=1.5, description="share of peak memory bandwidth a decode step achieves")
    compute_efficiency_prefill: float = Field(gt=0, le=1.5, description="share of peak dense TFLOPS a prefill achieves")
    compute_efficiency_decode: float = Field(gt=0, le=1.5, description="share of peak dense TFLOPS a decode step achieves")
    moe_efficiency: float = Field(1.0, gt=0, le=2.0, description="bandwidth efficiency of MoE expert weights relative to dense ones")
    moe_ep_efficiency: float = Field(1.0, gt=0, le=5.0, description="expert weights' bandwidth efficiency under expert parallelism (each expert whole on one GPU, full-width grouped GEMMs) relative to moe_efficiency (experts split by TP); 1.0 where no EP run was measured")
    moe_prefill_efficiency: float = Field(1.0, gt=0, le=2.0, description="efficiency of a prefill's routed-expert GEMMs (grouped, a few hundred tokens per expert) relative to compute_efficiency_prefill, on the 16-bit peak whatever the weight format; 1.0 in overlays fitted before it existed (refit them: see docs/model.md)")
    burst_factor: float = Field(0.0, ge=0, le=1.0, description="share of the other users' prefill service times (GPU time, without their latencies beyond it) a new request waits behind (synchronised arrivals)")
    burst_factor_by_gpu: dict[str, Annotated[float, Field(ge=0, le=1.0)]] = Field(
        default_factory=dict,
        description="burst_factor on a GPU of the class measured in campaigns of its own (GPU id -> value); other GPUs "
                    "of the class take burst_factor.  gpuplan calibrate writes it when the engine was measured on two "
                    "or more GPUs of the class (how requests arrive is the measuring harness's, and each GPU system "
                    "was measured in its own campaigns: docs/model.md)")
    kv_bandwidth_efficiency: float = Field(1.0, gt=0, le=2.0, description="share of the weight-streaming bandwidth that decode attention achieves reading the KV cache (paged, a few heads per GPU); 1.0 in overlays fitted before it existed (refit them: see docs/model.md)")
    layer_overhead_us: float = Field(ge=0, le=1e5, description="time per layer per decode step beyond its memory traffic, compute and all-reduces (kernel launches, the gaps between a layer's small kernels, per-step host work spread over the layers), us")
    sparse_layer_overhead_us: float = Field(0.0, ge=0, le=1e5, description="time per sparse-attention (DSA) layer per decode step on top of layer_overhead_us: the indexer's own small kernels (its projections, FP8 key quantisation, the scoring and the top-k selection), us; 0 in overlays fitted before it existed")
    linear_layer_overhead_us: float = Field(0.0, ge=0, le=1e5, description="time per linear-attention (Gated DeltaNet) layer per decode step on top of layer_overhead_us: its own small kernels (conv-state update, the recurrent delta-rule step, the gated norm), us; 0 in overlays fitted before it existed")
    shared_wait_ms: float = Field(
        validation_alias=AliasChoices("shared_wait_ms", "prefill_overhead_ms"), ge=0, le=1e6,
        description="latency before the first token that serving campaigns show whenever a request shares the "
                    "engine with other running requests, beyond the modelled prefill queue and decode steps (the "
                    "serving process's work for the others, the harness's arrival ramp); charged x (b-1)/b with b "
                    "requests running, so a request alone pays none of it; it does not occupy the GPUs, ms.  Read "
                    "as prefill_overhead_ms in overlays written before it was split from the request's own latency")
    prefill_layer_latency_us: float = Field(
        PREFILL_LAYER_LATENCY_US, ge=0, le=1e5,
        description="a request's own prefill latency per layer beyond its FLOPs, bytes and all-reduces (the "
                    "launches and synchronisations of a forward pass that is not graph-captured), paid alone too, us; "
                    "default: measured at batch 1 (PREFILL_LAYER_LATENCY_US)")
    tpot_log_band: tuple[LogBound, LogBound] = Field(description="[low, high] of ln(measured/predicted) TPOT; gpuplan calibrate writes -+ the 90th percentile of its absolute value for models left out of the fit (in-sample when one model was measured)")
    ttft_log_band: tuple[LogBound, LogBound] = Field(description="[low, high] of ln(measured/predicted) TTFT; gpuplan calibrate writes -+ the 90th percentile of its absolute value for models left out of the fit (in-sample when one model was measured)")
    measured_points: int = Field(ge=0, description="measurements behind the fit (0 = prior, not fitted)")
    measured_models: int = Field(0, ge=0, description="models among them (0: not recorded, in overlays written before it existed)")
    band_basis: Literal["fit", "leave-one-GPU-out"] = Field("fit", description="fit: the bands come from the fit's data (models left out in turn); leave-one-GPU-out: from GPUs left out of the fit in turn (the wildcard entries, for GPUs outside the fit: not widened further)")
    reference_gpus: list[str] = Field(default_factory=list, description="GPUs whose serving runs the efficiencies were fitted on: on another GPU they are moved onto its own attainable rates relative to theirs (solver.predict.attainable); empty in overlays written before it existed (then applied as they are)")
    source: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_ordered(self) -> PerfFactors:
        for name in ("tpot_log_band", "ttft_log_band"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name} is [low, high]: {low} > {high}")
        return self

    def burst_for(self, gpu_id: str) -> float:
        """The burst factor on this GPU: its own where it was measured, else the engine's."""
        return self.burst_factor_by_gpu.get(gpu_id, self.burst_factor)
