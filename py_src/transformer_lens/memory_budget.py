"""One memory budget for everything that grows with batch x positions: caches, KV caches, sweeps.

``max_memory_mb`` means the same thing wherever it is accepted (``run_with_cache``, ``generate``,
the patching functions): the most megabytes (MiB, 2**20 bytes) the call may hold in the
tensors it keeps or stacks, on the device those tensors live on. Left at ``None`` it is the
memory free on that device right now (``torch.cuda.mem_get_info`` plus what PyTorch's caching
allocator holds unused, on CUDA; available RAM on the CPU), so a call that could never fit
fails at once with the numbers instead of being killed half-way; an explicit value is also
capped at that free memory. Sizes are computed from the config and the input's shape before
anything runs (nothing is allocated to find out); docs/scaling.md says what each budget covers.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Union

import torch

from transformer_lens import hook_names

MIB = 2**20


def check_memory_mb(value: Any, name: str = "max_memory_mb") -> Optional[float]:
    """``value`` if it is None or a positive finite number of megabytes; otherwise a one-line ValueError."""
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of megabytes, got {value!r}")
    return float(value)


def format_mib(nbytes: float) -> str:
    return f"{nbytes / MIB:,.1f} MiB" if nbytes >= MIB / 10 else f"{int(nbytes):,} bytes"


def available_bytes(device: Union[str, torch.device, None]) -> Optional[int]:
    """Bytes a new allocation can get on ``device`` now, or None where that is unknowable (meta, mps)."""
    device = torch.device(device if device is not None else "cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return None
        free, _ = torch.cuda.mem_get_info(device)
        # Blocks PyTorch reserved but does not use are free to it, though not to the driver.
        unused = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + max(unused, 0))
    if device.type == "cpu":
        return _available_ram()
    return None


def _available_ram() -> Optional[int]:
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # psutil is optional: read the kernel's own estimate
        try:
            with open("/proc/meminfo") as meminfo:
                for line in meminfo:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None


@dataclass(frozen=True)
class MemoryBudget:
    """How many bytes a call may hold on ``device``; ``limit_bytes=None`` means no known limit.

    ``source`` says where the number came from, for error messages.
    """

    limit_bytes: Optional[int]
    device: torch.device
    source: str

    @classmethod
    def resolve(
        cls,
        max_memory_mb: Optional[float],
        device: Union[str, torch.device, None],
        default_mb: Optional[float] = None,
        name: str = "max_memory_mb",
    ) -> "MemoryBudget":
        """The budget on ``device``: ``max_memory_mb`` (else ``default_mb``) capped at the free memory there."""
        requested = check_memory_mb(max_memory_mb, name)
        device = torch.device(device if device is not None else "cpu")
        free = available_bytes(device)
        free_text = f"free memory on {device} ({format_mib(free)})" if free is not None else ""
        if requested is None and default_mb is not None:
            requested, label = float(default_mb), f"the default {name}={default_mb:g}"
        else:
            label = f"{name}={max_memory_mb:g}" if requested is not None else ""
        if requested is None:
            return cls(free, device, free_text or f"no limit known on {device}")
        asked = int(requested * MIB)
        if free is not None and free < asked:
            return cls(free, device, f"{free_text}, below {label}")
        return cls(asked, device, label)

    def fits(self, nbytes: int) -> bool:
        return self.limit_bytes is None or nbytes <= self.limit_bytes

    def describe(self) -> str:
        if self.limit_bytes is None:
            return self.source
        return f"{format_mib(self.limit_bytes)} ({self.source})"


# ---- run_with_cache: the cache's size from the hook table, before any forward ----------------

_INTEGER_HOOKS = ("hook_tokens", "hook_expert_indices")
# Hook points outside the table: SoLU's LayerNorm inside the MLP works on d_mlp.
_EXTRA_SHAPES = {"mlp.ln.hook_scale": ("batch", "pos", "1"), "mlp.ln.hook_normalized": ("batch", "pos", "d_mlp")}


def _positions_kept(pos: int, pos_slice: Any) -> int:
    """How many of ``pos`` positions ``run_with_cache(pos_slice=...)`` keeps."""
    if pos_slice is None:
        return pos
    if hasattr(pos_slice, "slice"):  # utils.Slice
        pos_slice = pos_slice.slice
    if isinstance(pos_slice, (list, tuple)):
        if len(pos_slice) in (2, 3) and all(isinstance(v, (int, type(None))) for v in pos_slice):
            pos_slice = slice(*pos_slice)
        else:
            return len(pos_slice)
    if isinstance(pos_slice, slice):
        return len(range(pos)[pos_slice])
    if isinstance(pos_slice, torch.Tensor):
        return max(pos_slice.numel(), 1) if pos_slice.ndim else 1
    return 1  # an int


def _dim_sizes(name: str, cfg: Any, batch: int, pos: int, kept_pos: int, past: int) -> dict[str, float]:
    heads = cfg.n_heads
    if getattr(cfg, "n_key_value_heads", None) and not getattr(cfg, "ungroup_grouped_query_attention", False):
        if any(part in name for part in (".attn.hook_k", ".attn.hook_v", ".attn.hook_rot_k", ".attn.k_norm.")):
            heads = cfg.n_key_value_heads
        # Split inputs: keys and values get one input per key/value head; ln1 normalizes q, k, then
        # v, and the cache keeps the last (v's).
        if getattr(cfg, "use_split_qkv_input", False) and (
            name.endswith((".hook_k_input", ".hook_v_input")) or ".ln1.hook_" in name
        ):
            heads = cfg.n_key_value_heads
    experts = getattr(cfg, "num_experts", None) or 1
    per_token = getattr(cfg, "experts_per_token", None) or 1
    return {
        "batch": batch,
        "pos": kept_pos,
        "query_pos": kept_pos,
        "key_pos": past + pos,  # keys from a past_kv_cache come first
        "d_model": cfg.d_model,
        "d_head": cfg.d_head,
        "d_mlp": cfg.d_mlp or 0,
        "d_vocab": cfg.d_vocab,
        "head_index": heads,
        "head_index*d_head": heads * cfg.d_head,
        "num_experts": experts,
        "experts_per_token": per_token,
        # Every token goes to experts_per_token experts: on average batch*pos*k/num_experts
        # tokens reach one expert, exactly that many summed over a layer's experts.
        "routed_tokens": batch * kept_pos * per_token / experts,
        "1": 1,
        "2": 2,
    }


def _hook_dtype(name: str, dtype: torch.dtype) -> torch.dtype:
    last = name.rsplit(".", 1)[-1]
    if last in _INTEGER_HOOKS:
        return torch.int64
    if last in ("hook_scale", "hook_normalized") and dtype not in (torch.float32, torch.float64):
        return torch.float32  # norms compute (and show their hooks) in float32 for 16-bit models
    return dtype


def hook_bytes(
    name: str, cfg: Any, batch: int, pos: int, pos_slice: Any = None, remove_batch_dim: bool = False, past: int = 0
) -> int:
    """Bytes ``run_with_cache`` stores for hook ``name`` on ``batch`` prompts of ``pos`` new tokens (0 if it never fires).

    ``past``: positions already in a ``past_kv_cache`` (attention scores and patterns span them too).
    """
    if hook_names.silent_reason(name, cfg) is not None:
        return 0
    shape = hook_names.hook_shape(name, cfg)
    if not shape:
        shape = next((s for suffix, s in _EXTRA_SHAPES.items() if name.endswith(suffix)), ())
        if not shape:
            return 0
        pos_slice = None  # pos_slice only cuts hooks the table knows (hook_points._slice_positions)
    if ".ln1.hook_" in name and (getattr(cfg, "use_split_qkv_input", False) or getattr(cfg, "use_attn_in", False)):
        shape = (*shape[:2], "head_index", *shape[2:])  # ln1 then normalizes each head's own copy
    sizes = _dim_sizes(name, cfg, 1 if remove_batch_dim else batch, pos, _positions_kept(pos, pos_slice), past)
    count = math.prod(sizes.get(dim, 1) for dim in shape)
    dtype = _hook_dtype(name, cfg.dtype)
    bits = torch.finfo(dtype).bits if dtype.is_floating_point else torch.iinfo(dtype).bits
    return math.ceil(count) * bits // 8  # only routed-token counts are fractional: round up


def cache_bytes(
    model: Any,
    names: Iterable[str],
    batch: int,
    pos: int,
    pos_slice: Any = None,
    remove_batch_dim: bool = False,
    incl_bwd: bool = False,
    past: int = 0,
) -> int:
    """Total bytes of the cache ``run_with_cache`` would build for these hook names (gradients double it)."""
    total = sum(hook_bytes(name, model.cfg, batch, pos, pos_slice, remove_batch_dim, past) for name in names)
    return total * (2 if incl_bwd else 1)


def _input_shape(model: Any, model_args: tuple, model_kwargs: dict) -> Optional[tuple[int, int]]:
    """``(batch, pos)`` of the forward's input without running it (None if it cannot be told)."""
    if not model_args and "input" not in model_kwargs:
        return None
    value = model_args[0] if model_args else model_kwargs["input"]
    if isinstance(value, torch.Tensor):
        if value.ndim == 1:
            return 1, value.shape[0]
        return (value.shape[0], value.shape[1]) if value.ndim >= 2 else None
    if isinstance(value, (str, list)) and getattr(model, "tokenizer", None) is not None:
        options = {key: model_kwargs[key] for key in ("prepend_bos", "padding_side") if key in model_kwargs}
        tokens = model.to_tokens(value, **options)
        if isinstance(tokens, tuple):  # HookedEncoder: (tokens, token_type_ids, attention_mask)
            tokens = tokens[0]
        return tokens.shape[0], tokens.shape[1]
    return None


