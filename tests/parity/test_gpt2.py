"""Parity with Hugging Face's GPT-2 forward pass, on random checkpoints built in the test.

Outputs are compared as log-probabilities: center_unembed shifts every logit at a position by
the same amount, which log_softmax removes. fp32, atol 1e-4. The checkpoints have random
LayerNorm and bias values (see hf_checkpoints.randomize_), so folding mistakes show.
"""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2LMHeadModel

ATOL = 1e-4

SHAPES = {
    "2L-4H-d64": dict(n_layer=2, n_head=4, n_embd=64),
    "3L-2H-d32-relu": dict(n_layer=3, n_head=2, n_embd=32, activation_function="relu"),
    "1L-1H-d16": dict(n_layer=1, n_head=1, n_embd=16),
    "2L-8H-d64-n_inner-eps": dict(n_layer=2, n_head=8, n_embd=64, n_inner=96, layer_norm_epsilon=1e-6),
}
FLAGS = ("fold_ln", "center_writing_weights", "center_unembed", "fold_value_biases")
ALL_ON = dict.fromkeys(FLAGS, True)
ALL_OFF = dict.fromkeys(FLAGS, False)


def random_tokens(vocab_size: int, batch: int = 2, pos: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, vocab_size, (batch, pos), generator=torch.Generator().manual_seed(seed))


def hf_log_probs(hf_model, tokens: torch.Tensor, **kwargs) -> torch.Tensor:
    with torch.no_grad():
        return hf_model(tokens, **kwargs).logits.log_softmax(-1)


def our_log_probs(model, tokens: torch.Tensor, **kwargs) -> torch.Tensor:
    with torch.no_grad():
        return model(tokens, **kwargs).log_softmax(-1)


def hooked_transformer():
    # Imported per test, not at module level: an import error then fails each test instead of
    # aborting the whole session at collection.
    from transformer_lens import HookedTransformer

    return HookedTransformer


def load(directory, how: str, device: str, **overrides):
    """how: "default" (from_pretrained, processing on), "no_processing", "all_on", "all_off"."""
    HookedTransformer = hooked_transformer()
    if how == "no_processing":
        return HookedTransformer.from_pretrained_no_processing(str(directory), device=device, **overrides)
    flags = {"default": {}, "all_on": ALL_ON, "all_off": ALL_OFF}[how]
    return HookedTransformer.from_pretrained(str(directory), device=device, **flags, **overrides)


@pytest.fixture(scope="module", params=list(SHAPES), ids=list(SHAPES))
def checkpoint(request, make_gpt2_checkpoint, device):
    directory, hf_model = make_gpt2_checkpoint(seed=list(SHAPES).index(request.param), **SHAPES[request.param])
    return directory, hf_model.to(device)


@pytest.mark.parametrize("how", ["default", "no_processing", "all_on", "all_off"])
def test_log_probs_match_hf(checkpoint, how, device):
    directory, hf_model = checkpoint
    model = load(directory, how, device)
    assert model.cfg.n_layers == hf_model.config.n_layer
    assert model.cfg.n_heads == hf_model.config.n_head
    assert model.cfg.d_model == hf_model.config.n_embd
    assert model.cfg.d_mlp == (hf_model.config.n_inner or 4 * hf_model.config.n_embd)
    assert model.cfg.act_fn == hf_model.config.activation_function
    tokens = random_tokens(hf_model.config.vocab_size).to(device)
    torch.testing.assert_close(our_log_probs(model, tokens), hf_log_probs(hf_model, tokens), atol=ATOL, rtol=0)


@pytest.mark.parametrize("flag", FLAGS)
def test_each_processing_step_alone(make_gpt2_checkpoint, flag, device):
    directory, hf_model = make_gpt2_checkpoint(seed=11, **SHAPES["2L-4H-d64"])
    hf_model.to(device)
    model = hooked_transformer().from_pretrained(str(directory), device=device, **{**ALL_OFF, flag: True})
    tokens = random_tokens(hf_model.config.vocab_size, seed=1).to(device)
    torch.testing.assert_close(our_log_probs(model, tokens), hf_log_probs(hf_model, tokens), atol=ATOL, rtol=0)


