"""What the planner chooses among: a replica *shape* (server SKU, engine, TP/PP/EP) and an *option*
(a shape with a replica count: the users each replica carries, servers, and the speed there), and the
enumeration's result (shapes, options, and why the others were rejected).

Units: GiB for memory, currency per hour for prices (the scenario's currency), ms for latencies.
"""


from __future__ import annotations

import math
from dataclasses import dataclass, field

from solver.plan.scaling import HOURS_PER_MONTH
from solver.predict.speed import Perf
from solver.schema.engine import Engine
from solver.schema.hardware import Gpu, Server
from solver.schema.llm import LlmModel
from solver.schema.precision import Precision

MAX_REPLICA_SERVERS = 16  # a replica spans at most this many servers


@dataclass(frozen=True)
class Shape:
    key: str
    server: Server
    gpu: Gpu
    engine: Engine
    tp: int
    pp: int
    gpus_per_replica: int
    servers_per_replica: int  # 1 when the replica fits in one server
    replicas_per_server: int  # >= 1 when the replica fits in one server, else 0
    precision_path: str  # native | fallback
    precision_note: str | None
    kv_precision: Precision
    feature_problem: str | None  # a required feature the engine lacks on this GPU
    price_per_hour: float | None  # per server, in the scenario's currency; None = unknown there
    kv_pool_gib: float
    max_users_memory: int
    calibrated: bool
    band: tuple[tuple[float, float], tuple[float, float]]  # (ttft lo/hi factors, tpot lo/hi factors)
    ep: int  # expert-parallel degree: the routed experts spread whole over ep of the TP GPUs (1: split by TP)

    # requests a replica runs at once (the memory plan's Engine.running_cap on this GPU and KV pool; None:
    # what the KV cache holds), held here: the planner asks per option, hundreds of thousands of times per batch
    running_cap: int | None = field(compare=False)
    price_note: str | None = field(default=None, compare=False)  # how a price in another currency was converted

    def running(self, users: int) -> int:
        """Of `users` on one replica, those running at once (the rest queue past the engine's cap)."""
        return users if self.running_cap is None else min(users, self.running_cap)

    @property
    def spans_servers(self) -> bool:
        return self.servers_per_replica > 1

    @property
    def interconnect(self) -> str:
        if self.spans_servers:
            return f"{self.server.interconnect.kind} + {self.server.network.kind if self.server.network else 'network'}"
        return self.server.interconnect.kind

    def servers_for(self, replicas: int) -> int:
        if self.spans_servers:
            return replicas * self.servers_per_replica
        return math.ceil(replicas / self.replicas_per_server)

    def replicas_in(self, servers: int) -> int:
        """The most replicas `servers` whole servers hold."""
        if self.spans_servers:
            return servers // self.servers_per_replica
        return servers * self.replicas_per_server


def even_split(users: int, replicas: int) -> tuple[int, int, int]:
    """(users of the busier replicas, users of the others, how many are busier): `users` spread over
    `replicas` as evenly as whole users allow (a load balancer's least-connections spread)."""
    low, extra = divmod(users, replicas)
    return (low + 1 if extra else low), low, extra


@dataclass(slots=True)  # not frozen: built hundreds of thousands of times per batch, and frozen construction costs ~5x
class Option:
    """A shape with `replicas` replicas carrying `users` users, spread evenly (even_split): latency,
    per-user speed and KV need are the busiest replica's (users_per_replica), the throughput is every
    replica's at the load it really carries."""

    shape: Shape
    users_per_replica: int  # the busiest replica's users
    replicas: int
    servers: int
    kv_need_gib: float  # per GPU, at users_per_replica
    perf: Perf  # the busiest replica's
    total_tokens_per_s: float
    users: int  # users carried in all (the scenario's peak)

    @property
    def gpus(self) -> int:
        return self.replicas * self.shape.gpus_per_replica

    @property
    def cost_per_hour(self) -> float | None:
        p = self.shape.price_per_hour
        return None if p is None else p * self.servers

    def cost(self, unit: str) -> float | None:
        c = self.cost_per_hour
        if c is None:
            return None
        if unit == "per_month":
            return c * HOURS_PER_MONTH
        if unit == "per_million_tokens":
            return c / (self.total_tokens_per_s * 3600) * 1e6 if self.total_tokens_per_s > 0 else math.inf
        return c

    @property
    def idle_slots(self) -> int:
        """GPUs of the rented servers that no replica uses."""
        return self.servers * self.shape.server.gpu_count - self.gpus


@dataclass
class Candidates:
    model: LlmModel
    shapes: list[Shape]
    options: list[Option]
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (shape description, reason)
    presolved: list[tuple[str, str]] = field(default_factory=list)  # shapes a family removed before evaluation
    peak_users: int = 1
    # configurations screened out unevaluated: for each, a subset of the families every one of them breaks
    # (the explanation's conflict search counts them; see _add_options)
    blocked: set[frozenset[str]] = field(default_factory=set)
    screened_shapes: int = 0  # shapes too slow even with one user per replica
    screened_counts: int = 0  # replica counts too few for the service targets (never built)
    single_user: list[Option] = field(default_factory=list)  # each shape at one user per replica, when a service target is set
