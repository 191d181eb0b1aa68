"""LLM architectures: the numbers that set memory (weights, KV cache) and work per token."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from solver.schema.precision import Precision


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Moe(_Strict):
    experts: int = Field(gt=0, description="routed experts per MoE layer")
    experts_per_token: int = Field(gt=0, description="routed experts each token uses")
    shared_experts: int = Field(0, ge=0, description="always-active shared experts")
    moe_layers: int = Field(gt=0, description="layers that are MoE")
    expert_intermediate_size: int = Field(gt=0, description="FFN width of one expert")


class Mla(_Strict):
    kv_lora_rank: int = Field(gt=0, description="latent KV rank cached per token per layer")
    qk_rope_head_dim: int = Field(gt=0, description="decoupled RoPE key dims cached per token per layer")
    qk_nope_head_dim: int = Field(gt=0)
    v_head_dim: int = Field(gt=0)


class SlidingWindow(_Strict):
    local_layers: int = Field(gt=0, description="layers with local (sliding/chunked) attention")
    window_tokens: int = Field(gt=0, description="tokens a local layer attends to (and caches)")


class LinearAttention(_Strict):
    """Linear-attention layers (Gated DeltaNet: Qwen3-Next, Qwen3.5): instead of a KV cache growing with
    the context, each sequence keeps a fixed recurrent state per layer — per value head a key_head_dim x
    value_head_dim matrix, plus the last conv_kernel - 1 inputs of a short convolution over q, k, v.  A
    decode step reads and rewrites that state; its work per token does not grow with the context."""

    layers: int = Field(gt=0, description="layers with linear attention (the rest are full attention)")
    key_heads: int = Field(gt=0, description="config linear_num_key_heads")
    value_heads: int = Field(gt=0, description="config linear_num_value_heads")
    key_head_dim: int = Field(gt=0)
    value_head_dim: int = Field(gt=0)
    conv_kernel: int = Field(gt=1, description="config linear_conv_kernel_dim")
    state_bytes_per_value: float = Field(gt=0, description="recurrent state format (config mamba_ssm_dtype: float32 = 4)")
    conv_bytes_per_value: float = Field(gt=0, description="convolution state format (the model dtype: 2)")
    source: list[str] = Field(min_length=1)

    @property
    def conv_dim(self) -> int:
        return 2 * self.key_heads * self.key_head_dim + self.value_heads * self.value_head_dim

    @property
    def state_bytes_per_sequence(self) -> float:
        """One sequence's state over all linear layers, whole model (SGLang's mamba_cache_per_req x TP)."""
        recurrent = self.value_heads * self.key_head_dim * self.value_head_dim * self.state_bytes_per_value
        conv = self.conv_dim * (self.conv_kernel - 1) * self.conv_bytes_per_value
        return self.layers * (recurrent + conv)


class SparseAttention(_Strict):
    """DeepSeek Sparse Attention (DeepSeek-V3.2, GLM-5): a small "lightning indexer" scores every
    cached token for each query and the MLA attention reads only the `top_k_tokens` best.  The
    indexer keeps a key of its own per token and layer (its cache), so the KV stored still grows with
    the context while the latents read per query stop at top_k."""

    top_k_tokens: int = Field(gt=0, description="tokens each query attends to (config index_topk)")
    indexer_heads: int = Field(gt=0, description="indexer query heads (config index_n_heads)")
    indexer_head_dim: int = Field(gt=0, description="indexer key/query width (config index_head_dim)")
    indexer_cache_bytes_per_token: float = Field(
        gt=0, description="indexer cache per token per layer, bytes: its key in FP8 plus an FP32 scale per 128 values "
                          "whatever the KV-cache format (SGLang NSATokenToKVPool)")
    source: list[str] = Field(min_length=1)


class Checkpoint(_Strict):
    """How the model's own published weights are quantised, where that is not the uniform format: gpt-oss
    ships MXFP4 experts (4 bits + one E8M0 scale byte per 32 values) and keeps every other matrix in BF16."""

    precision: Precision = Field(description="the weight precision this describes (a user asking for it gets this layout)")
    modules: Literal["experts"] = Field(description="which weights are in `precision`; the rest of the body stays 16-bit")
    scale_bytes_per_param: float = Field(ge=0, description="block-scale bytes per quantised value (MXFP4: 1/32)")
    source: list[str] = Field(min_length=1)


class LlmModel(_Strict):
    id: str
    name: str
    hf_repo: str | None = Field(None, description="Hugging Face repo, accepted as an alias")
    aliases: list[str] = Field(default_factory=list)
    family: str = Field(description="dense, moe, mla, llama4, gptoss, ...")
    params_total: int = Field(gt=0, description="all weights counted once (all experts), excluding MTP/vision")
    params_nominal_b: float = Field(gt=0, description="parameter count in the model's name, billions (the guide's rule uses it)")
    params_active: int = Field(gt=0, description="weights used per token (incl. input embedding)")
    embedding_params: int = Field(ge=0, description="input embedding table")
    tie_word_embeddings: bool
    layers: int = Field(gt=0)
    hidden_size: int = Field(gt=0)
    intermediate_size: int = Field(gt=0)
    attention_heads: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0, description="per-head dim of K and V (MLA: qk_nope + qk_rope)")
    vocab_size: int = Field(gt=0)
    native_context: int = Field(gt=0, description="tokens")
    attention_type: Literal["MHA", "GQA", "MQA", "MLA"]
    mla: Mla | None = None
    sliding_window: SlidingWindow | None = None
    sparse_attention: SparseAttention | None = Field(None, description="DeepSeek Sparse Attention (needs MLA)")
    linear_attention: LinearAttention | None = Field(None, description="linear-attention layers of a hybrid model")
    moe: Moe | None = None
    checkpoint: Checkpoint | None = Field(None, description="the published weights' own quantisation layout")
    published_precision: Precision | None = Field(
        None, description="the weight format the checkpoint ships (from its config.json's quantization_config); a scenario that names no precision uses it")
    kv_bytes_per_token_bf16: int = Field(
        gt=0, description="reference figure: 16-bit KV bytes per token over full-attention layers"
    )
    supports_pp: bool = Field(True, description="pipeline parallelism implemented for this architecture")
    source: list[str] = Field(min_length=1)
    unverified: list[str] = Field(default_factory=list)
    notes: str | None = None

    @field_validator("linear_attention")
    @classmethod
    def _some_layers_attend_fully(cls, v: LinearAttention | None, info: ValidationInfo) -> LinearAttention | None:
        if v is not None and v.layers >= info.data.get("layers", 0):
            raise ValueError(f"linear_attention.layers ({v.layers}) must leave full-attention layers out of {info.data.get('layers')}")
        return v

    @field_validator("sparse_attention")
    @classmethod
    def _sparse_needs_mla(cls, v: SparseAttention | None, info: ValidationInfo) -> SparseAttention | None:
        if v is not None and info.data.get("mla") is None:
            raise ValueError("sparse_attention (DSA) selects tokens for MLA attention: set mla, or drop sparse_attention")
        return v

    @field_validator("checkpoint")
    @classmethod
    def _experts_need_moe(cls, v: Checkpoint | None, info: ValidationInfo) -> Checkpoint | None:
        if v is not None and v.modules == "experts" and info.data.get("moe") is None:
            raise ValueError("modules: experts needs a MoE model (set moe, or drop checkpoint)")
        return v

    @property
    def global_layers(self) -> int:
        """Layers with full attention over the whole context (neither sliding-window nor linear)."""
        return (self.layers - (self.sliding_window.local_layers if self.sliding_window else 0)
                - (self.linear_attention.layers if self.linear_attention else 0))

    @property
    def layer_features(self) -> tuple[str, ...]:
        """Engine features (schema.engine.FEATURES) that serving this model needs: its layer kinds that
        engines implement only recently and not all (DSA, linear attention)."""
        return (("sparse_attention",) if self.sparse_attention else ()) + (("linear_attention",) if self.linear_attention else ())

    @property
    def lm_head_params(self) -> int:
        """The LM head's own weights (none when it reuses the input embedding: tied)."""
        return 0 if self.tie_word_embeddings else self.embedding_params

    @property
    def head_matmul_params(self) -> int:
        """The LM head's matmul (vocab x hidden), tied or not: once per token turned into logits."""
        return self.vocab_size * self.hidden_size