@pytest.mark.parametrize("how", ["default", "no_processing"])
def test_loss_matches_hf(checkpoint, how, device):
    directory, hf_model = checkpoint
    model = load(directory, how, device)
    tokens = random_tokens(hf_model.config.vocab_size, seed=2).to(device)
    with torch.no_grad():
        ours = model(tokens, return_type="loss")
        theirs = hf_model(tokens, labels=tokens).loss
    torch.testing.assert_close(ours, theirs, atol=ATOL, rtol=0)


@pytest.mark.parametrize("how", ["default", "no_processing"])
def test_activation_override_matches_hf(make_gpt2_checkpoint, how, device):
    # Saved with gelu_new; the HF config key given to from_pretrained wins, as in the guide.
    directory, _ = make_gpt2_checkpoint(seed=5, n_layer=3, n_head=2, n_embd=32)
    hf_model = GPT2LMHeadModel.from_pretrained(
        directory, activation_function="relu", attn_implementation="eager"
    ).to(device).eval()
    model = load(directory, how, device, activation_function="relu")
    assert model.cfg.act_fn == "relu"
    tokens = random_tokens(hf_model.config.vocab_size, seed=3).to(device)
    torch.testing.assert_close(our_log_probs(model, tokens), hf_log_probs(hf_model, tokens), atol=ATOL, rtol=0)


def test_hf_model_argument(make_gpt2_checkpoint, device):
    # Weights come from the hf_model given, not from the directory's safetensors.
    directory, _ = make_gpt2_checkpoint(seed=6, n_layer=2, n_head=4, n_embd=64)
    _, other = make_gpt2_checkpoint(seed=7, n_layer=2, n_head=4, n_embd=64)
    other.to(device)
    model = hooked_transformer().from_pretrained(str(directory), hf_model=other, device=device)
    tokens = random_tokens(other.config.vocab_size, seed=4).to(device)
    torch.testing.assert_close(our_log_probs(model, tokens), hf_log_probs(other, tokens), atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["gpt2", "gpt2-small"])
def test_hub_gpt2_with_real_tokenizer(name, device):
    # The session's hub cache `gpt2` (8 layers, GPT-2's vocab) loaded by name, as the guide does.
    hf_model = AutoModelForCausalLM.from_pretrained("gpt2", attn_implementation="eager").to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained("gpt2")
    model = hooked_transformer().from_pretrained(name, device=device)
    assert model.cfg.model_name == "gpt2"
    prompt = "The Eiffel Tower is located in"
    tokens = model.to_tokens(prompt)
    expected = [tokenizer.bos_token_id] + tokenizer(prompt).input_ids
    assert tokens.tolist() == [expected]
    torch.testing.assert_close(our_log_probs(model, tokens), hf_log_probs(hf_model, tokens), atol=ATOL, rtol=0)


def test_resid_pre_matches_hf_hidden_states(checkpoint, device):
    # Unprocessed weights: the residual stream is HF's hidden state exactly.
    directory, hf_model = checkpoint
    model = load(directory, "no_processing", device)
    tokens = random_tokens(hf_model.config.vocab_size, seed=5).to(device)
    with torch.no_grad():
        hidden = hf_model(tokens, output_hidden_states=True).hidden_states
        _, cache = model.run_with_cache(tokens)
    n_layers = model.cfg.n_layers
    assert len(hidden) == n_layers + 1
    for layer in range(n_layers):
        torch.testing.assert_close(cache[f"blocks.{layer}.hook_resid_pre"], hidden[layer], atol=ATOL, rtol=0)
    # HF's last hidden state is after ln_f, weight and bias included; hook_normalized is before
    # them (upstream 3.x semantics), so apply them here.
    ln_final = model.ln_final
    after_ln = cache["ln_final.hook_normalized"] * ln_final.w + ln_final.b
    torch.testing.assert_close(after_ln.detach(), hidden[n_layers], atol=ATOL, rtol=0)


