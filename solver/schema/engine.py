"""Inference servers ("engines") and their hardware, precision, feature and parallelism rules.

Status vocabulary comes from reference/engines.yaml: yes | no | partial | fallback | experimental |
unknown.  Cells are looked up exact hardware class -> vendor alias (`nvidia`, `amd`) -> `default`
-> "unknown", the order the reference prescribes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from solver.errors import suggestion
from solver.schema.precision import Precision

if TYPE_CHECKING:
    from solver.schema.hardware import Gpu

Status = Literal["yes", "no", "partial", "fallback", "experimental", "unknown"]

#: statuses under which the engine runs at all on a hardware class
RUNS = ("yes", "partial")
#: engine-level precision statuses that execute (fallback = slower path)
PRECISION_RUNS = ("yes", "partial", "fallback")

FEATURES = (
    "flash_attention",
    "paged_attention",
    "prefix_caching",
    "chunked_prefill",
    "lora",
    "spec_decode",
    "cuda_graph",
    "sliding_window",
    "multimodal",
    # layer kinds a model needs the engine to implement (LlmModel.layer_features adds them to a plan's needs)
    "sparse_attention",
    "linear_attention",
)

VENDOR_OF = {
    "nvidia_volta": "nvidia",
    "nvidia_turing": "nvidia",
    "nvidia_ampere": "nvidia",
    "nvidia_ada": "nvidia",
    "nvidia_hopper": "nvidia",
    "nvidia_blackwell_dc": "nvidia",
    "nvidia_blackwell_rtx": "nvidia",
    "amd_mi200": "amd",
    "amd_mi300": "amd",
    "amd_mi350": "amd",
    "intel_gaudi": "intel",
}


def cell_key(table: dict[str, Status], compat_key: str) -> str | None:
    """The cell a lookup reads: exact class -> vendor alias -> default (None: no cell, 'unknown')."""
    vendor = VENDOR_OF.get(compat_key)
    for key in (compat_key, vendor, "default"):
        if key and key in table:
            return key
    return None


def lookup(table: dict[str, Status], compat_key: str) -> Status:
    """Exact class -> vendor alias -> default -> unknown (cell_key's order, inlined: every estimate runs it)."""
    if compat_key in table:
        return table[compat_key]
    vendor = VENDOR_OF.get(compat_key)
    if vendor and vendor in table:
        return table[vendor]
    return table.get("default", "unknown")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Parallelism(_Strict):
    tensor_parallel: bool = Field(description="supports tensor parallelism")
    tp_divides_heads: bool = Field(description="TP must divide the attention heads")
    kv_heads: Literal["replicate", "divide"] = Field(
        description="replicate: KV heads divide TP or are replicated when fewer; divide: KV heads must divide TP"
    )
    tp_power_of_two: bool = Field(description="TP must be a power of two")
    pipeline_parallel: bool = Field(description="supports pipeline parallelism (layer split)")
    multi_server: bool = Field(description="one replica may span servers")
    expert_parallel: bool = Field(False, description="can spread a MoE model's routed experts whole over its TP GPUs (EP = TP)")
    source: list[str] = Field(min_length=1)


class MemoryRule(_Strict):
    rule: Literal["fraction_of_total", "fraction_of_free_after_weights", "all_available", "sglang_reserve"] = Field(
        description="how the engine sizes its KV pool (sglang_reserve: SGLang's own formula, solver.predict.memory.sglang_reserved_gib)"
    )
    fraction: float | None = Field(None, gt=0, le=1, description="the default fraction (the fraction rules only)")
    source: list[str] = Field(min_length=1)
    unverified: bool = Field(False, description="value recalled, not read from a stored source")

    @field_validator("fraction")
    @classmethod
    def _fraction_where_used(cls, v: float | None, info: ValidationInfo) -> float | None:
        rule = info.data.get("rule")
        if rule in ("fraction_of_total", "fraction_of_free_after_weights") and v is None:
            raise ValueError(f"rule {rule} needs a fraction")
        if rule in ("all_available", "sglang_reserve") and v is not None:
            raise ValueError(f"rule {rule} takes no fraction (it would be ignored); remove it")
        return v


class GpuRule(_Strict):
    """A default the engine picks by GPU: the first rule of a list that applies."""

    min_gpu_memory_gib: float = Field(0.0, ge=0, description="the rule applies to GPUs with at least this much memory (Gpu.memory_gib_usable)")
    except_gpus_named: list[str] = Field(default_factory=list, description="... and whose id contains none of these (the engine's own name test)")

    def applies(self, gpu: Gpu) -> bool:
        return gpu.memory_gib_usable >= self.min_gpu_memory_gib and not any(n in gpu.id for n in self.except_gpus_named)


def first_applying(rules: list[GpuRule], gpu: Gpu) -> GpuRule | None:
    """The first rule of the list that applies to this GPU (the engine's own order)."""
    return next((r for r in rules if r.applies(gpu)), None)


class RunningCap(GpuRule):
    requests: int = Field(gt=0, description="requests the engine runs at once; the others wait in its queue")


class PoolCap(_Strict):
    """A default cap on running requests derived from the KV pool (SGLang: max_running_requests from
    max_total_num_tokens): min(max(pool tokens / the model's context x per_context, min), max), and at
    most pool tokens / pool_tokens_per_request."""

    requests_per_context_of_pool: float = Field(gt=0, description="requests per model context length's worth of pool tokens")
    min_requests: int = Field(gt=0)
    max_requests: int = Field(gt=0)
    pool_tokens_per_request: float = Field(gt=0, description="the cap is at most the pool's tokens / this")

    @field_validator("max_requests")
    @classmethod
    def _max_at_least_min(cls, v: int, info: ValidationInfo) -> int:
        low = info.data.get("min_requests")
        if low is not None and v < low:
            raise ValueError(f"max_requests {v} is below min_requests {low}")
        return v

    def cap(self, pool_tokens: float, context_len: int) -> int:
        c = min(max(int(pool_tokens / context_len * self.requests_per_context_of_pool), self.min_requests), self.max_requests)
        return max(1, min(c, int(pool_tokens // self.pool_tokens_per_request)))


class TokenBudget(GpuRule):
    tokens: int = Field(gt=0, description="tokens one forward pass carries (prefill chunk plus decode tokens); a longer prompt is prefilled in chunks of it")


class Scheduling(_Strict):
    mixed_prefill: bool = Field(
        description="new prompts' prefill chunks run in the same forward pass as the running requests' decode "
                    "step (one weight read for both); false: a prefill batch runs as a pass of its own")
    max_running: list[RunningCap] = Field(
        default_factory=list,
        description="the engine's default cap on requests running at once, by GPU: the first rule that applies "
                    "(none: what the KV cache holds); max_parallel_requests, when set, overrides it")
    max_running_from_pool: PoolCap | None = Field(
        None, description="the engine's default cap on running requests from its KV pool, where no max_running rule applies")
    token_budget: list[TokenBudget] = Field(
        default_factory=list,
        description="the engine's default tokens per forward pass, by GPU: the first rule that applies (none: "
                    "solver.predict.memory.token_budget's default)")
    source: list[str] = Field(min_length=1)
    unverified: bool = Field(False, description="behaviour recalled, not read from a stored source")


class Launch(_Strict):
    """How the engine is started: the program and the flags (or environment variables) that set what a
    plan assumed.  A knob the engine has no flag for is None."""

    command: str = Field(description="the program and its model argument; {model} = the model's Hugging Face repo")
    env: bool = Field(False, description="knobs are environment variables (NAME=value before the command), not flags")
    tp: str | None = Field(None, description="flag taking the tensor-parallel degree")
    pp: str | None = Field(None, description="flag taking the pipeline-parallel degree")
    ep: str | None = Field(None, description="flag turning expert parallelism on (with ep_takes_degree: taking the EP degree)")
    ep_takes_degree: bool = False
    context: str | None = Field(None, description="flag taking the longest sequence (tokens)")
    context_is_total: bool = Field(False, description="the context flag sizes the whole KV cache, shared by the running requests (llama.cpp)")
    running: str | None = Field(None, description="flag taking the requests run at once")
    memory_fraction: str | None = Field(None, description="flag taking the engine's memory fraction (memory.fraction)")
    kv_fp8: str | None = Field(None, description="flag(s) selecting an FP8 KV cache")
    extra: str | None = Field(None, description="appended as written")
    note: str | None = Field(None, description="what the user must still provide or know")
    source: list[str] = Field(min_length=1)
    unverified: bool = Field(False, description="flags recalled from the engine's documentation, not read from a stored source")


class Engine(_Strict):
    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    hardware: dict[str, Status] = Field(description="runs on hardware class")
    precision: dict[Precision, dict[str, Status]] = Field(description="weight precision x hardware class")
    kv_precision: dict[Precision, dict[str, Status]] = Field(description="KV-cache precision x hardware class")
    features: dict[str, dict[str, Status]] = Field(description="feature x hardware class")
    parallelism: Parallelism
    memory: MemoryRule
    launch: Launch | None = Field(None, description="how to start it with a plan's settings (the recommendation's command)")
    max_parallel_requests: int | None = Field(
        None, description="requests served at once by default (Ollama: 1); None = continuous batching"
    )
    scheduling: Scheduling | None = Field(
        None, description="how prefill shares the GPUs with decoding by default; not stated: a pass of its own "
                          "(the slower assumption)")
    source: list[str] = Field(min_length=1)
    unverified: list[str] = Field(
        default_factory=list,
        description="cells whose status no stored source states, as table.row.key: precision.fp4.nvidia_hopper (a vendor or default key flags every class that reads it)",
    )
    notes: str | None = None

    @field_validator("unverified")
    @classmethod
    def _unverified_cells_exist(cls, paths: list[str], info: ValidationInfo) -> list[str]:
        cells = [f"hardware.{k}" for k in info.data.get("hardware", {})]
        for table in ("precision", "kv_precision", "features"):
            cells += [f"{table}.{row}.{k}" for row, keys in info.data.get(table, {}).items() for k in keys]
        for path in paths:
            if path not in cells:
                raise ValueError(f"'{path}' names no cell this entry sets (table.row.hardware_class, e.g. "
                                 f"precision.fp4.nvidia_hopper).{suggestion(path, cells)}")
        return paths

    def running_cap(self, gpu: Gpu, pool_tokens: float | None = None, context_len: int | None = None) -> int | None:
        """Requests run at once on this GPU: max_parallel_requests if set (Ollama's 1, an overlay, or
        --parallel-requests), else the first scheduling.max_running rule that applies, else the
        scheduling.max_running_from_pool rule when the KV pool's tokens (per GPU) and the model's context
        length are given; None: what the KV cache holds."""
        if self.max_parallel_requests is not None:
            return self.max_parallel_requests
        if self.scheduling is None:
            return None
        rule = first_applying(self.scheduling.max_running, gpu)
        if rule is not None:
            return rule.requests
        pool_rule = self.scheduling.max_running_from_pool
        if pool_rule is not None and pool_tokens is not None and context_len:
            return pool_rule.cap(pool_tokens, context_len)
        return None

    def stated_token_budget(self, gpu: Gpu) -> int | None:
        """Tokens per forward pass on this GPU when the catalog states the engine's default
        (scheduling.token_budget); solver.predict.memory.token_budget resolves the rest."""
        rule = first_applying(self.scheduling.token_budget, gpu) if self.scheduling else None
        return rule.tokens if rule is not None else None

    @property
    def mixes_prefill(self) -> bool:
        """Prefill chunks ride in decode steps (Scheduling.mixed_prefill; False when not stated)."""
        return self.scheduling is not None and self.scheduling.mixed_prefill

    def unverified_cell(self, table: str, row: str, compat_key: str) -> str | None:
        """The flagged cell (table.row.key) the lookup of (table, row) reads for this hardware class, if
        flagged: an exact class, a vendor or the default cell alike.  row is '' for `hardware`."""
        if not self.unverified:
            return None
        cells = self.hardware if table == "hardware" else getattr(self, table).get(row, {})
        key = cell_key(cells, compat_key)
        path = ".".join(x for x in (table, row, key) if x) if key else None
        return path if path in self.unverified else None

    def doubts(self, compat_key: str, precision: str, kv_precision: str, features: tuple[str, ...] | list[str] = ()) -> list[str]:
        """The unverified cells a configuration on this hardware class rests on."""
        cells = [("hardware", ""), ("precision", precision), ("kv_precision", kv_precision), *(("features", f) for f in features)]
        return [c for t, r in cells if (c := self.unverified_cell(t, r, compat_key))]

    def runs_on(self, compat_key: str) -> Status:
        return lookup(self.hardware, compat_key)

    def precision_status(self, p: Precision, compat_key: str) -> Status:
        table = self.precision.get(p)
        return lookup(table, compat_key) if table is not None else "unknown"

    def kv_status(self, p: Precision, compat_key: str) -> Status:
        table = self.kv_precision.get(p)
        return lookup(table, compat_key) if table is not None else "unknown"

    def feature_status(self, feature: str, compat_key: str) -> Status:
        table = self.features.get(feature)
        return lookup(table, compat_key) if table is not None else "unknown"
