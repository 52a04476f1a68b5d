"""The one table of model names: official name -> aliases, grouped by the architecture it has.

The official name is the Hugging Face repo id (a few upstream names are not hosted there, e.g.
``llama-7b-hf``). The names and aliases are upstream TransformerLens 3.9.0's
(``OFFICIAL_MODEL_NAMES`` / ``MODEL_ALIASES``), plus a few LensLab already accepted (marked).
Lookups are case-insensitive, as upstream's.

The architecture is what the checkpoint's ``config.json`` names in ``architectures`` (what a
family module lists in ``HF_ARCHITECTURES``), or, for models stored in TransformerLens's own
format on the hub, the ``original_architecture`` upstream gives them ("neel", "neel-solu-old",
"mingpt"). A name whose architecture no family handles yet stays listed: loading it says so
(see :data:`NEAREST_SUPPORTED`).

Everything else (``OFFICIAL_MODEL_NAMES``, ``MODEL_ALIASES``, ``get_official_model_name``,
the architecture of a name) is derived from :data:`NAMES_BY_ARCHITECTURE` by the registry.
"""

from __future__ import annotations

Aliases = tuple[str, ...]

# Pythia sizes with the older (pre-rename) size label upstream also accepts.
_PYTHIA_OLD_SIZES = {
    "14m": None, "31m": None, "70m": "19m", "160m": "125m", "410m": "350m",
    "1b": "800m", "1.4b": "1.3b", "2.8b": "2.7b", "6.9b": "6.7b", "12b": "13b",
}  # fmt: skip


def _pythia() -> dict[str, Aliases]:
    """EleutherAI/pythia-{size}{variant}: aliases without the org, and with the old size label."""
    names: dict[str, Aliases] = {}
    for size, old in _PYTHIA_OLD_SIZES.items():
        variants = [""] if old is None else ["", "-deduped", "-deduped-v0", "-v0"]
        if size == "160m":
            variants += ["-seed1", "-seed2", "-seed3"]
        for variant in variants:
            aliases = [f"pythia-{size}{variant}"]
            if old is not None:
                aliases += [f"EleutherAI/pythia-{old}{variant}", f"pythia-{old}{variant}"]
            if size == "70m" and variant in ("", "-v0"):
                aliases.insert(1, f"pythia{variant}")  # "pythia" and "pythia-v0"
            names[f"EleutherAI/pythia-{size}{variant}"] = tuple(aliases)
    return names


def _neel_c4_code(kind: str, shapes: tuple[tuple[int, int], ...]) -> dict[str, Aliases]:
    """NeelNanda/{Kind}_{n}L{width}W_C4_Code: aliases {kind}-{n}l, -new, -c4-code."""
    stem = kind.lower().replace("_", "-")
    return {
        f"NeelNanda/{kind}_{n}L{width}W_C4_Code": (f"{stem}-{n}l", f"{stem}-{n}l-new", f"{stem}-{n}l-c4-code")
        for n, width in shapes
    }


def _stanford_crfm() -> dict[str, Aliases]:
    """stanford-crfm's Mistral-project GPT-2 runs (five seeds a size), with their letter aliases."""
    runs = {
        "small": (("alias", 21), ("battlestar", 49), ("caprica", 81), ("darkmatter", 343), ("expanse", 777)),
        "medium": (("arwen", 21), ("beren", 49), ("celebrimbor", 81), ("durin", 343), ("eowyn", 777)),
    }
    # The third alias is "gpt2-mistral-small-x" for the small runs and (sic) "gpt2-medium-small-x"
    # for the medium ones; upstream omits the fourth ("gpt2-stanford-...") for some runs.
    no_stanford_alias = {"battlestar", "celebrimbor", "darkmatter", "expanse"}
    names: dict[str, Aliases] = {}
    for size, seeds in runs.items():
        for letter, (run, seed) in zip("abcde", seeds):
            repo = f"{run}-gpt2-{size}-x{seed}"
            third = f"gpt2-mistral-small-{letter}" if size == "small" else f"gpt2-medium-small-{letter}"
            aliases = [f"stanford-gpt2-{size}-{letter}", repo, third]
            if run not in no_stanford_alias:
                aliases.append(f"gpt2-stanford-{size}-{letter}")
            names[f"stanford-crfm/{repo}"] = tuple(aliases)
    return names


