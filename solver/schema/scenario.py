"""A customer's requirement, asked the way the guide asks it (model, context, precision, users, ...)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from solver.errors import ScenarioError, suggestion
from solver.schema.precision import Precision, parse_precision

Objective = Literal["cost", "throughput", "latency"]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str | None = Field(None, description="scenario id (batch runs)")
    model: str | None = Field(None, description="catalog id or Hugging Face repo name")
    params_b: float | None = Field(
        None, gt=0, le=100_000, description="parameter count in billions, when the model is not in the catalog"
    )
    context_tokens: int = Field(8192, gt=0, le=10_485_760, description="longest sequence a user may send (max_model_len)")
    input_tokens: int | None = Field(
        None, gt=0, le=10_485_760, description="typical prompt length; default = context_tokens - output_tokens (every user uses the full window)"
    )
    output_tokens: int = Field(512, gt=0, le=10_485_760, description="typical generated tokens per request")
    precision: Precision = Field(Precision.bf16, description="weight precision")
    kv_precision: Precision | None = Field(None, description="KV-cache precision; default: 16-bit (bf16, or fp16 with fp16 weights or where the engine or GPU has no bf16)")
    users: int = Field(1, ge=1, le=10_000_000, description="concurrent users (requests in flight)")
    engine: str = Field("any", description="inference server id, or 'any'")
    features: list[str] = Field(default_factory=list, description="engine features the deployment needs")
    min_tokens_per_s_per_user: float | None = Field(None, ge=0, le=1e6, description="streaming speed each user must get; without any speed target, a reading speed is assumed (solver.plan.recommend.READING_TOKENS_PER_S); 0 = no floor")
    min_total_tokens_per_s: float | None = Field(None, gt=0, le=1e12, description="aggregate output tokens/s")
    max_ttft_ms: float | None = Field(None, gt=0, le=1e9, description="time to first token limit, ms")
    max_tpot_ms: float | None = Field(None, gt=0, le=1e9, description="time per output token limit, ms")
    budget_per_hour: float | None = Field(None, gt=0, le=1e9, description="cost cap per hour, in `currency`")
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="prices considered; servers priced in another currency are skipped for cost")
    allowed_vendors: list[str] | None = Field(None, description="nvidia / amd / intel")
    allowed_providers: list[str] | None = None
    allowed_gpus: list[str] | None = Field(None, description="GPU ids or aliases")
    allowed_servers: list[str] | None = Field(None, description="server ids")
    load: Literal["steady", "bursty"] = Field("steady", description="steady, or bursty with a peak factor")
    peak_factor: float = Field(1.0, ge=1.0, le=100.0, description="peak users / average users (bursty load)")
    objectives: list[Objective] = Field(default_factory=lambda: ["cost", "throughput"], min_length=1, max_length=3)
    cost_unit: Literal["per_hour", "per_month", "per_million_tokens"] = "per_hour"
    latency_metric: Literal["tpot", "ttft"] = "tpot"
    allow_fallback_precision: bool = Field(False, description="accept GPUs that run the precision only via a slower fallback")
    allow_multi_server: bool = Field(False, description="let one replica span several servers (option E)")
    max_servers: int = Field(64, ge=1, le=100_000, description="servers the deployment may use")
    memory_rule: Literal["exact", "guide"] = Field("exact", description="architecture-aware memory or the guide's rule")
    convert_prices: bool = Field(True, description="also weigh servers priced in another currency, converted at the catalog's exchange_rates (each converted price is noted); false: only servers priced in `currency`")
    full_front: bool = Field(False, description="every Pareto-optimal configuration; default: at most 8, spread along the front and cut where more cost buys little throughput")

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, v: object) -> object:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("load", "cost_unit", "latency_metric", "memory_rule", "engine", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("precision", "kv_precision", mode="before")
    @classmethod
    def _precision(cls, v: object) -> object:
        return parse_precision(str(v)) if v is not None and not isinstance(v, Precision) else v

    @field_validator("objectives", mode="before")
    @classmethod
    def _objectives(cls, v: object) -> object:
        if isinstance(v, str):
            v = [x.strip() for x in v.split(",") if x.strip()]
        return [x.strip().lower() if isinstance(x, str) else x for x in v] if isinstance(v, list) else v

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if self.model is None and self.params_b is None:
            raise ValueError("give the model (catalog id or Hugging Face name) or its parameter count (params_b)")
        if len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"objectives repeat: {self.objectives}")
        if self.input_tokens is not None and self.input_tokens + self.output_tokens > self.context_tokens:
            raise ValueError(
                f"input_tokens + output_tokens ({self.input_tokens} + {self.output_tokens}) exceed context_tokens ({self.context_tokens})"
            )
        if self.input_tokens is None and self.output_tokens >= self.context_tokens:
            raise ValueError(f"output_tokens ({self.output_tokens}) must be below context_tokens ({self.context_tokens})")
        return self

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens if self.input_tokens is not None else self.context_tokens - self.output_tokens

    @property
    def peak_users(self) -> int:
        import math

        return math.ceil(self.users * (self.peak_factor if self.load == "bursty" else 1.0) - 1e-9)


#: field names other commands used before the vocabulary was one (estimate, memory): accepted, with a notice
FIELD_ALIASES = {"context": "context_tokens", "input_len": "input_tokens", "output_len": "output_tokens",
                 "concurrency": "users"}


def canonical_fields(data: dict) -> tuple[dict, list[str]]:
    """`data` with old field names renamed (FIELD_ALIASES), and a notice for each; a field given under
    both names is an error (ValueError)."""
    out, notices = dict(data), []
    for old, new in FIELD_ALIASES.items():
        if old in out:
            if new in out:
                raise ValueError(f"'{old}' is the old name of '{new}': give one of them, not both")
            out[new] = out.pop(old)
            notices.append(f"'{old}' is now called '{new}' (the old name is accepted for now)")
    return out, notices


def format_validation(err: ValidationError, where: str) -> str:
    lines = []
    fields = list(Scenario.model_fields)
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(scenario)"
        if e["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown field '{loc}'.{suggestion(str(e['loc'][-1]), fields)}")
        else:
            got = "" if e["type"] == "missing" or not e["loc"] else f" (got {e.get('input')!r})"
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {loc}: {msg}{got}")
    return "\n".join(lines)


def build_scenario(data: dict[str, Any], where: str = "scenario", notices: list[str] | None = None) -> Scenario:
    """A validated Scenario; old field names are renamed, with a notice appended to `notices`."""
    try:
        data, renamed = canonical_fields(data)
    except ValueError as e:
        raise ScenarioError(f"{where}: {e}") from None
    if notices is not None:
        notices.extend(renamed)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(format_validation(e, where)) from None
