"""The dense decoder families of issue 14 against Hugging Face's own implementations.

Tiny random checkpoints of each architecture (norm weights randomised too, windows, soft caps
and RoPE scalings set so they matter at these lengths), saved to a temporary directory and
loaded through ``from_pretrained``. One module-scoped model pair per family; the measured
differences are printed (``-s``) for the README's parity table.
"""

from __future__ import annotations

import json

import pytest
import torch

from transformer_lens import HookedTransformer, hook_names, patching

VOCAB = 97
TOL = 1e-4
SMALL = dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64, max_position_embeddings=64)
LOCAL_GLOBAL = ["sliding_attention", "full_attention"]

# name -> (transformers config class, model class, config kwargs)
FAMILIES = {
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", dict(SMALL, num_key_value_heads=2, head_dim=8, query_pre_attn_scalar=12, sliding_window=3, attn_logit_softcapping=5.0, final_logit_softcapping=3.0)),
    "gemma3": ("Gemma3TextConfig", "Gemma3ForCausalLM", dict(SMALL, num_key_value_heads=2, head_dim=8, query_pre_attn_scalar=12, sliding_window=3, layer_types=LOCAL_GLOBAL, rope_parameters={"sliding_attention": {"rope_type": "default", "rope_theta": 100.0}, "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 10000.0}})),
    "llama3-rope": ("LlamaConfig", "LlamaForCausalLM", dict(SMALL, num_key_value_heads=2, rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16})),
    "llama-yarn": ("LlamaConfig", "LlamaForCausalLM", dict(SMALL, rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 16})),
    "llama-dynamic": ("LlamaConfig", "LlamaForCausalLM", dict(SMALL, max_position_embeddings=8, rope_parameters={"rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0})),
    "llama-linear": ("LlamaConfig", "LlamaForCausalLM", dict(SMALL, rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 3.0})),
    "mistral-head-dim": ("MistralConfig", "MistralForCausalLM", dict(SMALL, num_key_value_heads=2, head_dim=16, sliding_window=4)),
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(SMALL, num_key_value_heads=2, head_dim=8)),
    "phi": ("PhiConfig", "PhiForCausalLM", dict(SMALL, partial_rotary_factor=0.5, qk_layernorm=True)),
    "phi3": ("Phi3Config", "Phi3ForCausalLM", dict(SMALL, num_key_value_heads=2, rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.75})),
    # Long rows (> 4 tokens) take the long factors, short padded rows the short ones.
    "phi3-longrope": ("Phi3Config", "Phi3ForCausalLM", dict(SMALL, num_key_value_heads=2, original_max_position_embeddings=4, rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75, "short_factor": [1.0, 1.5, 2.0], "long_factor": [5.0, 30.0, 70.0], "original_max_position_embeddings": 4})),
    "olmo": ("OlmoConfig", "OlmoForCausalLM", dict(SMALL, clip_qkv=0.5)),  # small enough to clamp
    "olmo2": ("Olmo2Config", "Olmo2ForCausalLM", dict(SMALL, num_key_value_heads=2)),
    "olmo3": ("Olmo3Config", "Olmo3ForCausalLM", dict(SMALL, num_key_value_heads=2, sliding_window=3, layer_types=LOCAL_GLOBAL)),
    "stablelm": ("StableLmConfig", "StableLmForCausalLM", dict(SMALL, num_key_value_heads=2, use_qkv_bias=True, partial_rotary_factor=0.25)),
    "stablelm-parallel": ("StableLmConfig", "StableLmForCausalLM", dict(SMALL, num_key_value_heads=4, use_parallel_residual=True)),
    "apertus": ("ApertusConfig", "ApertusForCausalLM", dict(SMALL, num_key_value_heads=2)),
}


def _randomise(model: torch.nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator)
            if ".act_fn." in name:  # xIELU's learned scalars: move them off their defaults
                param.add_(0.3 * noise)
                continue
            is_norm = "norm" in name
            param.copy_((1.0 if is_norm and "weight" in name else 0.0) + (0.2 if is_norm else 0.15) * noise)


