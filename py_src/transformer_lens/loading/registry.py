"""Official model names, aliases and the family that handles each HF architecture."""

from __future__ import annotations

from types import ModuleType
from typing import Optional

from transformer_lens.loading.families import (
    apertus,
    bloom,
    gemma,
    gemma2,
    gemma3,
    gpt2,
    gpt_bigcode,
    gpt_oss,
    gptj,
    llama,
    mistral,
    mixtral,
    neo,
    neox,
    olmo,
    olmo2,
    olmo3,
    olmoe,
    opt,
    phi,
    phi3,
    qwen,
    qwen2,
    qwen3,
    stablelm,
)

# The explicit, greppable list of supported families.
FAMILIES: tuple[ModuleType, ...] = (
    # GPT-2 era and the first open models
    gpt2, neox, neo, gptj, opt, bloom, gpt_bigcode,
    # LLaMA-style dense decoders
    llama, mistral, qwen, qwen2, qwen3, gemma, gemma2, gemma3, phi, phi3, olmo, olmo2, olmo3, stablelm, apertus,
    # mixture of experts
    mixtral, olmoe, gpt_oss,
)  # fmt: skip

ENCODER_ARCHITECTURES = ("BertForMaskedLM", "BertModel", "BertForPreTraining", "BertForNextSentencePrediction")


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
    if architecture == "T5ForConditionalGeneration":
        raise ValueError(f"{architecture} is an encoder-decoder (T5) model: load it with transformer_lens.HookedEncoderDecoder.from_pretrained")
    if architecture in ENCODER_ARCHITECTURES:
        raise ValueError(
            f"{architecture} is an encoder (BERT) model: load it with transformer_lens.HookedEncoder.from_pretrained"
        )
    supported = sorted(arch for family in FAMILIES for arch in family.HF_ARCHITECTURES)
    raise ValueError(f"Architecture {architecture} is not supported; supported: {', '.join(supported)}")


def reads_plain_config(architectures: Optional[list]) -> bool:
    """Whether a checkpoint's config.json is read as a plain dict (remote-code-only architectures)."""
    return any(getattr(family, "PLAIN_CONFIG", False) and arch in family.HF_ARCHITECTURES for family in FAMILIES for arch in architectures or ())


def checkpoint_revision(model_name: str, checkpoint_index: Optional[int], checkpoint_value: Optional[int]) -> str:
    """Hub revision of a training checkpoint, for families that publish them (Pythia)."""
    for family in FAMILIES:
        if model_name in getattr(family, "CHECKPOINTED_MODELS", ()):
            return family.checkpoint_revision(checkpoint_index, checkpoint_value)
    raise ValueError(f"{model_name} has no published training checkpoints (checkpoint_index/checkpoint_value)")
