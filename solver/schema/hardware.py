"""Accelerators and the servers that carry them (the unit one rents or buys)."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: hardware classes used by the engine compatibility tables (reference/engines.yaml `hardware_keys`)
CompatKey = Literal[
    "nvidia_volta",
    "nvidia_turing",
    "nvidia_ampere",
    "nvidia_ada",
    "nvidia_hopper",
    "nvidia_blackwell_dc",
    "nvidia_blackwell_rtx",
    "amd_mi200",
    "amd_mi300",
    "amd_mi350",
    "intel_gaudi",
]
COMPAT_KEYS: tuple[str, ...] = get_args(CompatKey)
Vendor = Literal["nvidia", "amd", "intel"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ScaleUpLink(_Strict):
    type: str = Field(description="GPU-to-GPU link of the device: none, NVLink, NVLink bridge, Infinity Fabric, RoCE")
    bandwidth_gbs_bidir: float | None = Field(ge=0, le=1e5, description="per-GPU aggregate link bandwidth, GB/s, both directions summed")
    max_gpus: int | None = Field(None, description="largest group the link joins without a switch (bridges), if limited")


class Attainable(_Strict):
    """Shares of the datasheet peaks this GPU reaches in microbenchmarks: what its hardware can do, on
    which the engines' fitted efficiencies sit (solver.predict.attainable)."""

    gemm_16bit: float | None = Field(None, gt=0, le=1.2, description="large dense BF16/FP16 GEMMs, share of the dense 16-bit peak; None: not measured")
    gemm_8bit: float | None = Field(None, gt=0, le=1.2, description="large dense FP8 GEMMs, share of the dense FP8 peak; None: not measured or no FP8 units")
    hbm: float | None = Field(None, gt=0, le=1.2, description="memory streaming, share of the peak memory bandwidth; None: not measured")
    allreduce: float | None = Field(None, gt=0, le=1.2, description="a large ring all-reduce's bus bandwidth over the GPU-to-GPU fabric, share of its per-direction rate; None: not measured")
    borrowed: list[Literal["gemm_16bit", "gemm_8bit", "hbm", "allreduce"]] = Field(
        default_factory=list, description="the figures taken from an architecture sibling, not measured on this GPU (or the "
                                          "same silicon); the GPU's band widens for them off the fit")
    source: list[str] = Field(min_length=1)


class Gpu(_Strict):
    id: str = Field(description="catalog id, e.g. h100-sxm-80gb")
    name: str = Field(description="marketing name")
    aliases: list[str] = Field(default_factory=list, description="other names accepted on the command line")
    vendor: Vendor = Field(description="nvidia, amd or intel")
    architecture: str = Field(description="micro-architecture, e.g. Hopper, CDNA 3")
    compat_key: CompatKey = Field(description="hardware class used by the engine compatibility tables")
    compute_capability: str | None = Field(description="CUDA compute capability or AMD gfx id; None for Gaudi")
    memory_gb_labelled: float = Field(gt=0, le=1e5, description="vendor-labelled memory, GB as printed on the datasheet")
    memory_gib_usable: float = Field(gt=0, le=1e5, description="device memory the runtime can address, GiB (before runtime reserves)")
    memory_bandwidth_tbs: float = Field(gt=0, le=1e3, description="peak DRAM/HBM bandwidth, TB/s (decimal)")
    dense_tflops: dict[str, Annotated[float, Field(gt=0, le=1e6)] | None] = Field(
        description="peak dense tensor throughput per format, TFLOPS (TOPS for int8/int4); None = not supported"
    )
    native_precisions: list[str] = Field(description="formats the tensor/matrix units run natively")
    form_factor: str = Field(description="SXM, OAM, PCIe ...")
    tdp_w: float = Field(gt=0, le=1e5, description="maximum board/module power, W")
    scale_up_link: ScaleUpLink = Field(description="the device's own GPU-to-GPU link")
    pcie_gen: int | None = Field(ge=1, le=9, description="host PCIe generation")
    release_year: int = Field(description="first general availability")
    source: list[str] = Field(min_length=1, description="where the numbers come from")
    unverified: list[str] = Field(default_factory=list, description="fields whose values could not be confirmed")
    notes: str | None = Field(None, description="free text")
    attainable: Attainable | None = Field(None, description="microbenchmarked shares of the peaks; None: no measurement on this architecture")


InterconnectKind = Literal["none", "pcie", "nvlink_bridge", "nvswitch", "nvlink_mesh", "infinity_fabric", "roce_mesh"]


class Interconnect(_Strict):
    kind: InterconnectKind = Field(description="intra-server GPU fabric")
    per_gpu_gbs: float = Field(ge=0, le=1e5, description="per-GPU bandwidth available to collectives, GB/s per direction")
    fast_domain_gpus: int = Field(ge=0, le=100_000, description="GPUs joined by the fast fabric (NVLink/NVSwitch/IF); PCIe = all")
    latency_us: float = Field(ge=0, le=1e6, description="one-way small-message latency of the fabric, microseconds (model parameter)")

    @model_validator(mode="after")
    def _links_carry_data(self) -> Interconnect:
        if self.kind != "none" and self.per_gpu_gbs <= 0:
            raise ValueError(f"a {self.kind} fabric needs per_gpu_gbs > 0 (got {self.per_gpu_gbs}); kind 'none' is a server without one")
        return self


class Network(_Strict):
    kind: Literal["infiniband", "ethernet", "roce"] = Field(description="inter-server network")
    gbps_per_gpu: float = Field(gt=0, le=1e6, description="scale-out bandwidth per GPU, Gb/s (decimal)")
    latency_us: float = Field(ge=0, le=1e6, description="one-way latency between servers, microseconds (model parameter)")


class Price(_Strict):
    amount_per_hour: float = Field(gt=0, le=1e6, description="price per server-hour in `currency`")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")
    observed: str = Field(description="when the source recorded the price")
    source: str = Field(description="where the price comes from")


class Purchase(_Strict):
    amount: float = Field(gt=0, le=1e10, description="purchase price of one server in `currency`")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    observed: str
    source: str


class Server(_Strict):
    id: str = Field(description="catalog id (SKU)")
    name: str = Field(description="human name")
    provider: str = Field(description="cloud provider, or 'purchase' for a platform one buys")
    gpu: str = Field(description="id of the GPU it carries")
    gpu_count: Literal[1, 2, 4, 8, 16] = Field(description="GPUs per server")
    interconnect: Interconnect
    network: Network | None = Field(description="inter-server network; None = not documented (no multi-server)")
    price: Price | None = Field(None, description="rental price; None = unknown (never invented)")
    purchase: Purchase | None = Field(None, description="purchase price, when a source gives one")
    power_kw: float | None = Field(None, gt=0, le=1e4, description="server power draw, kW (for buy-instead-of-rent)")
    stock: int | None = Field(None, ge=0, description="servers available (what-if stock limit); None = unlimited")
    source: list[str] = Field(min_length=1)
    unverified: list[str] = Field(default_factory=list)
    notes: str | None = None
