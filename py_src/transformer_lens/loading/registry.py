"""Official model names, aliases and the family that handles each HF architecture."""

from __future__ import annotations

import difflib
from types import ModuleType
from typing import Optional, Sequence

from transformer_lens.loading.families import gemma, gpt2, gptj, llama, mistral, neo, neox, opt, qwen2

# The explicit, greppable list of supported families.
FAMILIES: tuple[ModuleType, ...] = (gpt2, neox, neo, gptj, opt, llama, mistral, qwen2, gemma)

ENCODER_ARCHITECTURES = ("BertForMaskedLM", "BertModel", "BertForPreTraining")


def _embedded_names() -> tuple[str, ...]:
    try:
        from transformer_lens.loading import embedded
    except ImportError:
        return ()
    return tuple(embedded.EMBEDDED_MODEL_NAMES)


def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for family in FAMILIES:
        for official, aliases in family.OFFICIAL_NAMES.items():
            for name in (official, *aliases):
                table[name.lower()] = official
    for official in _embedded_names():
        table[official.lower()] = official
    return table


def official_model_names() -> list[str]:
    names = [official for family in FAMILIES for official in family.OFFICIAL_NAMES]
    return names + list(_embedded_names())


OFFICIAL_MODEL_NAMES = official_model_names()


def did_you_mean(name: str, candidates: Sequence[str]) -> str:
    """``"; did you mean 'x'?"`` for the candidate closest to ``name`` (case-insensitive), else ``""``."""
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.75)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(by_lower[c]) for c in close) + "?"


def did_you_mean_model(name: str) -> str:
    """A suggestion among the official names and their aliases, for a name that was not found."""
    names = [alias for family in FAMILIES for official, aliases in family.OFFICIAL_NAMES.items() for alias in (official, *aliases)]
    return did_you_mean(name, [*names, *_embedded_names()])


def get_official_model_name(name: str) -> Optional[str]:
    """The official name for ``name`` or one of its aliases (case-insensitive); None if unknown."""
    return _alias_table().get(name.lower())


def encoder_name_error(name: str) -> Optional[ValueError]:
    """An error pointing to HookedEncoder when ``name`` is a known BERT checkpoint name."""
    from transformer_lens.loading.families import bert

    known = {alias.lower() for official, aliases in bert.OFFICIAL_NAMES.items() for alias in (official, *aliases)}
    if name.lower() in known:
        return ValueError(f"{name} is an encoder (BERT) model: load it with transformer_lens.HookedEncoder.from_pretrained")
    return None


def family_for_architecture(architecture: str) -> ModuleType:
    for family in FAMILIES:
        if architecture in family.HF_ARCHITECTURES:
            return family
    if architecture in ENCODER_ARCHITECTURES:
        raise ValueError(
            f"{architecture} is an encoder (BERT) model: load it with transformer_lens.HookedEncoder.from_pretrained"
        )
    supported = sorted(arch for family in FAMILIES for arch in family.HF_ARCHITECTURES)
    raise ValueError(f"Architecture {architecture} is not supported; supported: {', '.join(supported)}")


def checkpoint_revision(model_name: str, checkpoint_index: Optional[int], checkpoint_value: Optional[int]) -> str:
    """Hub revision of a training checkpoint, for families that publish them (Pythia)."""
    for family in FAMILIES:
        if model_name in getattr(family, "CHECKPOINTED_MODELS", ()):
            return family.checkpoint_revision(checkpoint_index, checkpoint_value)
    raise ValueError(f"{model_name} has no published training checkpoints (checkpoint_index/checkpoint_value)")
