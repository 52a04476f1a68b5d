"""Every decoder family against Hugging Face's own implementation, on tiny random checkpoints.

Norm weights and biases are randomised too (HF initialises them to 1 and 0, which would hide
a wrong fold), and windows/partial rotary are set small enough to matter at these lengths.
"""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer

VOCAB = 97

FAMILIES = {
    "neox-parallel": ("GPTNeoX", dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64, rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}, use_parallel_residual=True)),
    "neox-sequential": ("GPTNeoX", dict(hidden_size=32, num_attention_heads=2, num_hidden_layers=2, intermediate_size=48, use_parallel_residual=False)),
    "neo-local": ("GPTNeo", dict(hidden_size=32, num_heads=4, num_layers=2, attention_types=[[["global", "local"], 1]], window_size=3, max_position_embeddings=64)),
    "gptj": ("GPTJ", dict(n_embd=32, n_head=4, n_layer=2, rotary_dim=4, n_positions=64)),
    "opt": ("OPT", dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, ffn_dim=64, word_embed_proj_dim=32, max_position_embeddings=64)),
    "llama-gqa": ("Llama", dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2, intermediate_size=64, max_position_embeddings=64)),
    "llama-mqa": ("Llama", dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=1, num_hidden_layers=2, intermediate_size=48, max_position_embeddings=64)),
    "mistral-window": ("Mistral", dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2, intermediate_size=64, sliding_window=3, max_position_embeddings=64)),
    "qwen2": ("Qwen2", dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2, intermediate_size=64, max_position_embeddings=64)),
    "gemma": ("Gemma", dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=1, num_hidden_layers=2, intermediate_size=64, head_dim=8, max_position_embeddings=64)),
}


def _randomise(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            is_norm = "norm" in name or ".ln_" in name
            param.copy_((1.0 if is_norm and "weight" in name else 0.0) + (0.2 if is_norm else 0.15) * noise)


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def checkpoint(request, tmp_path_factory):
    import transformers

    prefix, kwargs = FAMILIES[request.param]
    config = getattr(transformers, f"{prefix}Config")(vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, pad_token_id=0, **kwargs)
    torch.manual_seed(0)
    hf_model = getattr(transformers, f"{prefix}ForCausalLM")(config)
    _randomise(hf_model, seed=len(request.param))
    directory = tmp_path_factory.mktemp(request.param)
    hf_model.save_pretrained(directory)
    reference = getattr(transformers, f"{prefix}ForCausalLM").from_pretrained(directory, attn_implementation="eager").eval()
    return request.param, directory, reference


TOKENS = torch.randint(1, VOCAB, (3, 11), generator=torch.Generator().manual_seed(7))


def _hf_log_probs(reference, tokens):
    with torch.no_grad():
        return reference(tokens).logits.log_softmax(-1)


@pytest.mark.parametrize("processed", [True, False], ids=["processed", "unprocessed"])
def test_log_probs_match_hugging_face(checkpoint, processed):
    name, directory, reference = checkpoint
    load = HookedTransformer.from_pretrained if processed else HookedTransformer.from_pretrained_no_processing
    model = load(str(directory), device="cpu")
    expected = _hf_log_probs(reference, TOKENS)
    with torch.no_grad():
        ours = model(TOKENS).log_softmax(-1)
    assert (ours - expected).abs().max().item() < 1e-4, name
    # The cached residual stream matches HF's hidden states (unprocessed: same basis).
    if not processed:
        with torch.no_grad():
            hidden = reference(TOKENS, output_hidden_states=True).hidden_states
            _, cache = model.run_with_cache(TOKENS)
        for layer in range(model.cfg.n_layers):
            torch.testing.assert_close(cache[f"blocks.{layer}.hook_resid_pre"], hidden[layer], atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_padded_batches_equal_unpadded_runs(checkpoint, padding_side):
    name, directory, reference = checkpoint
    model = HookedTransformer.from_pretrained(str(directory), device="cpu")
    lengths = [11, 6, 3]
    tokens = torch.zeros_like(TOKENS)
    mask = torch.zeros_like(TOKENS)
    for row, length in enumerate(lengths):
        span = slice(11 - length, 11) if padding_side == "left" else slice(0, length)
        tokens[row, span] = TOKENS[row, :length]
        mask[row, span] = 1
    with torch.no_grad():
        batch = model(tokens, attention_mask=mask).log_softmax(-1)
    for row, length in enumerate(lengths):
        span = slice(11 - length, 11) if padding_side == "left" else slice(0, length)
        expected = _hf_log_probs(reference, TOKENS[row : row + 1, :length])[0]
        assert (batch[row, span] - expected).abs().max().item() < 1e-4, (name, row)


def test_half_precision_smoke(checkpoint):
    name, directory, reference = checkpoint
    for dtype in (torch.bfloat16, torch.float16):
        model = HookedTransformer.from_pretrained(str(directory), device="cpu", dtype=dtype)
        with torch.no_grad():
            log_probs = model(TOKENS).float().log_softmax(-1)
        expected = _hf_log_probs(reference, TOKENS)
        assert torch.isfinite(log_probs).all(), name
        # Low precision: the top prediction should mostly agree with fp32 HF.
        agreement = (log_probs.argmax(-1) == expected.argmax(-1)).float().mean().item()
        assert agreement > 0.8, (name, dtype, agreement)


def test_generation_with_kv_cache_matches_recompute(checkpoint):
    _, directory, _ = checkpoint
    model = HookedTransformer.from_pretrained(str(directory), device="cpu")
    kwargs = dict(max_new_tokens=5, do_sample=False, stop_at_eos=False, verbose=False)
    assert torch.equal(model.generate(TOKENS[:2, :6], use_past_kv_cache=True, **kwargs), model.generate(TOKENS[:2, :6], use_past_kv_cache=False, **kwargs))


def test_first_n_layers_loads_the_first_block(checkpoint):
    # Oracle: HF's hidden state after its first layer (of two), in the checkpoint's own basis.
    name, directory, reference = checkpoint
    model = HookedTransformer.from_pretrained_no_processing(str(directory), first_n_layers=1, device="cpu")
    assert model.cfg.n_layers == 1 and len(model.blocks) == 1
    with torch.no_grad():
        hidden = reference(TOKENS, output_hidden_states=True).hidden_states
        _, cache = model.run_with_cache(TOKENS)
    torch.testing.assert_close(cache["blocks.0.hook_resid_post"], hidden[1], atol=1e-4, rtol=1e-4, msg=name)