def _tiny_stories() -> dict[str, Aliases]:
    # (repo suffix, alias suffix); "Instuct" is the hub repo's own spelling.
    models = (
        ("1M", "1M"), ("3M", "3M"), ("8M", "8M"), ("28M", "28M"), ("33M", "33M"),
        ("1Layer-21M", "1L-21M"), ("2Layers-33M", "2L-33M"),
    )  # fmt: skip
    names: dict[str, Aliases] = {}
    for repo, alias in models:
        names[f"roneneldan/TinyStories-{repo}"] = (f"tiny-stories-{alias}",)
        instruct_repo = "Instuct-1Layer-21M" if repo == "1Layer-21M" else f"Instruct-{repo}"
        names[f"roneneldan/TinyStories-{instruct_repo}"] = (f"tiny-stories-instruct-{alias}",)
    return names


def _lowercase_alias(*repos: str) -> dict[str, Aliases]:
    """org/Name -> (name,): the common pattern of an alias that is the lower-cased repo name."""
    return {repo: (repo.split("/")[-1].lower(),) for repo in repos}


def _qwen_sizes(generation: str, sizes: tuple[str, ...], chat: str) -> dict[str, Aliases]:
    names: dict[str, Aliases] = {}
    for size in sizes:
        for suffix in ("", f"-{chat}"):
            names[f"Qwen/Qwen{generation}-{size}{suffix}"] = (f"qwen{generation}-{size.lower()}{suffix.lower()}",)
    return names


_OPT_ALIASES = {"125m": ("opt-small", "opt"), "1.3b": ("opt-medium",), "2.7b": ("opt-large",), "6.7b": ("opt-xl",),
                "13b": ("opt-xxl",), "30b": ("opt-xxxl",), "66b": ("opt-xxxxl",)}  # fmt: skip

_NEEL_TL_FORMAT: dict[str, Aliases] = {
    "NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr": (
        "attn-only-2l-demo",
        "attn-only-2l-shortformer-6b-big-lr",
        "attn-only-2l-induction-demo",
        "attn-only-demo",
    ),
    **_neel_c4_code("Attn_Only", ((1, 512), (2, 512), (3, 512), (4, 512))),
    **_neel_c4_code("GELU", ((1, 512), (2, 512), (3, 512), (4, 512))),
    **_neel_c4_code("SoLU", ((1, 512), (2, 512), (3, 512), (4, 512), (6, 768), (8, 1024), (10, 1280), (12, 1536))),
    "NeelNanda/SoLU_1L512W_Wiki_Finetune": ("solu-1l-wiki", "solu-1l-wiki-finetune", "solu-1l-finetune"),
    "NeelNanda/SoLU_4L512W_Wiki_Finetune": ("solu-4l-wiki", "solu-4l-wiki-finetune", "solu-4l-finetune"),
    "ArthurConmy/redwood_attn_2l": ("redwood_attn_2l",),
    "Baidicoot/Othello-GPT-Transformer-Lens": ("othello-gpt",),
}

# The SoLU models trained on the Pile before the C4+code ones (their file layout differs).
_NEEL_SOLU_OLD: dict[str, Aliases] = {
    f"NeelNanda/SoLU_{n}L_v{version}_old": (f"solu-{n}l-pile", f"solu-{n}l-old")
    for n, version in ((1, 9), (2, 10), (4, 11), (6, 13), (8, 21), (10, 22), (12, 23))
}

_GEMMA3_SIZES = ("270m", "1b", "4b", "12b", "27b")

