"""The training script: data construction, auxiliary losses, determinism, export."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens.loading import embedded
from tools.train_tiny import bpe
from tools.train_tiny import train as train_tiny

TINY = train_tiny.TinySpec(name="lenslab/attn-only-2l", attn_only=True, seed=7, d_model=32, n_heads=2, n_ctx=128)
FEW_STEPS = train_tiny.TrainSettings(
    steps=4, warmup_phase_steps=2, natural_rows=2, synthetic_rows=2, short_rows=2, short_len=33,
    log_every=2, eval_windows=2, threads=2,
)


def test_synthetic_rows_repeat_their_span_and_point_at_the_induction_key():
    sampler = train_tiny.BatchSampler(torch.arange(1000) % 97, n_ctx=64, d_vocab=97, seed=3)
    tokens, mask, induction_key = sampler.synthetic(rows=6, length=64, span_range=(3, 20))
    assert (tokens[:, 0] == 0).all()
    for row in range(6):
        valid = (induction_key[row] >= 0).nonzero().flatten()
        span = int(valid[0]) - 1  # the first query with an earlier copy sits at span + 1
        assert (tokens[row, 1 + span :] == tokens[row, 1 : 64 - span]).all()
        # The key is the token right after the query token's previous occurrence.
        keys = induction_key[row, valid]
        assert (tokens[row, keys - 1] == tokens[row, valid]).all()
        assert (keys < valid).all()
        # Loss counts exactly the predictions of tokens that appeared before.
        assert mask[row].sum() == 64 - 1 - (span + 1)


def test_auxiliary_losses_are_zero_for_perfect_patterns_and_large_otherwise():
    n = 12
    previous = torch.zeros(1, 2, n, n)
    previous[0, :, 0, 0] = 1
    previous[0, :, torch.arange(1, n), torch.arange(n - 1)] = 1
    assert train_tiny.previous_token_attention_loss(previous) < 1e-5
    uniform = torch.tril(torch.ones(n, n)) / torch.arange(1, n + 1)[:, None]
    assert train_tiny.previous_token_attention_loss(uniform.expand(1, 2, n, n)) > 1.0

    span = 4
    query = torch.arange(n)
    induction_key = torch.where(query > span, query - span + 1, -1)[None]
    pattern = torch.zeros(1, 2, n, n)
    pattern[0, 0, query, torch.where(query > span, query - span + 1, 0)] = 1
    pattern[0, 1, :, 0] = 1  # head 1 rests on BOS, never a key here
    # Only head 0 attends to the key: the mean over heads is 0.5, so -log 2.
    assert train_tiny.induction_attention_loss(pattern, induction_key).item() == pytest.approx(
        torch.log(torch.tensor(2.0)).item(), abs=1e-4
    )


def test_training_is_deterministic_and_exports_a_loadable_checkpoint(tmp_path, monkeypatch):
    gen = torch.Generator().manual_seed(0)
    stream = torch.randint(1, 97, (4000,), generator=gen)
    eval_tokens = train_tiny.windows(stream, TINY.n_ctx, 0, 2)
    first, log = train_tiny.train_one(TINY, FEW_STEPS, stream, eval_tokens, d_vocab=97)
    second, log_again = train_tiny.train_one(TINY, FEW_STEPS, stream, eval_tokens, d_vocab=97)
    assert [e["step"] for e in log] == [2, 4]
    assert [{k: v for k, v in e.items() if k != "seconds"} for e in log] == [
        {k: v for k, v in e.items() if k != "seconds"} for e in log_again
    ]
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        assert torch.equal(a, b), name
    assert first.unembed.W_U.data_ptr() == first.embed.W_E.data_ptr()  # tied
    assert not torch.are_deterministic_algorithms_enabled()  # the global setting is restored

    # Export, then load through the package loader from that directory.
    tokenizer = bpe.train_bpe(["def f(x):\n    return x + 1\n"] * 20, vocab_size=300)
    bpe.save_tokenizer(tokenizer, tmp_path / embedded.TOKENIZER_FILE_NAME)
    record = train_tiny.export(first, tmp_path / "attn-only-2l", {"config": TINY.config_kwargs(97)})
    saved = json.loads((tmp_path / "attn-only-2l" / "config.json").read_text())
    assert saved["weights"]["sha256"] == record["weights"]["sha256"]
    assert saved["weights"]["tied_embeddings"] is True
    monkeypatch.setattr(embedded, "EMBEDDED_DIR", tmp_path)
    cfg_kwargs, state_dict, _ = embedded.load_embedded("lenslab/attn-only-2l")
    assert cfg_kwargs["model_name"] == "lenslab/attn-only-2l"
    for name, param in first.named_parameters():
        assert torch.allclose(state_dict[name], param.detach().half().float()), name
    assert torch.equal(state_dict["unembed.W_U"], state_dict["embed.W_E"].T)
    reloaded = HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")
    with torch.no_grad():
        expected = first(eval_tokens[:, :20]).log_softmax(-1)
        actual = reloaded(eval_tokens[:, :20]).log_softmax(-1)
    # float16 storage: predictions agree to float16 precision.
    assert (expected - actual).abs().max() < 2e-2


def test_probe_weight_fades_to_zero_halfway_through_the_main_phase():
    settings = replace(FEW_STEPS, steps=1000, warmup_phase_steps=200)
    assert settings.probe_weight(0) == settings.probe_weight(199) == 1.0
    assert settings.probe_weight(400) == pytest.approx(0.5)
    assert settings.probe_weight(600) == settings.probe_weight(999) == 0.0