def _build(name: str, directory) -> torch.nn.Module:
    import transformers

    config_class, model_class, kwargs = FAMILIES[name]
    # No end-of-sequence token: HF's greedy generate then runs to max_new_tokens, as stop_at_eos=False.
    config = getattr(transformers, config_class)(vocab_size=VOCAB, bos_token_id=0, eos_token_id=None, pad_token_id=0, **kwargs)
    torch.manual_seed(0)
    hf_model = getattr(transformers, model_class)(config)
    _randomise(hf_model, seed=len(name))
    hf_model.save_pretrained(directory)
    return getattr(transformers, model_class).from_pretrained(directory, attn_implementation="eager").eval()


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory):
    """(name, HF reference, processed model, unprocessed model); the checkpoint's directory is
    the reference's ``name_or_path``."""
    directory = tmp_path_factory.mktemp(request.param)
    reference = _build(request.param, directory)
    processed = HookedTransformer.from_pretrained(str(directory), device="cpu")
    unprocessed = HookedTransformer.from_pretrained_no_processing(str(directory), device="cpu")
    return request.param, reference, processed, unprocessed


TOKENS = torch.randint(1, VOCAB, (3, 11), generator=torch.Generator().manual_seed(7))


def _hf_log_probs(reference, tokens):
    with torch.no_grad():
        return reference(tokens).logits.log_softmax(-1)


def _max_diff(model, reference, tokens=TOKENS) -> float:
    with torch.no_grad():
        return (model(tokens).log_softmax(-1) - _hf_log_probs(reference, tokens)).abs().max().item()


def test_log_probs_match_hugging_face(family):
    name, reference, processed, unprocessed = family
    diffs = _max_diff(processed, reference), _max_diff(unprocessed, reference)
    print(f"\n{name}: max |d log-prob| processed {diffs[0]:.2e}, unprocessed {diffs[1]:.2e}")
    assert max(diffs) < TOL, (name, diffs)
    # The unprocessed residual stream is HF's hidden states (same basis).
    with torch.no_grad():
        hidden = reference(TOKENS, output_hidden_states=True).hidden_states
        _, cache = unprocessed.run_with_cache(TOKENS)
    for layer in range(unprocessed.cfg.n_layers):
        torch.testing.assert_close(cache[f"blocks.{layer}.hook_resid_pre"], hidden[layer], atol=TOL, rtol=TOL)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_padded_batches_equal_unpadded_hugging_face_runs(family, padding_side):
    name, reference, processed, _ = family
    lengths = [11, 6, 3]
    tokens, mask = torch.zeros_like(TOKENS), torch.zeros_like(TOKENS)
    spans = [slice(11 - n, 11) if padding_side == "left" else slice(0, n) for n in lengths]
    for row, (length, span) in enumerate(zip(lengths, spans)):
        tokens[row, span], mask[row, span] = TOKENS[row, :length], 1
    with torch.no_grad():
        batch = processed(tokens, attention_mask=mask).log_softmax(-1)
    for row, (length, span) in enumerate(zip(lengths, spans)):
        expected = _hf_log_probs(reference, TOKENS[row : row + 1, :length])[0]
        assert (batch[row, span] - expected).abs().max().item() < TOL, (name, row)


def test_kv_cache_generation_equals_hugging_face_greedy(family):
    name, reference, processed, _ = family
    prompt = TOKENS[:2, :6]
    ours = processed.generate(prompt, max_new_tokens=6, do_sample=False, stop_at_eos=False, verbose=False, use_past_kv_cache=True)
    with torch.no_grad():
        theirs = reference.generate(prompt, max_new_tokens=6, do_sample=False)
    assert torch.equal(ours, theirs), name