def test_centered_resid_pre_matches_hf_hidden_states(checkpoint, device):
    # center_writing_weights makes every write to the residual stream mean-zero, so the
    # processed residual is HF's hidden state minus its mean over d_model.
    directory, hf_model = checkpoint
    model = load(directory, "default", device)
    tokens = random_tokens(hf_model.config.vocab_size, seed=6).to(device)
    with torch.no_grad():
        hidden = hf_model(tokens, output_hidden_states=True).hidden_states
        _, cache = model.run_with_cache(tokens)
    for layer in range(model.cfg.n_layers):
        centered = hidden[layer] - hidden[layer].mean(-1, keepdim=True)
        torch.testing.assert_close(cache[f"blocks.{layer}.hook_resid_pre"], centered, atol=ATOL, rtol=0)


@pytest.mark.parametrize("how", ["default", "no_processing"])
def test_attention_patterns_match_hf(checkpoint, how, device):
    directory, hf_model = checkpoint
    model = load(directory, how, device)
    tokens = random_tokens(hf_model.config.vocab_size, seed=7).to(device)
    with torch.no_grad():
        attentions = hf_model(tokens, output_attentions=True).attentions
        _, cache = model.run_with_cache(tokens, names_filter=lambda name: name.endswith("hook_pattern"))
    for layer, expected in enumerate(attentions):
        torch.testing.assert_close(cache[f"blocks.{layer}.attn.hook_pattern"], expected, atol=ATOL, rtol=0)


PROMPTS = ["a b c", "a much longer prompt here"]


@pytest.fixture(scope="module")
def guide_shaped(gpt2_checkpoint_dir, device):
    """Our model and HF's for the 8-layer, real-tokenizer checkpoint directory."""
    model = hooked_transformer().from_pretrained(str(gpt2_checkpoint_dir), device=device)
    hf_model = GPT2LMHeadModel.from_pretrained(gpt2_checkpoint_dir, attn_implementation="eager").to(device).eval()
    return model, hf_model


def single_runs(model, hf_model):
    """Per prompt: its unpadded tokens and our log-probs, checked against HF's."""
    runs = []
    for prompt in PROMPTS:
        tokens = model.to_tokens(prompt)
        ours = our_log_probs(model, tokens)
        torch.testing.assert_close(ours, hf_log_probs(hf_model, tokens), atol=ATOL, rtol=0)
        runs.append((tokens[0], ours[0]))
    return runs


@pytest.mark.parametrize("with_mask", [False, True], ids=["causal-only", "attention_mask"])
def test_right_padded_batch_matches_single_runs(guide_shaped, with_mask):
    # Right padding: real tokens keep positions 0..len-1 and never attend to the pads after
    # them, so the causal mask alone suffices; an explicit mask must not change that.
    model, hf_model = guide_shaped
    runs = single_runs(model, hf_model)
    tokens = model.to_tokens(PROMPTS, padding_side="right")
    mask = torch.zeros(tokens.shape, dtype=torch.long, device=tokens.device)
    for row, (single, _) in enumerate(runs):
        mask[row, : len(single)] = 1
        assert tokens[row, : len(single)].tolist() == single.tolist()
    batch = our_log_probs(model, tokens, attention_mask=mask) if with_mask else our_log_probs(model, tokens)
    for row, (single, expected) in enumerate(runs):
        torch.testing.assert_close(batch[row, : len(single)], expected, atol=ATOL, rtol=0)


def test_left_padded_batch_matches_single_runs(guide_shaped):
    # Left padding needs the mask twice: pads must get no attention, and positions must count
    # from each sequence's first real token.
    model, hf_model = guide_shaped
    runs = single_runs(model, hf_model)
    tokens = model.to_tokens(PROMPTS, padding_side="left")
    width = tokens.shape[1]
    mask = torch.zeros(tokens.shape, dtype=torch.long, device=tokens.device)
    for row, (single, _) in enumerate(runs):
        mask[row, width - len(single) :] = 1
        assert tokens[row, width - len(single) :].tolist() == single.tolist()
    batch = our_log_probs(model, tokens, attention_mask=mask)
    for row, (single, expected) in enumerate(runs):
        torch.testing.assert_close(batch[row, width - len(single) :], expected, atol=ATOL, rtol=0)
