"""Official model names, aliases and the family that handles each HF architecture.

Every name comes from the one table in :mod:`transformer_lens.loading.model_names`; this module
derives upstream's ``OFFICIAL_MODEL_NAMES`` / ``MODEL_ALIASES`` from it and says which family
(if any) loads a name.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from types import ModuleType
from typing import Optional, Sequence

from transformer_lens.loading import checkpoints
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
    santacoder,
    stablelm,
)
from transformer_lens.loading.model_names import NAMES_BY_ARCHITECTURE, NEAREST_SUPPORTED

# The explicit, greppable list of supported families.
FAMILIES: tuple[ModuleType, ...] = (
    # GPT-2 era and the first open models
    gpt2, neox, neo, gptj, opt, bloom, gpt_bigcode, santacoder,
    # LLaMA-style dense decoders
    llama, mistral, qwen, qwen2, qwen3, gemma, gemma2, gemma3, phi, phi3, olmo, olmo2, olmo3, stablelm, apertus,
    # mixture of experts
    mixtral, olmoe, gpt_oss,
)  # fmt: skip

ENCODER_ARCHITECTURES = ("BertForMaskedLM", "BertModel", "BertForPreTraining", "BertForNextSentencePrediction")
ENCODER_DECODER_ARCHITECTURES = ("T5ForConditionalGeneration",)  # HookedEncoderDecoder (families/t5.py)
# Models stored in TransformerLens's own format (loaded by loading/tl_format.py, not by a family).
TL_FORMAT_ARCHITECTURES = ("neel", "neel-solu-old", "mingpt")


def _embedded_names() -> tuple[str, ...]:
    try:
        from transformer_lens.loading import embedded
    except ImportError:
        return ()
    return tuple(embedded.EMBEDDED_MODEL_NAMES)


def _table_names() -> list[str]:
    """Official names of the table, in upstream's order (sorted case-insensitively)."""
    return sorted((name for names in NAMES_BY_ARCHITECTURE.values() for name in names), key=str.lower)


def official_model_names() -> list[str]:
    return _table_names() + list(_embedded_names())


OFFICIAL_MODEL_NAMES = official_model_names()

# Upstream's shape: official name -> its aliases, for the names that have any.
MODEL_ALIASES: dict[str, list[str]] = {
    name: list(aliases)
    for name in _table_names()
    for names in NAMES_BY_ARCHITECTURE.values()
    if (aliases := names.get(name))
}

# Upstream's convention: a model's first alias, else its official name.
DEFAULT_MODEL_ALIASES: list[str] = [MODEL_ALIASES[name][0] if name in MODEL_ALIASES else name for name in _table_names()]


@lru_cache(maxsize=1)
def _alias_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for names in NAMES_BY_ARCHITECTURE.values():
        for official, aliases in names.items():
            for name in (official, *aliases):
                table[name.lower()] = official
    for official in _embedded_names():
        table[official.lower()] = official
    return table


@lru_cache(maxsize=1)
def _architecture_of() -> dict[str, str]:
    return {official: arch for arch, names in NAMES_BY_ARCHITECTURE.items() for official in names}


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
    names = [alias for names in NAMES_BY_ARCHITECTURE.values() for official, aliases in names.items() for alias in (official, *aliases)]
    return did_you_mean(name, [*names, *_embedded_names()])


def get_official_model_name(name: str) -> Optional[str]:
    """The official name for ``name`` or one of its aliases (case-insensitive); None if unknown."""
    return _alias_table().get(name.lower())


def architecture_of(name: str) -> Optional[str]:
    """The architecture a known name (or alias) has, per the names table; None if unknown."""
    official = get_official_model_name(name)
    return _architecture_of().get(official) if official is not None else None


def supported_architectures() -> list[str]:
    return sorted(arch for family in FAMILIES for arch in family.HF_ARCHITECTURES)


