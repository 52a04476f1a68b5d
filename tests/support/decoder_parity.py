"""Shared oracle checks for decoder families: tiny random HF checkpoints against our forward.

Each check takes ``(directory, reference)``: a checkpoint saved with ``save_pretrained`` and the
Hugging Face model loaded back from it (eager attention). Norm weights and biases are randomised
(HF initialises them to 1 and 0, which would hide a wrong fold).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

VOCAB = 97
TOKENS = torch.randint(1, VOCAB, (3, 11), generator=torch.Generator().manual_seed(7))
LENGTHS = (11, 6, 3)
ATOL = 1e-4


def randomise_(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            is_norm = "norm" in name or ".ln_" in name or name.endswith("layernorm.weight") or name.endswith("layernorm.bias")
            param.copy_((1.0 if is_norm and "weight" in name else 0.0) + (0.2 if is_norm else 0.15) * noise)


def build_checkpoint(prefix: str, kwargs: dict, directory: Path, seed: int) -> Any:
    """Save a random ``{prefix}ForCausalLM`` to ``directory``; return HF's model loaded back from it."""
    import transformers

    config = getattr(transformers, f"{prefix}Config")(vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, pad_token_id=0, **kwargs)
    torch.manual_seed(0)
    model_class = getattr(transformers, f"{prefix}ForCausalLM")
    hf_model = model_class(config)
    randomise_(hf_model, seed)
    hf_model.save_pretrained(directory)
    reference = model_class.from_pretrained(directory, attn_implementation="eager").eval()
    reference.generation_config.eos_token_id = None  # greedy runs for exactly max_new_tokens
    return reference


def hf_log_probs(reference: Any, tokens: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return reference(tokens).logits.float().log_softmax(-1)


def load(directory: Path, processed: bool, **kwargs: Any):
    from transformer_lens import HookedTransformer

    loader = HookedTransformer.from_pretrained if processed else HookedTransformer.from_pretrained_no_processing
    return loader(str(directory), device="cpu", **kwargs)


def max_log_prob_error(model: Any, reference: Any) -> float:
    with torch.no_grad():
        ours = model(TOKENS).log_softmax(-1)
    return (ours - hf_log_probs(reference, TOKENS)).abs().max().item()


def padded(padding_side: str) -> tuple[torch.Tensor, torch.Tensor, list[slice]]:
    """TOKENS' rows cut to LENGTHS and padded on one side: tokens, mask and each row's real span."""
    tokens, mask = torch.zeros_like(TOKENS), torch.zeros_like(TOKENS)
    spans = []
    width = TOKENS.shape[1]
    for row, length in enumerate(LENGTHS):
        span = slice(width - length, width) if padding_side == "left" else slice(0, length)
        tokens[row, span], mask[row, span] = TOKENS[row, :length], 1
        spans.append(span)
    return tokens, mask, spans


def max_padded_error(model: Any, reference: Any, padding_side: str) -> float:
    """Largest log-prob gap between our padded batch and HF on each row alone, unpadded."""
    tokens, mask, spans = padded(padding_side)
    with torch.no_grad():
        batch = model(tokens, attention_mask=mask).log_softmax(-1)
    errors = [
        (batch[row, span] - hf_log_probs(reference, TOKENS[row : row + 1, :length])[0]).abs().max().item()
        for row, (span, length) in enumerate(zip(spans, LENGTHS))
    ]
    return max(errors)


def greedy_tokens_match_hf(model: Any, reference: Any, new_tokens: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    prompt = TOKENS[:2, :5]
    ours = model.generate(prompt, max_new_tokens=new_tokens, do_sample=False, stop_at_eos=False, use_past_kv_cache=True, verbose=False)
    with torch.no_grad():
        theirs = reference.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new_tokens, do_sample=False)
    return ours, theirs


def low_precision_agreement(directory: Path, reference: Any, dtype: torch.dtype) -> tuple[bool, float]:
    model = load(directory, processed=True, dtype=dtype)
    with torch.no_grad():
        log_probs = model(TOKENS).float().log_softmax(-1)
    agreement = (log_probs.argmax(-1) == hf_log_probs(reference, TOKENS).argmax(-1)).float().mean().item()
    return bool(torch.isfinite(log_probs).all()), agreement


def hooks_that_fire(model: Any, tokens: torch.Tensor) -> set[str]:
    fired: set[str] = set()
    model.run_with_hooks(tokens, fwd_hooks=[(lambda name: True, lambda act, hook: fired.add(hook.name))])
    return fired


def check_sidebar_hook_tree(model: Any) -> None:
    """Every hook has a table entry (component, shape) and is marked silent exactly when it never fires."""
    from lenslab.comm.handler import _hook_info

    infos = {name: _hook_info(name, model) for name in model.hook_dict}
    unknown = sorted(name for name, info in infos.items() if info.component == "other")
    assert not unknown, f"hooks missing from hook_names' table: {unknown[:5]}"
    silent = {name for name, info in infos.items() if info.silent}
    assert silent == set(model.hook_dict) - hooks_that_fire(model, TOKENS[:1, :6])


def check_patching_against_manual_hook(model: Any) -> None:
    """``get_act_patch_block_every`` and the per-head sweep run; one entry equals a hand-made patch."""
    from transformer_lens import patching

    clean, corrupted = TOKENS[:1, :6], TOKENS[1:2, :6]
    target = int(clean[0, -1])

    def metric(logits: torch.Tensor) -> torch.Tensor:
        return logits[:, -1].log_softmax(-1)[:, target].mean()

    with torch.no_grad():
        _, clean_cache = model.run_with_cache(clean)
        blocks = patching.get_act_patch_block_every(model, corrupted, clean_cache, metric, progress=False)
        heads = patching.get_act_patch_attn_head_all_pos_every(model, corrupted, clean_cache, metric, progress=False)
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    assert blocks.shape == (3, n_layers, 6) and heads.shape == (5, n_layers, n_heads)
    assert torch.isfinite(blocks).all() and torch.isfinite(heads).all()
    layer, pos, name = n_layers - 1, 2, f"blocks.{n_layers - 1}.hook_mlp_out"

    def patch(act: torch.Tensor, hook: Any) -> torch.Tensor:
        act[:, pos] = clean_cache[name][:, pos]
        return act

    with torch.no_grad():
        expected = metric(model.run_with_hooks(corrupted, fwd_hooks=[(name, patch)]))
    assert abs(blocks[2, layer, pos].item() - expected.item()) < 1e-4
    assert not any(hp.fwd_hooks for hp in model.hook_points())


def build_t5_checkpoint(directory: Path, num_layers: int, seed: int, **save_kwargs: Any) -> None:
    """Save a tiny random T5 (d_model 32, 4 heads) to ``directory``; ``save_kwargs`` go to
    ``save_pretrained`` (``max_shard_size=`` for a sharded checkpoint)."""
    import transformers

    config = transformers.T5Config(vocab_size=VOCAB, d_model=32, d_kv=8, d_ff=48, num_layers=num_layers, num_heads=4, decoder_start_token_id=0)
    torch.manual_seed(0)
    model = transformers.T5ForConditionalGeneration(config)
    randomise_(model, seed=seed)
    model.save_pretrained(directory, **save_kwargs)