def _runs_hook(n_layers: int, start_at_layer: Optional[int], stop_at_layer: Optional[int]) -> Any:
    """Whether a forward with these start/stop layers reaches hook ``name`` (a predicate)."""
    blocks = set(range(n_layers)[start_at_layer:stop_at_layer])

    def runs(name: str) -> bool:
        layer = hook_names.layer_of(name)
        if layer is not None:
            return layer in blocks
        spec = hook_names.spec_for(name)
        if spec is not None and spec.component == "final":  # final norm and heads: skipped by stop_at_layer
            return stop_at_layer is None
        return start_at_layer is None  # embeddings

    return runs


def check_cache_fits(model: Any, model_args: tuple, model_kwargs: dict, cache_options: dict, max_memory_mb: Optional[float]) -> None:
    """Refuse (one-line ``MemoryError``) a ``run_with_cache`` whose cache would not fit its budget.

    Runs before any hook is attached or forward started. ``cache_options`` are run_with_cache's
    own keywords (``names_filter``, ``device``, ``pos_slice``, ``remove_batch_dim``, ``incl_bwd``).
    """
    check_memory_mb(max_memory_mb)
    shape = _input_shape(model, model_args, model_kwargs)
    if shape is None:
        return
    keep = model._names_predicate(cache_options.get("names_filter"))
    runs = _runs_hook(model.cfg.n_layers, model_kwargs.get("start_at_layer"), model_kwargs.get("stop_at_layer"))
    names = [name for name in model.hook_dict if keep(name) and runs(name)]
    device = cache_options.get("device") or model.cfg.device
    past_kv_cache = model_kwargs.get("past_kv_cache")
    past = past_kv_cache.entries[0].past_keys.shape[1] if past_kv_cache is not None and past_kv_cache.entries else 0
    estimate = cache_bytes(
        model,
        names,
        *shape,
        cache_options.get("pos_slice"),
        bool(cache_options.get("remove_batch_dim")),
        bool(cache_options.get("incl_bwd")),
        past,
    )
    budget = MemoryBudget.resolve(max_memory_mb, device)
    if budget.fits(estimate):
        return
    batch, pos = shape
    hints = ["names_filter= (cache fewer hooks)", "pos_slice= (keep fewer positions)"]
    if torch.device(device).type != "cpu":
        hints.append('device="cpu" (keep the cache in RAM)')
    raise MemoryError(
        f"run_with_cache would store {format_mib(estimate)} ({len(names)} hooks, batch {batch} x {pos} positions, "
        f"{model.cfg.dtype}) on {torch.device(device)}, over the budget of {budget.describe()}: pass "
        f"{', '.join(hints)}, a smaller batch, or a larger max_memory_mb"
    )


