"""Models stored in TransformerLens's own format (NeelNanda's toy models, redwood_attn_2l, Othello-GPT).

Such a repo holds a ``config.json`` of HookedTransformerConfig-like fields (not a transformers
config) and PyTorch state dicts: ``*final.pth`` for the trained model and, for some,
``checkpoints/..._{N}.pth`` for training checkpoints labelled by step or tokens seen. The state
dict is already in TransformerLens names, except for:

- the old SoLU models (``NeelNanda/SoLU_*_old``, architecture "neel-solu-old"): norms named
  ``norm`` and, in the smaller ones, weights stored ``[out, in]``;
- minGPT checkpoints (architecture "mingpt"): karpathy's minGPT names.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Optional

import einops
import torch

from transformer_lens.loading import checkpoints

logger = logging.getLogger(__name__)

# Buffers that old TransformerLens versions saved with the parameters; ours are not saved.
_SAVED_BUFFERS = ("mask", "IGNORE")


def is_tl_format_dir(path: Path) -> bool:
    """Whether a local directory holds a TransformerLens-format model (not a transformers checkpoint)."""
    config = path / "config.json"
    if not config.is_file() or not any(path.glob("*.pth")):
        return False
    try:
        fields = json.loads(config.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(fields, dict) and "model_type" not in fields and {"d_model", "n_layers"} <= fields.keys()


def repo_files(name: str, revision: Optional[str] = None) -> list[str]:
    """Every file of a local model directory or hub repo (the cached snapshot when offline)."""
    path = Path(name).expanduser()
    if path.is_dir():
        return sorted(str(f.relative_to(path)) for f in path.rglob("*") if f.is_file())
    from huggingface_hub import constants, list_repo_files, snapshot_download

    if not constants.HF_HUB_OFFLINE:
        try:
            return sorted(list_repo_files(name, revision=revision))
        except Exception:  # no network or no such repo: fall back to the cache
            pass
    try:
        snapshot = Path(snapshot_download(name, revision=revision, local_files_only=True))
    except Exception:
        raise OSError(
            f"Cannot find model {name!r}: not a local directory, not reachable on the hub and not in the "
            f"Hugging Face cache ({constants.HF_HUB_CACHE})"
        ) from None
    return sorted(str(f.relative_to(snapshot)) for f in snapshot.rglob("*") if f.is_file())


def _fetch(name: str, file_name: str, revision: Optional[str]) -> Path:
    path = Path(name).expanduser()
    if path.is_dir():
        return path / file_name
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(name, file_name, revision=revision))


def checkpoint_labels(name: str, revision: Optional[str] = None) -> tuple[list[int], str]:
    """Labels of a TransformerLens-format repo's training checkpoints and their type ("step"/"token")."""
    labels, label_type = checkpoints.neel_checkpoint_labels(repo_files(name, revision))
    if not labels:
        raise ValueError(f"{name} has no published training checkpoints (checkpoint_index/checkpoint_value)")
    return labels, label_type


def config_from_tl_json(fields: dict[str, Any], official_name: str) -> dict[str, Any]:
    """HookedTransformerConfig fields from a TransformerLens-format config.json (as upstream reads it)."""
    default_architecture = "neel-solu-old" if "_old" in official_name else "neel"
    cfg = {
        "d_model": fields["d_model"],
        "n_layers": fields["n_layers"],
        "d_mlp": fields["d_mlp"],
        "d_head": fields["d_head"],
        "n_heads": fields["n_heads"],
        "n_ctx": fields["n_ctx"],
        "d_vocab": fields["d_vocab"],
        "tokenizer_name": fields.get("tokenizer_name"),
        "act_fn": fields["act_fn"],
        "attn_only": fields["attn_only"],
        "final_rms": fields.get("final_rms", False),
        "original_architecture": fields.get("architecture", default_architecture),
        # Old configs call it "normalization".
        "normalization_type": fields["normalization"] if "normalization" in fields else fields["normalization_type"],
        "positional_embedding_type": "shortformer" if fields.get("shortformer_pos") else "standard",
    }
    return cfg


