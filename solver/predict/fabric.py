"""The links a replica's GPUs talk over, derived from its server, and the cost of an all-reduce on them.

GB/s are per direction; latencies in microseconds.  A TP group inside the server's fast domain
(NVLink/NVSwitch/xGMI) uses it; otherwise PCIe; a group larger than a server uses the network.  A
fast domain may span servers (GB200 NVL72: trays of 4 GPUs, one NVLink domain of 72): a replica
inside it talks over NVLink however many servers it takes, and needs no network.
The all-reduce is a ring: 2(n-1)/n x bytes / bus bandwidth + latency x 2 ceil(log2 n), the bus
bandwidth on a fast fabric its measured share of the links' rate (NCCL/RCCL/HCCL ring all-reduces at
0.71-0.98 of it: reference/achievable.yaml via Gpu.attainable.allreduce; 1 where none is known).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from solver.schema.hardware import Gpu, Server

PCIE_GBS = {3: 16.0, 4: 32.0, 5: 64.0, 6: 128.0}  # per direction, x16 link, by PCIe generation
PCIE_LATENCY_US = 10.0


@dataclass(frozen=True)
class Fabric:
    """Links a replica's GPUs use, derived from its server (GB/s per direction, microseconds)."""

    kind: str
    intra_gbs: float
    intra_latency_us: float
    fast_domain: int
    pcie_gbs: float
    gpus_per_server: int
    net_gbs: float | None
    net_latency_us: float | None
    allreduce_share: float = 1.0  # of the fast fabric's rate a ring all-reduce attains (Gpu.attainable.allreduce)


def fabric_of(server: Server, gpu: Gpu) -> Fabric:
    ic, net = server.interconnect, server.network
    return Fabric(
        kind=ic.kind,
        intra_gbs=ic.per_gpu_gbs,
        intra_latency_us=ic.latency_us,
        fast_domain=ic.fast_domain_gpus,
        pcie_gbs=PCIE_GBS.get(gpu.pcie_gen or 4, 32.0),
        gpus_per_server=server.gpu_count,
        net_gbs=net.gbps_per_gpu / 8 if net else None,
        net_latency_us=net.latency_us if net else None,
        allreduce_share=(gpu.attainable.allreduce if gpu.attainable and gpu.attainable.allreduce else 1.0),
    )


def in_fast_domain(kind: str, fast_domain: int, gpus: int) -> bool:
    """`gpus` GPUs all joined by the fast fabric (NVLink/NVSwitch/xGMI), within one server or a domain spanning several."""
    return kind not in ("none", "pcie") and gpus <= max(fast_domain, 1)


#: fabrics without a switch: each GPU's links are split evenly over the other GPUs of the domain (any to any)
MESH_KINDS = ("nvlink_mesh", "infinity_fabric", "roce_mesh")


def group_gbs(f: Fabric, n: int) -> float:
    """Per-GPU GB/s (per direction) a group of n GPUs of the fast domain has among themselves.  Behind a
    switch, all of it; in a full mesh, only the links to the group's other n-1 GPUs: (n-1)/(N-1) of it
    for a domain of N (reference/hardware.yaml platforms: MI300X 7 x 64 GB/s, one link per pair; HGX 4-GPU
    boards 6 NVLinks per pair; Gaudi 3 three 200GbE ports per pair).  Two MI300X of an 8-GPU mesh
    all-reduce at 47.7 GB/s (reference/achievable.yaml): one link, not the 448 GB/s of all seven."""
    if f.kind in MESH_KINDS and f.fast_domain > 1:
        return f.intra_gbs * (min(n, f.fast_domain) - 1) / (f.fast_domain - 1)
    return f.intra_gbs


def tp_link(f: Fabric, tp: int) -> tuple[float, float, str]:
    """(GB/s, latency us, name) an all-reduce of a TP group of `tp` GPUs runs at: on the fast fabric, the
    bus bandwidth the GPU's all-reduces attain on it (its attainable share of the links' rate)."""
    if in_fast_domain(f.kind, f.fast_domain, tp):
        return group_gbs(f, tp) * f.allreduce_share, f.intra_latency_us, f.kind
    if tp <= f.gpus_per_server:
        return f.pcie_gbs, PCIE_LATENCY_US, "pcie"
    return min(f.net_gbs or 1e-9, f.intra_gbs or f.pcie_gbs), f.net_latency_us or 50.0, "network"


@dataclass(frozen=True)
class Links:
    """All a layout's speed uses of its fabric: its TP group's link and, with PP, the stages' point-to-point
    link (GB/s per direction, us).  Servers whose links a layout uses alike (any two for TP1 PP1) give
    equal Links, so the planner evaluates one speed model for all of them."""

    tp_gbs: float
    tp_latency_us: float
    p2p_gbs: float
    p2p_latency_us: float


def links_of(f: Fabric, tp: int, pp: int) -> Links:
    tp_gbs, tp_lat = tp_link(f, tp)[:2] if tp > 1 else (1.0, 0.0)  # one GPU all-reduces nothing
    if pp > 1:  # over the network when the replica spans servers beyond the fast domain
        across = tp * pp > f.gpus_per_server and not in_fast_domain(f.kind, f.fast_domain, tp * pp)
        p2p_gbs = (f.net_gbs or 1e-9) if across else (group_gbs(f, 2) if f.kind not in ("none", "pcie") else f.pcie_gbs)
        p2p_lat = (f.net_latency_us or 50.0) if across else PCIE_LATENCY_US
    else:
        p2p_gbs, p2p_lat = 1.0, 0.0
    return Links(tp_gbs, tp_lat, p2p_gbs, p2p_lat)


def allreduce_s(n: int, nbytes: float, gbs: float, latency_us: float) -> float:
    if n <= 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / (gbs * 1e9) + latency_us * 1e-6 * 2 * math.ceil(math.log2(n))
