"""The shipped tiny models are real, trained models; measured here, never hard-coded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading import embedded
from tools.train_tiny import corpus

BOS = 0
SPAN = 50
EVAL_WINDOWS = 48


def _build_unprocessed(name: str) -> HookedTransformer:
    """Load through the loader contract alone: config kwargs + unprocessed state dict."""
    cfg_kwargs, state_dict, tokenizer = embedded.load_embedded(name)
    model = HookedTransformer(HookedTransformerConfig(**{**cfg_kwargs, "device": "cpu"}), tokenizer)
    model.load_state_dict_checked(state_dict)
    return model.eval()


@pytest.fixture(scope="module", params=embedded.EMBEDDED_MODEL_NAMES)
def model(request: pytest.FixtureRequest) -> HookedTransformer:
    return HookedTransformer.from_pretrained(request.param, device="cpu")


def _next_token_losses(model: HookedTransformer, tokens: torch.Tensor) -> torch.Tensor:
    """Per-position loss ``[batch, pos - 1]``; index t predicts token t + 1."""
    with torch.no_grad():
        logits = model(tokens, return_type="logits")
    return F.cross_entropy(
        logits[:, :-1].flatten(0, 1), tokens[:, 1:].flatten(), reduction="none"
    ).view(tokens.shape[0], -1)


def _stream(tokenizer, files: list[Path]) -> torch.Tensor:
    ids: list[int] = []
    encoded = tokenizer(list(corpus.read_texts(files)), add_special_tokens=False)["input_ids"]
    for file_ids in encoded:
        ids.append(BOS)
        ids.extend(file_ids)
    return torch.tensor(ids)


@pytest.fixture(scope="module")
def corpus_tokens() -> tuple[torch.Tensor, torch.Tensor]:
    """(train stream, held-out BOS-prefixed windows) from this interpreter's stdlib."""
    train_files, heldout_files = corpus.corpus_files("train"), corpus.corpus_files("heldout")
    if not train_files or not heldout_files:
        pytest.skip("this interpreter has no stdlib sources to evaluate on")
    tokenizer = embedded.load_tokenizer()
    heldout = _stream(tokenizer, heldout_files)
    body = 255
    starts = torch.linspace(0, len(heldout) - body - 1, EVAL_WINDOWS).long()
    windows = torch.stack([heldout[s : s + body] for s in starts.tolist()])
    windows = torch.cat([torch.full((EVAL_WINDOWS, 1), BOS), windows], dim=1)
    return _stream(tokenizer, train_files), windows


def test_heldout_loss_far_below_unigram_baseline(model, corpus_tokens):
    train, windows = corpus_tokens
    counts = torch.bincount(train, minlength=model.cfg.d_vocab).double() + 1  # add-one
    unigram = -(counts / counts.sum()).log()[windows[:, 1:]].mean().item()
    model_loss = _next_token_losses(model, windows).mean().item()
    message = f"{model.cfg.model_name}: held-out loss {model_loss:.3f} vs unigram {unigram:.3f} nats"
    print(message)
    # 2 nats: more than 7x lower perplexity than the unigram model.
    assert model_loss < unigram - 2.0, message


def test_layer1_head_does_induction(model):
    gen = torch.Generator().manual_seed(1234)
    span = torch.randint(1, model.cfg.d_vocab, (8, SPAN), generator=gen)
    tokens = torch.cat([torch.full((8, 1), BOS), span, span], dim=1)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    pattern = cache["blocks.1.attn.hook_pattern"]  # [batch, head, query, key]
    queries = torch.arange(SPAN + 1, 2 * SPAN + 1)  # the second copy
    keys = queries - SPAN + 1  # the token after the query's earlier copy
    scores = pattern[:, :, queries, keys].mean(dim=(0, 2))
    losses = _next_token_losses(model, tokens)
    first, repeated = losses[:, :SPAN].mean().item(), losses[:, SPAN + 1 :].mean().item()
    message = (
        f"{model.cfg.model_name}: layer-1 induction scores {[round(s, 3) for s in scores.tolist()]}, "
        f"loss first copy {first:.3f}, repeated copy {repeated:.3f}"
    )
    print(message)
    assert scores.max().item() >= 0.6, message
    assert repeated < 0.25 * first, message


def test_processed_weights_match_the_unprocessed_checkpoint(model):
    """from_pretrained folds and centres weights; predictions must not change."""
    raw = _build_unprocessed(model.cfg.model_name)
    tokens = model.to_tokens("def read(self, path):\n    with open(path) as f:\n        return f.read()\n")
    with torch.no_grad():
        expected = raw(tokens).log_softmax(dim=-1)
        actual = model(tokens).log_softmax(dim=-1)
    assert torch.allclose(actual, expected, atol=1e-4), (actual - expected).abs().max()