def test_longrope_generation_across_the_original_context_equals_hugging_face(tmp_path):
    """A 3-token prompt crosses the 4-token original context while generating: HF's Phi-3 then
    recomputes its cache with the long factors, and so must we."""
    reference = _build("phi3-longrope", tmp_path)
    model = HookedTransformer.from_pretrained(str(tmp_path), device="cpu")
    prompt = torch.randint(1, VOCAB, (8, 3), generator=torch.Generator().manual_seed(11))
    ours = model.generate(prompt, max_new_tokens=5, do_sample=False, stop_at_eos=False, verbose=False, use_past_kv_cache=True)
    recomputed = model.generate(prompt, max_new_tokens=5, do_sample=False, stop_at_eos=False, verbose=False, use_past_kv_cache=False)
    assert not torch.equal(recomputed[:, 4:], recomputed[:, 4:].roll(1, 0)), "rows should differ"
    with torch.no_grad():
        theirs = reference.generate(prompt, max_new_tokens=5, do_sample=False)
    assert torch.equal(ours, theirs) and torch.equal(recomputed, theirs)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_half_precision_smoke(family, dtype):
    name, reference, _, _ = family
    model = HookedTransformer.from_pretrained(str(reference.name_or_path), device="cpu", dtype=dtype)
    with torch.no_grad():
        log_probs = model(TOKENS).float().log_softmax(-1)
    assert torch.isfinite(log_probs).all(), name
    agreement = (log_probs.argmax(-1) == _hf_log_probs(reference, TOKENS).argmax(-1)).float().mean().item()
    assert agreement > 0.8, (name, dtype, agreement)


@pytest.fixture(scope="module")
def schema_validator():
    import jsonschema

    from lenslab.comm import protocol as p

    return jsonschema.Draft202012Validator(p.json_schema())


def _sidebar_hooks(model, validator):
    """The sidebar's hook list (what its hook tree is built from) and each hook's sizes, through
    the comm handler; sizes for the model-level hooks and block 0 (the other blocks repeat it)."""
    from sidebar_fakes import FakePanel, request

    from lenslab.comm.handler import SidebarHandler
    from lenslab.comm.jobs import JobRunner

    panel, runner = FakePanel(validator), JobRunner()
    handler = SidebarHandler(panel.send, lambda: {"model": model}, runner)
    try:
        handler.handle(request("list_hooks", model="model"))
        hooks = panel.last()["hooks"]
        sizes = {}
        for hook in hooks:
            if hook["layer"] in (None, 0):
                handler.handle(request("describe_hook", model="model", hook=hook["name"]))
                sizes[hook["name"]] = panel.last()["sizes"]
        return hooks, sizes
    finally:
        handler.close()
        runner.cancel_all()


def test_sidebar_hook_tree_describes_every_hook_as_it_fires(family, schema_validator):
    name, _, processed, _ = family
    hooks, sizes = _sidebar_hooks(processed, schema_validator)
    assert [h["name"] for h in hooks] == list(processed.hook_dict)
    with torch.no_grad():
        _, cache = processed.run_with_cache(TOKENS[:1, :5])
    for hook in hooks:
        assert hook["component"] != "other", (name, hook["name"])
        assert (hook["silent"] is None) == (hook["name"] in cache), (name, hook["name"], hook["silent"])
        if hook["name"] in sizes and hook["name"] in cache:  # the oracle: the activation's real shape
            actual = cache[hook["name"]].shape
            assert len(actual) == len(sizes[hook["name"]]), (name, hook["name"])
            assert all(s is None or s == a for s, a in zip(sizes[hook["name"]], actual)), (name, hook["name"], sizes[hook["name"]], actual)


def test_sublayer_output_hooks_hold_what_is_added_to_the_residual_stream(family):
    """With post-norms (Gemma 2/3, OLMo 2/3) too: resid_post = resid_pre + attn_out + mlp_out,
    so decompositions and direct logit attribution read the right tensors."""
    name, _, processed, _ = family
    with torch.no_grad():
        _, cache = processed.run_with_cache(TOKENS[:2, :7])
        for layer in range(processed.cfg.n_layers):
            total = cache["resid_pre", layer] + cache["attn_out", layer] + cache["mlp_out", layer]
            torch.testing.assert_close(total, cache["resid_post", layer], atol=1e-5, rtol=1e-5)
        stack = cache.decompose_resid(layer=1, mode="all")
        # OLMo 2/3 blocks read the raw stream (no pre-norm): scaling for block 1 is the identity there.
        scaled = cache.apply_ln_to_stack(stack, layer=1)
        if processed.cfg.normalization_after_only:
            torch.testing.assert_close(scaled, stack)
        else:  # the components add up to block 1's normalised input (before any norm weights)
            resid, eps = cache["resid_pre", 1], processed.cfg.eps
            centered = processed.cfg.normalization_type.startswith("LN")
            expected = torch.nn.functional.layer_norm(resid, resid.shape[-1:], eps=eps) if centered else torch.nn.functional.rms_norm(resid, resid.shape[-1:], eps=eps)
            torch.testing.assert_close(scaled.sum(0), expected, atol=1e-4, rtol=1e-4)