NAMES_BY_ARCHITECTURE: dict[str, dict[str, Aliases]] = {
    "GPT2LMHeadModel": {
        "gpt2": ("gpt2-small",),
        "gpt2-medium": (),
        "gpt2-large": (),
        "gpt2-xl": (),
        "distilgpt2": ("distillgpt2", "distill-gpt2", "distil-gpt2", "gpt2-xs"),
        "ai-forever/mGPT": ("mGPT",),
        **_stanford_crfm(),
    },
    "GPTNeoXForCausalLM": {
        **_pythia(),
        "EleutherAI/gpt-neox-20b": ("gpt-neox-20b", "gpt-neox", "neox"),
        **{
            f"stabilityai/stablelm-{kind}-alpha-{size}": (f"stablelm-{kind}-alpha-{size}", f"stablelm-{kind}-{size}")
            for kind in ("base", "tuned")
            for size in ("3b", "7b")
        },
    },
    "GPTNeoForCausalLM": {
        "EleutherAI/gpt-neo-125M": ("gpt-neo-125M", "gpt-neo-small", "neo-small", "neo"),
        "EleutherAI/gpt-neo-1.3B": ("gpt-neo-1.3B", "gpt-neo-medium", "neo-medium"),
        "EleutherAI/gpt-neo-2.7B": ("gpt-neo-2.7B", "gpt-neo-large", "neo-large"),
        **_tiny_stories(),
    },
    "GPTJForCausalLM": {"EleutherAI/gpt-j-6B": ("gpt-j-6B", "gpt-j", "gptj")},
    "OPTForCausalLM": {f"facebook/opt-{size}": (f"opt-{size}", *extra) for size, extra in _OPT_ALIASES.items()},
    "LlamaForCausalLM": {
        # LLaMA 1 (not on the hub: pass hf_model=).
        **{f"llama-{size}-hf": (f"llama-{size}",) for size in ("7b", "13b", "30b", "65b")},
        **{
            f"meta-llama/Llama-2-{size}{chat}-hf": (f"Llama-2-{size}{chat}",)
            for size in ("7b", "13b", "70b")
            for chat in ("", "-chat")
        },
        "meta-llama/Llama-2-70b-chat-hf": ("Llama-2-70b-chat", "meta-llama-2-70b-chat-hf"),
        # LensLab's own extra aliases of Llama-2-7b and Meta-Llama-3-8B (not upstream's).
        "meta-llama/Llama-2-7b-hf": ("Llama-2-7b", "llama-2-7b"),
        **{f"meta-llama/Meta-Llama-3-{size}{kind}": () for size in ("8B", "70B") for kind in ("", "-Instruct")},
        "meta-llama/Meta-Llama-3-8B": ("Meta-Llama-3-8B", "llama-3-8b"),
        **{
            f"meta-llama/Llama-{version}-{size}{kind}": ()
            for version, sizes in (("3.1", ("8B", "70B")), ("3.2", ("1B", "3B")))
            for size in sizes
            for kind in ("", "-Instruct")
        },
        "meta-llama/Llama-3.3-70B-Instruct": (),
        "codellama/CodeLlama-7b-hf": ("CodeLlamallama-2-7b",),
        "codellama/CodeLlama-7b-Instruct-hf": ("CodeLlama-7b-instruct",),
        "codellama/CodeLlama-7b-Python-hf": ("CodeLlama-7b-python",),
        **{f"01-ai/Yi-{size}{chat}": (f"yi-{size.lower()}{chat.lower()}", f"Yi-{size}{chat}")
           for size in ("6B", "34B") for chat in ("", "-Chat")},  # fmt: skip
        # Not upstream's: LensLab's earlier TinyLlama entry.
        "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T": ("tiny-llama", "TinyLlama-1.1B"),
    },
    "MistralForCausalLM": {
        # The second alias of each 7B model is LensLab's, not upstream's.
        "mistralai/Mistral-7B-v0.1": ("mistral-7b", "Mistral-7B-v0.1"),
        "mistralai/Mistral-7B-Instruct-v0.1": ("mistral-7b-instruct", "Mistral-7B-Instruct-v0.1"),
        "mistralai/Mistral-Nemo-Base-2407": ("mistral-nemo-base-2407",),
        "mistralai/Mistral-Small-24B-Base-2501": (),
    },
    "MixtralForCausalLM": {
        "mistralai/Mixtral-8x7B-v0.1": ("mixtral", "mixtral-8x7b"),
        "mistralai/Mixtral-8x7B-Instruct-v0.1": ("mixtral-instruct", "mixtral-8x7b-instruct"),
    },
    "GemmaForCausalLM": {f"google/gemma-{size}{it}": (f"gemma-{size}{it}",) for size in ("2b", "7b") for it in ("", "-it")},
    "Gemma2ForCausalLM": {
        f"google/gemma-2-{size}{it}": (f"gemma-2-{size}{it}",) for size in ("2b", "9b", "27b") for it in ("", "-it")
    },
    # Gemma 3: 270m and 1b are text-only; 4b and up (and MedGemma but its text-only 27b) are
    # multimodal checkpoints whose text path upstream loads.
    "Gemma3ForCausalLM": {
        **{f"google/gemma-3-{size}{kind}": (f"gemma-3-{size}{kind}",) for size in ("270m",) for kind in ("", "-it")},
        **{f"google/gemma-3-1b{kind}": (f"gemma-3-1b{kind}",) for kind in ("-pt", "-it")},
        "google/medgemma-27b-text-it": ("medgemma-27b-text-it",),
    },
    "Gemma3ForConditionalGeneration": {
        **{f"google/gemma-3-{size}{kind}": (f"gemma-3-{size}{kind}",) for size in _GEMMA3_SIZES[2:] for kind in ("-pt", "-it")},
        **{f"google/medgemma-{name}": (f"medgemma-{name}",) for name in ("4b-pt", "4b-it", "27b-it")},
    },
    "QWenLMHeadModel": {
        f"Qwen/Qwen-{size}{chat}": (f"qwen-{size.replace('_', '.').lower()}{chat.lower()}",)
        for size in ("1_8B", "7B", "14B")
        for chat in ("", "-Chat")
    },
    "Qwen2ForCausalLM": {
        **_qwen_sizes("1.5", ("0.5B", "1.8B", "4B", "7B", "14B"), "Chat"),
        **_qwen_sizes("2", ("0.5B", "1.5B", "7B"), "Instruct"),
        **_qwen_sizes("2.5", ("0.5B", "1.5B", "3B", "7B", "14B", "32B", "72B"), "Instruct"),
        "Qwen/QwQ-32B-Preview": ("qwen-32b-preview",),
    },
    "Qwen3ForCausalLM": {
        **_lowercase_alias(*(f"Qwen/Qwen3-{size}" for size in ("0.6B", "1.7B", "4B", "8B", "14B"))),
        "Qwen/Qwen3-0.6B-Base": ("qwen3-0.6b-base",),
    },
    "PhiForCausalLM": _lowercase_alias("microsoft/phi-1", "microsoft/phi-1_5", "microsoft/phi-2"),
    "Phi3ForCausalLM": {"microsoft/Phi-3-mini-4k-instruct": ("phi-3",), "microsoft/phi-4": ("phi-4",)},
    "OlmoForCausalLM": {"allenai/OLMo-1B-hf": ("olmo-1b",), "allenai/OLMo-7B-hf": ("olmo-7b",)},
    "Olmo2ForCausalLM": {"allenai/OLMo-2-0425-1B": ("olmo-2-1b",), "allenai/OLMo-2-1124-7B": ("olmo-2-7b",)},
    "Olmo3ForCausalLM": _lowercase_alias(
        "allenai/Olmo-3-1025-7B",
        "allenai/Olmo-3-1125-32B",
        "allenai/Olmo-3-7B-Instruct",
        "allenai/Olmo-3-7B-Think",
        "allenai/Olmo-3-32B-Think",
        "allenai/Olmo-3.1-32B-Instruct",
        "allenai/Olmo-3.1-32B-Think",
    ),
    "OlmoeForCausalLM": {"allenai/OLMoE-1B-7B-0924": ("olmoe",)},
    "GptOssForCausalLM": {"openai/gpt-oss-20b": ("gpt-oss-20b", "gpt-oss")},
    "ApertusForCausalLM": {
        "swiss-ai/Apertus-8B-2509": ("apertus-8b", "apertus"),
        "swiss-ai/Apertus-8B-Instruct-2509": ("apertus-8b-instruct", "apertus-instruct"),
    },
    "BloomForCausalLM": _lowercase_alias(*(f"bigscience/bloom-{size}" for size in ("560m", "1b1", "1b7", "3b", "7b1"))),
    "GPT2LMHeadCustomModel": {"bigcode/santacoder": ("santacoder",)},
    "BertForMaskedLM": _lowercase_alias(
        *(f"google-bert/bert-{size}-{case}" for size in ("base", "large") for case in ("cased", "uncased"))
    ),
    "T5ForConditionalGeneration": _lowercase_alias(*(f"google-t5/t5-{size}" for size in ("small", "base", "large"))),
    "HubertModel": {"facebook/hubert-base-ls960": ("hubert-base-ls960",)},
    "Wav2Vec2ForPreTraining": {
        f"facebook/wav2vec2-{size}": (f"wav2vec2-{size}", f"w2v2-{size}") for size in ("base", "large")
    },
    # Stored in TransformerLens's own format (config.json of HookedTransformerConfig fields and a
    # .pth state dict), not as a transformers checkpoint.
    "neel": _NEEL_TL_FORMAT,
    "neel-solu-old": _NEEL_SOLU_OLD,
}

# Architectures listed above that LensLab cannot load yet -> the supported one closest to it,
# named in the one-line error. Families that gain one of these simply list it in HF_ARCHITECTURES.
NEAREST_SUPPORTED: dict[str, str] = {
    "HubertModel": "none (audio model)",
    "Wav2Vec2ForPreTraining": "none (audio model)",
}

# Fields upstream sets by name, over what the checkpoint's config says. TinyStories was trained
# on 512-token sequences although its config allows 2048 positions (upstream issue #492); the
# position table is cut to match.
CONFIG_BY_NAME_PREFIX: dict[str, dict[str, object]] = {"roneneldan/TinyStories": {"n_ctx": 512}}