def _forbid_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def no_hub(*args, **kwargs):
        raise AssertionError("an embedded name must never reach the hub")

    for attr in ("hf_hub_download", "snapshot_download", "model_info"):
        monkeypatch.setattr(huggingface_hub, attr, no_hub)


@pytest.mark.parametrize("name", embedded.EMBEDDED_MODEL_NAMES)
def test_names_are_official_and_set_on_the_config(name, monkeypatch):
    from transformer_lens.loading import registry

    _forbid_hub(monkeypatch)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # offline mode must not be what saves us

    import transformer_lens

    assert name.startswith("lenslab/") and name in registry.official_model_names()
    assert name in transformer_lens.loading.OFFICIAL_MODEL_NAMES  # upstream's spelling
    assert transformer_lens.loading.get_official_model_name(name.upper()) == name
    assert embedded.is_embedded(name) and embedded.is_embedded(name.upper())
    assert _build_unprocessed(name).cfg.model_name == name
    assert HookedTransformer.from_pretrained(name.upper(), device="cpu").cfg.model_name == name


def test_tokenizer_round_trips_with_endoftext_specials():
    tokenizer = embedded.load_tokenizer()
    assert tokenizer.bos_token_id == tokenizer.eos_token_id == tokenizer.pad_token_id == BOS
    text = "class Foo:\n    def bar(self):\n        return 'é'\n"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_truncated_weights_raise_naming_the_file(tmp_path, monkeypatch):
    copy = tmp_path / "embedded"
    shutil.copytree(embedded.EMBEDDED_DIR, copy)
    weights = copy / "attn-only-2l" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    monkeypatch.setattr(embedded, "EMBEDDED_DIR", copy)
    with pytest.raises(OSError, match="corrupted or truncated") as info:
        embedded.load_embedded("lenslab/attn-only-2l")
    assert str(weights) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_config_raises_naming_the_file(tmp_path, monkeypatch):
    copy = tmp_path / "embedded"
    shutil.copytree(embedded.EMBEDDED_DIR, copy)
    (copy / "gelu-2l" / "config.json").unlink()
    monkeypatch.setattr(embedded, "EMBEDDED_DIR", copy)
    with pytest.raises(OSError, match="missing") as info:
        HookedTransformer.from_pretrained("lenslab/gelu-2l", device="cpu")
    assert str(copy / "gelu-2l" / "config.json") in str(info.value)


def test_corrupted_header_raises_naming_the_file(tmp_path, monkeypatch):
    copy = tmp_path / "embedded"
    shutil.copytree(embedded.EMBEDDED_DIR, copy)
    weights = copy / "gelu-2l" / "model.safetensors"
    weights.write_bytes(b"\xff" * 8 + weights.read_bytes()[8:])
    monkeypatch.setattr(embedded, "EMBEDDED_DIR", copy)
    with pytest.raises(OSError, match="corrupted") as info:
        embedded.load_embedded("lenslab/gelu-2l")
    assert str(weights) in str(info.value)


@pytest.mark.parametrize("load", [embedded.load_embedded, HookedTransformer.from_pretrained])
def test_unknown_name_lists_available_models(load, monkeypatch):
    _forbid_hub(monkeypatch)
    assert embedded.is_embedded("lenslab/no-such-model")
    with pytest.raises(ValueError) as info:
        load("lenslab/no-such-model")
    for name in embedded.EMBEDDED_MODEL_NAMES:
        assert name in str(info.value)


def test_shipped_files_fit_the_wheel_budget():
    """Weights and tokenizer together stay within 10 MB (MB = 10**6 bytes)."""
    files = [p for p in embedded.EMBEDDED_DIR.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"tokenizer.json", "config.json", "model.safetensors"}
    total = sum(p.stat().st_size for p in files)
    assert total <= 10_000_000, f"{total:,} bytes"


def test_recorded_scores_are_what_the_shipped_weights_give(model):
    """config.json's training record (read by tutorial 2) matches a fresh measurement."""
    from tools.train_tiny import train as train_tiny

    recorded = embedded.read_model_config(model.cfg.model_name)["training"]["induction"]
    measured = train_tiny.induction_report(model, model.cfg.d_vocab)
    assert torch.allclose(torch.tensor(measured["scores"]), torch.tensor(recorded["scores"]), atol=0.02)