PATCHING_FUNCTIONS = sorted(n for n in dir(patching) if n.startswith("get_act_patch_"))


def test_every_patching_function_runs_and_batched_equals_sequential(family):
    name, _, processed, _ = family
    clean, corrupted = TOKENS[:1, :5], TOKENS[1:2, :5].clone()
    corrupted[:, 0] = clean[:, 0]  # a shared first token exercises the engine's prefix reuse

    def metric(logits):
        return logits[:, -1].log_softmax(-1)[:, 3].mean()

    with torch.no_grad():
        _, cache = processed.run_with_cache(clean)
        corrupted_value = metric(processed(corrupted))
        for function_name in PATCHING_FUNCTIONS:
            if function_name.endswith("resid_mid") and processed.cfg.parallel_attn_mlp:
                continue  # no resid_mid in a parallel block
            result = getattr(patching, function_name)(processed, corrupted, cache, metric, progress=False)
            assert torch.isfinite(result).all(), (name, function_name)
        # Patching the residual stream entering block 0 everywhere restores the clean run exactly.
        block = patching.get_act_patch_block_every(processed, corrupted, cache, metric, progress=False)
        sequential = patching.get_act_patch_block_every(processed, corrupted, cache, metric, progress=False, sequential=True)
    assert (block - sequential).abs().max() < TOL, name
    assert block.std() > 1e-4, name
    # Position 0 holds the same token in both runs: patching it changes nothing.
    assert (block[:, :, 0] - corrupted_value).abs().max() < TOL, name


# ---- layouts without their own test model above ----------------------------------------------


def _qwen1_checkpoint(directory) -> torch.nn.Module:
    """A Qwen (1) checkpoint (remote-code layout, config.json only) and its Qwen2 twin as the oracle."""
    from safetensors.torch import save_file
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, pad_token_id=0, **SMALL, num_key_value_heads=4, rms_norm_eps=1e-6)
    torch.manual_seed(0)
    twin = Qwen2ForCausalLM(config)
    _randomise(twin, seed=5)
    twin.eval()
    hf = twin.state_dict()
    tensors = {"transformer.wte.weight": hf["model.embed_tokens.weight"], "transformer.ln_f.weight": hf["model.norm.weight"], "lm_head.weight": hf["lm_head.weight"]}
    for layer in range(SMALL["num_hidden_layers"]):
        src, dst = f"model.layers.{layer}.", f"transformer.h.{layer}."
        tensors[dst + "ln_1.weight"] = hf[src + "input_layernorm.weight"]
        tensors[dst + "ln_2.weight"] = hf[src + "post_attention_layernorm.weight"]
        tensors[dst + "attn.c_attn.weight"] = torch.cat([hf[src + f"self_attn.{p}_proj.weight"] for p in "qkv"])
        tensors[dst + "attn.c_attn.bias"] = torch.cat([hf[src + f"self_attn.{p}_proj.bias"] for p in "qkv"])
        tensors[dst + "attn.c_proj.weight"] = hf[src + "self_attn.o_proj.weight"]
        tensors[dst + "mlp.w1.weight"] = hf[src + "mlp.up_proj.weight"]
        tensors[dst + "mlp.w2.weight"] = hf[src + "mlp.gate_proj.weight"]
        tensors[dst + "mlp.c_proj.weight"] = hf[src + "mlp.down_proj.weight"]
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(directory / "model.safetensors"))
    qwen_config = {
        "architectures": ["QWenLMHeadModel"], "model_type": "qwen", "auto_map": {"AutoConfig": "configuration_qwen.QWenConfig"},
        "hidden_size": 32, "num_attention_heads": 4, "num_hidden_layers": 2, "intermediate_size": 128, "kv_channels": 8,
        "seq_length": 64, "max_position_embeddings": 64, "layer_norm_epsilon": 1e-6, "vocab_size": VOCAB, "rotary_pct": 1.0,
        "rotary_emb_base": 10000, "scale_attn_weights": True, "no_bias": True, "use_dynamic_ntk": True, "use_logn_attn": True,
    }
    (directory / "config.json").write_text(json.dumps(qwen_config))
    return twin