def load_tl_format(
    name: str,
    official_name: str,
    revision: Optional[str],
    checkpoint_index: Optional[int],
    checkpoint_value: Optional[int],
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Config fields and the state dict (TransformerLens names) of a TransformerLens-format model."""
    files = repo_files(name, revision)
    if "config.json" not in files:
        raise OSError(f"{name} has no config.json")
    cfg = config_from_tl_json(json.loads(_fetch(name, "config.json", revision).read_text()), official_name)
    if checkpoint_index is not None or checkpoint_value is not None:
        labels, label_type = checkpoints.neel_checkpoint_labels(files)
        if not labels:
            raise ValueError(f"{official_name} has no published training checkpoints (checkpoint_index/checkpoint_value)")
        index, value, label_type = checkpoints.pick_checkpoint(
            labels, label_type, checkpoint_index, checkpoint_value, official_name
        )
        cfg.update(from_checkpoint=True, checkpoint_index=index, checkpoint_value=value, checkpoint_label_type=label_type)
        weights = [f for f in files if f.startswith("checkpoints/") and f.endswith(f"_{value}.pth")]
    else:
        weights = [f for f in files if f.endswith("final.pth")] or [f for f in files if f.endswith(".pth") and "/" not in f]
    if len(weights) != 1:
        found = ", ".join(f for f in files if f.endswith(".pth")) or "none"
        raise OSError(f"{name}: expected one weights file (*final.pth), found: {found}")
    state_dict = torch.load(_fetch(name, weights[0], revision), map_location="cpu", weights_only=True)
    return cfg, state_dict


def convert_state_dict(state_dict: dict[str, torch.Tensor], cfg: Any) -> dict[str, torch.Tensor]:
    """The stored state dict in our names and layouts, missing biases filled with zeros."""
    if cfg.original_architecture == "neel-solu-old":
        state_dict = _convert_solu_old(state_dict, cfg)
    elif cfg.original_architecture == "mingpt":
        state_dict = _convert_mingpt(state_dict, cfg)
    sd = {k: v for k, v in state_dict.items() if k.rpartition(".")[2] not in _SAVED_BUFFERS and _in_layers(k, cfg)}
    for key, shape in _bias_shapes(cfg).items():
        if key not in sd:
            logger.info("%s is not in the checkpoint; using zeros", key)
            sd[key] = torch.zeros(shape, dtype=sd["embed.W_E"].dtype)
    return sd


def _in_layers(key: str, cfg: Any) -> bool:
    """Whether a tensor belongs to the first ``cfg.n_layers`` blocks (all of them unless first_n_layers cut it)."""
    return not key.startswith("blocks.") or int(key.split(".")[1]) < cfg.n_layers


def _bias_shapes(cfg: Any) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {"unembed.b_U": (cfg.d_vocab_out,)}
    for layer in range(cfg.n_layers):
        attn = f"blocks.{layer}.attn."
        shapes.update({attn + b: (cfg.n_heads, cfg.d_head) for b in ("b_Q", "b_K", "b_V")})
        shapes[attn + "b_O"] = (cfg.d_model,)
        if not cfg.attn_only:
            shapes[f"blocks.{layer}.mlp.b_in"] = (cfg.d_mlp,)
            shapes[f"blocks.{layer}.mlp.b_out"] = (cfg.d_model,)
    return shapes


def _convert_solu_old(state_dict: dict[str, torch.Tensor], cfg: Any) -> dict[str, torch.Tensor]:
    """The Pile SoLU models: ``norm`` -> ``ln`` (final ``norm`` -> ``ln_final``); transposed weights.

    Their training code stored weights ``[out, in]`` in models of up to 6 layers, and ``W_pos``
    as ``[d_model, n_ctx]`` in models of up to 8.
    """
    sd = {}
    for key, value in state_dict.items():
        key = key.replace("norm", "ln")
        if key.startswith("ln."):
            key = "ln_final." + key[len("ln.") :]
        sd[key] = value
    if cfg.n_layers <= 8:
        sd["pos_embed.W_pos"] = sd["pos_embed.W_pos"].T
    if cfg.n_layers <= 6:
        for key, value in sd.items():
            if "W_" in key and "W_pos" not in key:
                sd[key] = value.transpose(-2, -1)
    return sd


def _convert_mingpt(state_dict: dict[str, torch.Tensor], cfg: Any) -> dict[str, torch.Tensor]:
    """karpathy/minGPT names (separate q/k/v Linear layers, ``mlp.0``/``mlp.2``) -> ours."""
    heads = "(head d_head) d_model -> head d_model d_head"
    sd: dict[str, torch.Tensor] = {
        "embed.W_E": state_dict["tok_emb.weight"],
        "pos_embed.W_pos": state_dict["pos_emb"].squeeze(0),
        "ln_final.w": state_dict["ln_f.weight"],
        "ln_final.b": state_dict["ln_f.bias"],
        "unembed.W_U": state_dict["head.weight"].T,
    }
    for layer in range(cfg.n_layers):
        src, dst = f"blocks.{layer}.", f"blocks.{layer}."
        for ln in ("ln1", "ln2"):
            sd[f"{dst}{ln}.w"], sd[f"{dst}{ln}.b"] = state_dict[f"{src}{ln}.weight"], state_dict[f"{src}{ln}.bias"]
        for ours, theirs in (("Q", "query"), ("K", "key"), ("V", "value")):
            sd[f"{dst}attn.W_{ours}"] = einops.rearrange(state_dict[f"{src}attn.{theirs}.weight"], heads, head=cfg.n_heads)
            sd[f"{dst}attn.b_{ours}"] = einops.rearrange(
                state_dict[f"{src}attn.{theirs}.bias"], "(head d_head) -> head d_head", head=cfg.n_heads
            )
        sd[f"{dst}attn.W_O"] = einops.rearrange(
            state_dict[f"{src}attn.proj.weight"], "d_model (head d_head) -> head d_head d_model", head=cfg.n_heads
        )
        sd[f"{dst}attn.b_O"] = state_dict[f"{src}attn.proj.bias"]
        sd[f"{dst}mlp.W_in"], sd[f"{dst}mlp.b_in"] = state_dict[f"{src}mlp.0.weight"].T, state_dict[f"{src}mlp.0.bias"]
        sd[f"{dst}mlp.W_out"], sd[f"{dst}mlp.b_out"] = state_dict[f"{src}mlp.2.weight"].T, state_dict[f"{src}mlp.2.bias"]
    return sd
