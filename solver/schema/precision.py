"""Numeric formats: the product's precision vocabulary, bytes per value and quantization overheads.

Weight precisions follow the guide's precision factor (FP32 4, FP16/BF16 2, FP8 1, FP4 0.5 bytes per
parameter; INT8 1 and INT4 0.5 added as standard) plus the storage of quantization scales:
- fp8: one FP32 scale per 128x128 block (DeepSeek-V3 / Qwen3-FP8 checkpoints): 4 B / 16384 params;
- int4: AWQ/GPTQ default group size 128 with an FP16 scale and zero point: 4 B / 128 params;
- fp4: NVFP4, one FP8 (E4M3) scale per 16 values (reference/hardware.yaml, B200 `fp4_formats`):
  1 B / 16 params (MXFP4's E8M0 scale per 32 values is half of that; the larger is used).
"""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"
    fp8 = "fp8"
    int8 = "int8"
    int4 = "int4"
    fp4 = "fp4"


#: bytes per stored value
BYTES_PER_VALUE: dict[Precision, float] = {
    Precision.fp32: 4.0,
    Precision.fp16: 2.0,
    Precision.bf16: 2.0,
    Precision.fp8: 1.0,
    Precision.int8: 1.0,
    Precision.int4: 0.5,
    Precision.fp4: 0.5,
}

#: extra bytes per parameter for quantization scales (see module docstring)
SCALE_BYTES_PER_PARAM: dict[Precision, float] = {
    Precision.fp32: 0.0,
    Precision.fp16: 0.0,
    Precision.bf16: 0.0,
    Precision.fp8: 4.0 / (128 * 128),
    Precision.int8: 0.0,
    Precision.int4: 4.0 / 128,
    Precision.fp4: 1.0 / 16,
}

#: sub-16-bit weight formats keep embeddings and the LM head in 16 bits (modules_to_not_convert)
QUANTIZED = {Precision.fp8, Precision.int8, Precision.int4, Precision.fp4}

#: the guide's precision factor in GB per billion parameters (its rule of thumb; no scale overhead)
GUIDE_FACTOR_GB_PER_B: dict[Precision, float] = dict(BYTES_PER_VALUE)

ALIASES: dict[str, Precision] = {
    "float32": Precision.fp32,
    "half": Precision.fp16,
    "float16": Precision.fp16,
    "bfloat16": Precision.bf16,
    "e4m3": Precision.fp8,
    "fp8_e4m3": Precision.fp8,
    "w8a8": Precision.int8,
    "awq": Precision.int4,
    "gptq": Precision.int4,
    "w4a16": Precision.int4,
    "nvfp4": Precision.fp4,
    "mxfp4": Precision.fp4,
    "q8_0": Precision.int8,
    "q4_k_m": Precision.int4,
}


def parse_precision(text: str) -> Precision:
    """Parse a precision name or common alias; raise ValueError with the valid names."""
    from solver.errors import suggestion

    t = str(text).strip().lower()
    if t in Precision.__members__:
        return Precision(t)
    if t in ALIASES:
        return ALIASES[t]
    valid = list(Precision.__members__) + list(ALIASES)
    raise ValueError(f"unknown precision '{text}'.{suggestion(t, valid)} Valid: {', '.join(Precision.__members__)}")


def weight_bytes_per_param(p: Precision) -> float:
    return BYTES_PER_VALUE[p] + SCALE_BYTES_PER_PARAM[p]