# ---- the key/value cache of generate -------------------------------------------------------


def kv_cache_bytes(cfg: Any, batch: int, positions: int) -> int:
    """Bytes of a full key/value cache: keys and values of every layer, plus the attention-mask row."""
    n_kv = getattr(cfg, "n_key_value_heads", None) or cfg.n_heads
    per_layer = 2 * batch * positions * n_kv * cfg.d_head * torch.finfo(cfg.dtype).bits // 8
    return cfg.n_layers * per_layer + batch * positions * 8


def check_kv_cache_fits(cfg: Any, device: Any, batch: int, positions: int, max_memory_mb: Optional[float]) -> None:
    """Refuse (one-line ``MemoryError``) a generation whose key/value cache would outgrow its budget."""
    estimate = kv_cache_bytes(cfg, batch, positions)
    budget = MemoryBudget.resolve(max_memory_mb, device)
    if not budget.fits(estimate):
        n_kv = getattr(cfg, "n_key_value_heads", None) or cfg.n_heads
        raise MemoryError(
            f"generate's key/value cache would need {format_mib(estimate)} (batch {batch} x {positions} positions x "
            f"{cfg.n_layers} layers x keys and values of {n_kv} heads x d_head {cfg.d_head}, {cfg.dtype}) on {budget.device}, "
            f"over the budget of {budget.describe()}: use a smaller batch or max_new_tokens, use_past_kv_cache=False, "
            f"or a larger max_memory_mb"
        )