def test_qwen1_remote_code_layout_matches_its_qwen2_twin(tmp_path):
    twin = _qwen1_checkpoint(tmp_path)
    for load, remote_code in ((HookedTransformer.from_pretrained, False), (HookedTransformer.from_pretrained_no_processing, True)):
        model = load(str(tmp_path), device="cpu", trust_remote_code=remote_code)  # no code files either way
        diff = _max_diff(model, twin)
        print(f"\nqwen1 ({load.__name__}): max |d log-prob| {diff:.2e}")
        assert diff < TOL
    assert model.cfg.original_architecture == "QWenLMHeadModel" and model.cfg.d_mlp == 64


def test_gemma3_multimodal_checkpoint_loads_its_language_model(tmp_path):
    import transformers

    text = dict(FAMILIES["gemma3"][2], vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, pad_token_id=0)
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14)
    config = transformers.Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4, image_token_index=VOCAB - 1)
    torch.manual_seed(0)
    hf_model = transformers.Gemma3ForConditionalGeneration(config)
    _randomise(hf_model, seed=3)
    hf_model.save_pretrained(tmp_path)
    reference = transformers.Gemma3ForConditionalGeneration.from_pretrained(tmp_path, attn_implementation="eager").eval()
    model = HookedTransformer.from_pretrained(str(tmp_path), device="cpu")
    tokens = TOKENS.clamp(max=VOCAB - 2)  # no image tokens
    with torch.no_grad():
        diff = (model(tokens).log_softmax(-1) - reference(input_ids=tokens).logits.log_softmax(-1)).abs().max().item()
    print(f"\ngemma3 multimodal (text path): max |d log-prob| {diff:.2e}")
    assert diff < TOL
    assert not any("vision" in key or "projector" in key for key in model.state_dict())


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config_class, kwargs, words",
    [
        ("LlamaConfig", dict(rope_parameters={"rope_type": "proportional", "rope_theta": 10000.0, "factor": 2.0}), ["'proportional'", "nearest supported family: llama"]),
        ("Qwen3Config", dict(rope_parameters={"rope_type": "proportional", "rope_theta": 10000.0, "factor": 2.0}), ["'proportional'", "qwen3"]),
        ("StableLmConfig", dict(qk_layernorm=True, num_key_value_heads=4), ["qk_layernorm", "stablelm"]),
        ("Gemma3TextConfig", dict(head_dim=8, layer_types=LOCAL_GLOBAL, rope_parameters={"sliding_attention": {"rope_type": "linear", "factor": 2.0, "rope_theta": 100.0}, "full_attention": {"rope_type": "default", "rope_theta": 10000.0}}), ["sliding-window layers", "gemma3"]),
    ],
)
def test_unsupported_options_fail_in_one_line_naming_the_nearest_family(tmp_path, config_class, kwargs, words):
    import transformers

    from safetensors.torch import save_file

    config = getattr(transformers, config_class)(vocab_size=VOCAB, **{**SMALL, **kwargs})
    config.architectures = [config_class.replace("TextConfig", "ForCausalLM").replace("Config", "ForCausalLM")]
    config.save_pretrained(tmp_path)
    save_file({"unused": torch.zeros(1)}, str(tmp_path / "model.safetensors"))  # the config must fail first
    with pytest.raises(ValueError) as error:
        HookedTransformer.from_pretrained(str(tmp_path), device="cpu")
    message = str(error.value)
    assert "\n" not in message and all(word in message for word in words), message


def test_hook_table_covers_the_new_norms():
    for template in ("blocks.0.ln1_post.hook_normalized", "blocks.0.ln2_post.hook_scale", "blocks.0.attn.q_norm.hook_normalized", "blocks.0.attn.k_norm.hook_scale"):
        assert hook_names.spec_for(template) is not None, template