def is_supported_architecture(architecture: str) -> bool:
    return (
        architecture in TL_FORMAT_ARCHITECTURES
        or architecture in ENCODER_ARCHITECTURES
        or architecture in ENCODER_DECODER_ARCHITECTURES
        or any(architecture in family.HF_ARCHITECTURES for family in FAMILIES)
    )


def unsupported_name_error(name: str) -> Optional[ValueError]:
    """The one-line error for a known name whose architecture no family loads yet, else None."""
    architecture = architecture_of(name)
    if architecture is None or is_supported_architecture(architecture):
        return None
    nearest = NEAREST_SUPPORTED.get(architecture, "none")
    official = get_official_model_name(name)
    return ValueError(
        f"{official} is a {architecture} model; LensLab does not support {architecture} yet (nearest supported: {nearest})"
    )


def is_tl_format_name(name: str) -> bool:
    """Whether ``name`` is a model stored in TransformerLens's own format on the hub (NeelNanda's, ...)."""
    return architecture_of(name) in TL_FORMAT_ARCHITECTURES


def encoder_name_error(name: str) -> Optional[ValueError]:
    """An error pointing to HookedEncoder when ``name`` is a known BERT checkpoint name."""
    if architecture_of(name) in ENCODER_ARCHITECTURES:
        return ValueError(f"{name} is an encoder (BERT) model: load it with transformer_lens.HookedEncoder.from_pretrained")
    return None


def encoder_decoder_name_error(name: str) -> Optional[ValueError]:
    """An error pointing to HookedEncoderDecoder when ``name`` is a known T5 checkpoint name."""
    if architecture_of(name) in ENCODER_DECODER_ARCHITECTURES:
        return ValueError(
            f"{name} is an encoder-decoder (T5) model: load it with transformer_lens.HookedEncoderDecoder.from_pretrained"
        )
    return None


def family_for_architecture(architecture: str) -> ModuleType:
    for family in FAMILIES:
        if architecture in family.HF_ARCHITECTURES:
            return family
    if architecture in ENCODER_DECODER_ARCHITECTURES:
        raise ValueError(f"{architecture} is an encoder-decoder (T5) model: load it with transformer_lens.HookedEncoderDecoder.from_pretrained")
    if architecture in ENCODER_ARCHITECTURES:
        raise ValueError(
            f"{architecture} is an encoder (BERT) model: load it with transformer_lens.HookedEncoder.from_pretrained"
        )
    if architecture in NEAREST_SUPPORTED:
        raise ValueError(
            f"LensLab does not support {architecture} yet (nearest supported: {NEAREST_SUPPORTED[architecture]})"
        )
    raise ValueError(f"Architecture {architecture} is not supported; supported: {', '.join(supported_architectures())}")


def get_checkpoint_labels(model_name: str) -> tuple[list[int], str]:
    """Upstream's ``get_checkpoint_labels``: a model's training-checkpoint labels and their type ("step"/"token").

    Pythia and stanford-crfm publish them as hub revisions (a fixed list); NeelNanda's
    TransformerLens-format repos as files, listed from the repo (or its cached snapshot).
    """
    official = get_official_model_name(model_name) or model_name
    if is_tl_format_name(official):
        from transformer_lens.loading import tl_format

        return tl_format.checkpoint_labels(official)
    return checkpoints.get_checkpoint_labels(official)


def reads_plain_config(architectures: Optional[list]) -> bool:
    """Whether a checkpoint's config.json is read as a plain dict (remote-code-only architectures)."""
    return any(getattr(family, "PLAIN_CONFIG", False) and arch in family.HF_ARCHITECTURES for family in FAMILIES for arch in architectures or ())


def checkpoint_revision(model_name: str, checkpoint_index: Optional[int], checkpoint_value: Optional[int]) -> str:
    """Hub revision of a training checkpoint, for the suites that publish them as revisions."""
    official = get_official_model_name(model_name) or model_name
    _, value, _ = checkpoints.resolve_checkpoint(official, checkpoint_index, checkpoint_value)
    return checkpoints.checkpoint_revision(official, value)
