"""The streaming loader gives the same bits as converting and processing the whole checkpoint at once.

The reference is the eager path built from the pure functions: read every tensor, convert the
whole state dict with the family's converter, then ``load_and_process_state_dict`` into a
normally built model. Every decoder family is covered, processed and unprocessed, a sharded
checkpoint, and bfloat16 asked of a float32 checkpoint.
"""

from __future__ import annotations

import json

import decoder_parity as dp
import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.loading import hf_io, pipeline, registry, streaming, tensor_source

_LLAMA = dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=3, intermediate_size=24, max_position_embeddings=64)
_LOCAL_GLOBAL = ["sliding_attention", "full_attention", "sliding_attention"]
# One tiny checkpoint per family module (3 layers, so a middle block exists).
FAMILIES = {
    "gpt2": (("GPT2Config", "GPT2LMHeadModel"), dict(n_embd=32, n_head=4, n_layer=3, n_positions=64)),
    "neo": ("GPTNeo", dict(hidden_size=32, num_heads=4, num_layers=3, attention_types=[[["global", "local"], 1], [["global"], 1]], window_size=3, max_position_embeddings=64)),
    "neox": ("GPTNeoX", dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=3, intermediate_size=64)),
    "gptj": ("GPTJ", dict(n_embd=32, n_head=4, n_layer=3, rotary_dim=4, n_positions=64)),
    "opt": ("OPT", dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=3, ffn_dim=64, word_embed_proj_dim=32, max_position_embeddings=64)),
    "bloom": ("Bloom", dict(hidden_size=48, n_head=6, n_layer=3)),
    "bigcode": ("GPTBigCode", dict(n_embd=32, n_head=4, n_layer=3, n_positions=64)),
    "llama": ("Llama", _LLAMA),
    "mistral": ("Mistral", dict(_LLAMA, sliding_window=3)),
    "qwen2": ("Qwen2", _LLAMA),
    "qwen3": ("Qwen3", dict(_LLAMA, head_dim=8)),
    "gemma": ("Gemma", dict(_LLAMA, head_dim=8)),
    "gemma2": ("Gemma2", dict(_LLAMA, head_dim=8, sliding_window=3)),
    "gemma3": (("Gemma3TextConfig", "Gemma3ForCausalLM"), dict(_LLAMA, head_dim=8, sliding_window=3, layer_types=_LOCAL_GLOBAL)),
    "phi": ("Phi", dict(_LLAMA, num_key_value_heads=4, partial_rotary_factor=0.5, qk_layernorm=True)),
    "phi3": ("Phi3", _LLAMA),
    "olmo": ("Olmo", _LLAMA),
    "olmo2": ("Olmo2", _LLAMA),
    "olmo3": ("Olmo3", dict(_LLAMA, sliding_window=3, layer_types=_LOCAL_GLOBAL)),
    "stablelm": ("StableLm", dict(_LLAMA, use_qkv_bias=True, partial_rotary_factor=0.25)),
    "apertus": ("Apertus", _LLAMA),
    "mixtral": ("Mixtral", dict(_LLAMA, num_local_experts=4, num_experts_per_tok=2)),
    "olmoe": ("Olmoe", dict(_LLAMA, num_experts=4, num_experts_per_tok=2)),
    "gpt-oss": ("GptOss", dict(_LLAMA, head_dim=8, num_local_experts=4, num_experts_per_tok=2, sliding_window=3, layer_types=_LOCAL_GLOBAL)),
}
FLAG_NAMES = ("fold_ln", "center_writing_weights", "center_unembed", "fold_value_biases")


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def checkpoint(request, tmp_path_factory):
    classes, kwargs = FAMILIES[request.param]
    directory = tmp_path_factory.mktemp(request.param)
    if isinstance(classes, str):
        dp.build_checkpoint(classes, kwargs, directory, seed=len(request.param))
    else:  # classes not named {prefix}Config / {prefix}ForCausalLM
        import transformers

        config = getattr(transformers, classes[0])(vocab_size=dp.VOCAB, **kwargs)
        torch.manual_seed(0)
        hf_model = getattr(transformers, classes[1])(config)
        dp.randomise_(hf_model, seed=len(request.param))
        hf_model.save_pretrained(directory)
    return directory


def eager_state_dict(directory, processed: bool, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Today's eager loading from the pure functions: whole checkpoint, whole conversion, whole processing."""
    hf_config = hf_io.load_hf_config(directory)
    architecture = hf_config.architectures[0]
    family = registry.family_for_architecture(architecture)
    fields = pipeline.config_fields_from_hf(hf_config, architecture, str(directory))
    cfg = HookedTransformerConfig(**{**fields, "dtype": dtype, "device": "cpu", "init_weights": False})
    converted = pipeline._convert(family, hf_io.read_tensors(directory), cfg)
    model = HookedTransformer(cfg, move_to_device=False)
    model.load_and_process_state_dict(converted, **{flag: processed for flag in FLAG_NAMES})
    return model.state_dict()


def assert_same_bits(ours: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> None:
    assert sorted(ours) == sorted(reference)
    for key, value in reference.items():
        assert ours[key].dtype == value.dtype, key
        assert torch.equal(ours[key], value), key


@pytest.mark.parametrize("processed", [True, False], ids=["processed", "unprocessed"])
def test_streamed_weights_equal_the_eager_path_bit_for_bit(checkpoint, processed):
    model = HookedTransformer.from_pretrained(str(checkpoint), device="cpu", **{flag: processed for flag in FLAG_NAMES})
    assert_same_bits(model.state_dict(), eager_state_dict(checkpoint, processed))
    assert_no_two_weights_share_an_element(model)


def assert_no_two_weights_share_an_element(model):
    """Every weight owns its elements (tied embeddings are two weights, as upstream), whatever its layout:
    a write to one weight leaves every other unchanged."""
    params = dict(model.named_parameters())
    for name, param in params.items():
        before = {other: value.detach().clone() for other, value in params.items() if other != name}
        param.data.add_(1)
        for other, value in before.items():
            assert torch.equal(params[other].detach(), value), f"{name} and {other} share memory"


def assert_reads_one_layer_at_a_time(load, monkeypatch):
    """When chunk ``i`` is handed on, only tensors of chunks up to ``i`` have been read, each once.

    (A converter that mixed layers would fall back to reading the whole checkpoint at once.)
    """
    reads: list[str] = []
    original = tensor_source.SafetensorsSource.__getitem__
    monkeypatch.setattr(tensor_source.SafetensorsSource, "__getitem__", lambda self, name: reads.append(name) or original(self, name))
    chunks_seen = []
    original_chunks = streaming.converted_chunks

    def recording(source, convert, cfg):
        for chunk, tensors in original_chunks(source, convert, cfg):
            layers = {tensor_source.layer_of(name) for name in reads}
            assert layers <= {None, *range(chunk + 1)}, (chunk, sorted(layers, key=str))
            chunks_seen.append(chunk)
            yield chunk, tensors

    monkeypatch.setattr(streaming, "converted_chunks", recording)
    model = load()
    assert chunks_seen == [-1, *range(model.cfg.n_layers)]
    assert len(reads) == len(set(reads))
    return model


def test_conversion_runs_one_layer_at_a_time(checkpoint, monkeypatch):
    assert_reads_one_layer_at_a_time(lambda: HookedTransformer.from_pretrained(str(checkpoint), device="cpu"), monkeypatch)


def test_encoders_stream_layer_by_layer_to_the_eager_weights(tmp_path, monkeypatch):
    import bert_checkpoints

    from transformer_lens import HookedEncoder, HookedEncoderDecoder
    from transformer_lens.loading.families import bert, t5

    bert_checkpoints.save_bert(bert_checkpoints.build_bert(seed=2, hidden_size=32, num_attention_heads=4, num_hidden_layers=3, intermediate_size=48, vocab_size=dp.VOCAB), tmp_path / "bert")
    dp.build_t5_checkpoint(tmp_path / "t5", num_layers=3, seed=5, max_shard_size="40KB")
    for model_class, converter, directory in ((HookedEncoder, bert, tmp_path / "bert"), (HookedEncoderDecoder, t5, tmp_path / "t5")):
        streamed = assert_reads_one_layer_at_a_time(lambda: model_class.from_pretrained(str(directory), device="cpu"), monkeypatch)
        eager = model_class(streamed.cfg, move_to_device=False)
        eager.load_state_dict_checked(converter.convert_state_dict(hf_io.read_tensors(directory), streamed.cfg))
        assert_same_bits(streamed.state_dict(), eager.state_dict())
        monkeypatch.undo()


def test_sharded_checkpoint_and_bfloat16_from_float32(tmp_path):
    import transformers

    prefix, kwargs = FAMILIES["llama"]
    reference = dp.build_checkpoint(prefix, kwargs, tmp_path / "one", seed=3)
    reference.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    index = json.loads((tmp_path / "sharded" / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 2
    transformers.AutoConfig.from_pretrained(tmp_path / "one").save_pretrained(tmp_path / "sharded")
    for processed in (True, False):
        flags = {flag: processed for flag in FLAG_NAMES}
        sharded = HookedTransformer.from_pretrained(str(tmp_path / "sharded"), device="cpu", **flags)
        assert_same_bits(sharded.state_dict(), eager_state_dict(tmp_path / "one", processed))
        half = HookedTransformer.from_pretrained(str(tmp_path / "sharded"), device="cpu", dtype="bfloat16", **flags)
        assert_same_bits(half.state_dict(), eager_state_dict(tmp_path / "one", processed, torch.bfloat16))


def test_hf_model_tensors_are_reused_not_copied(tmp_path):
    """Every weight is a view of the Hugging Face model's tensor, transposed and per-head ones included."""
    prefix, kwargs = FAMILIES["llama"]
    hf_model = dp.build_checkpoint(prefix, kwargs, tmp_path, seed=1)
    model = HookedTransformer.from_pretrained_no_processing(str(tmp_path), hf_model=hf_model, device="cpu")
    hf_layer = hf_model.model.layers[1]
    pairs = [
        (model.W_E, hf_model.model.embed_tokens.weight),
        (model.blocks[1].attn.W_Q, hf_layer.self_attn.q_proj.weight),
        (model.blocks[1].attn.W_O, hf_layer.self_attn.o_proj.weight),
        (model.blocks[1].mlp.W_in, hf_layer.mlp.up_proj.weight),
        (model.blocks[1].mlp.W_out, hf_layer.mlp.down_proj.weight),
    ]
    for ours, theirs in pairs:
        assert ours.untyped_storage().data_ptr() == theirs.untyped_storage().data_ptr()
    assert_same_bits(model.state_dict(), eager_state_dict(tmp_path, processed=False))


def test_move_to_device_false_keeps_weights_on_the_cpu(checkpoint):
    model = HookedTransformer.from_pretrained(str(checkpoint), device="cuda", move_to_device=False)
    assert {param.device.type for param in model.parameters()} == {"cpu"}


def test_blocks_are_placed_on_their_devices_while_streaming():
    cfg = HookedTransformerConfig(n_layers=4, d_model=8, n_ctx=8, d_head=2, d_vocab=5, act_fn="gelu", device="cuda:1", n_devices=2)
    where = {key: streaming.target_device(key, cfg, move_to_device=True) for key in ("embed.W_E", "blocks.1.attn.W_Q", "blocks.2.mlp.W_in", "ln_final.w", "unembed.W_U")}
    assert where == {
        "embed.W_E": torch.device("cuda:1"),
        "blocks.1.attn.W_Q": torch.device("cuda:1"),
        "blocks.2.mlp.W_in": torch.device("cuda:2"),
        "ln_final.w": torch.device("cuda:2"),
        "unembed.W_U": torch.device("cuda:2"),
    }
    assert streaming.target_device("blocks.3.attn.W_Q", cfg, move_to_device=False) == torch.device("cpu")


def test_not_enough_memory_is_named_before_any_weight_is_read(checkpoint, monkeypatch):
    reads = []
    monkeypatch.setattr(tensor_source.SafetensorsSource, "__getitem__", lambda self, name: reads.append(name))
    monkeypatch.setattr(streaming, "free_bytes", lambda device: 1000)
    with pytest.raises(streaming.NotEnoughMemoryError, match=r"the weights need 0\.\d MiB \([\d,]+ bytes\) but only 0\.0 MiB \(1,000 bytes\) are free") as error:
        HookedTransformer.from_pretrained(str(checkpoint), device="cpu")
    assert "on cpu" in str(error.value)
    assert reads == []


def test_free_memory_is_read_from_the_system():
    free = streaming.free_bytes(torch.device("cpu"))
    assert free is None or 0 < free < 2**50
    assert streaming.free_bytes(torch.device("meta")) is None


@pytest.mark.parametrize("source", [torch.float64, torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("target", [torch.float32, torch.bfloat16, torch.float16])
def test_a_plain_cast_gives_the_bits_of_the_cast_through_float32(source, target):
    from transformer_lens.weight_processing import _cast

    values = torch.randn(4096, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 10.0 ** torch.arange(-6, 6).repeat(342)[:4096]
    tensor = values.to(source)
    assert torch.equal(_cast(tensor, target), tensor.float().to(target))


def test_gpu_check_script_skips_in_one_line_without_a_gpu():
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "scripts" / "gpu-check.sh"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHON=sys.executable)
    out = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == ["gpu-check: no CUDA GPU visible; skipped"]
    # The GPU part is at least valid Python.
    text = script.read_text()
    compile(text.split("<<'PY'\n", 1)[1].rsplit("\nPY\n", 1)[0], "gpu-check.sh", "exec")


def test_an_hf_models_own_device_is_not_counted_against_free_memory(tmp_path, monkeypatch):
    prefix, kwargs = FAMILIES["llama"]
    hf_model = dp.build_checkpoint(prefix, kwargs, tmp_path, seed=1)
    monkeypatch.setattr(streaming, "free_bytes", lambda device: 1000)
    model = HookedTransformer.from_pretrained_no_processing(str(tmp_path), hf_model=hf_model, device="cpu")
    assert_same_bits(model.state_dict(), eager_state_dict(tmp_path, processed=False))


def _meta_model_and_weights():
    cfg = HookedTransformerConfig(n_layers=2, d_model=8, n_ctx=8, d_head=2, n_heads=4, d_vocab=5, act_fn="gelu", device="cpu", init_weights=False)
    weights = HookedTransformer(cfg, move_to_device=False).state_dict()
    with streaming.parameters_on_meta():
        model = HookedTransformer(cfg, move_to_device=False)
    assert {param.device.type for param in model.parameters()} == {"meta"}
    chunks = [(chunk, {k: v for k, v in weights.items() if streaming._chunk_of(k) == chunk}) for chunk in (-1, 0, 1)]
    return model, cfg, chunks


def _stream(model, cfg, chunks):
    off = dict.fromkeys(FLAG_NAMES, False)
    return streaming.stream_into_model(model, iter(chunks), cfg, move_to_device=False, refactor_factored_attn_matrices=False, **off)


def test_a_weight_the_model_lacks_or_misshapes_is_named():
    model, cfg, chunks = _meta_model_and_weights()
    chunks[1][1]["blocks.0.attn.W_X"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"unexpected \['blocks.0.attn.W_X'\]"):
        _stream(model, cfg, chunks)
    model, cfg, chunks = _meta_model_and_weights()
    chunks[2][1]["blocks.1.mlp.W_in"] = torch.zeros(8, 7)
    with pytest.raises(ValueError, match=r"blocks.1.mlp.W_in has shape \(8, 7\) but the config implies \(8, 32\)"):
        _stream(model, cfg, chunks)


def test_a_weight_the_checkpoint_lacks_is_named():
    model, cfg, chunks = _meta_model_and_weights()
    del chunks[2][1]["blocks.1.attn.b_O"]
    loaded = _stream(model, cfg, chunks)
    with pytest.raises(ValueError, match=r"missing \['blocks.1.attn.b_O'\]"):
        streaming.check_all_loaded(model, loaded)
    model, cfg, chunks = _meta_model_and_weights()
    streaming.check_all_loaded(model, _stream(model, cfg, chunks))
    assert {param.device.type for param in model.parameters()} == {"cpu"}


def _process_everything_in_float32(state_dict, cfg):
    """Today's processing as it was written: every tensor to float32, every applicable step, cast back."""
    from transformer_lens import weight_processing as wp

    sd = {k: v.float() for k, v in wp.normalize_kv_names(state_dict, cfg).items()}
    layer_norm = cfg.normalization_type in ("LN", "LNPre")
    if wp.can_fold_ln(cfg):
        sd = wp.fold_layer_norm(sd, cfg, fold_biases=True, center_weights=layer_norm)
    post_norms = cfg.use_normalization_before_and_after or cfg.normalization_after_only or cfg.post_layer_norm
    if layer_norm and not cfg.final_rms and not post_norms:
        sd = wp.center_writing_weights(sd, cfg)
    if cfg.output_logits_soft_cap <= 0:
        sd = wp.center_unembed(sd)
    if not cfg.use_attention_sinks:
        sd = wp.fold_value_biases(sd, cfg)
    return {k: v.to(cfg.dtype) for k, v in sd.items()}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=["fp32", "bf16", "fp16"])
def test_processing_equals_processing_everything_in_float32(checkpoint, dtype):
    """Tensors no step touches skip the float32 copy, RMSNorm models are processed weight by weight
    in their final dtype; the result is still the all-float32 one (in float32, today's bits)."""
    _assert_processing_is_the_float32_steps(checkpoint, dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_processing_a_model_big_enough_for_vectorised_kernels(tmp_path, dtype):
    """Weights of 64 x 64 elements and more, where torch's kernels take their vectorised paths."""
    config = dict(_LLAMA, hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    dp.build_checkpoint("Llama", config, tmp_path, seed=5)
    _assert_processing_is_the_float32_steps(tmp_path, dtype)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("vocab_outer", [True, False], ids=["embedding-view", "contiguous"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16], ids=["fp32", "bf16", "fp16"])
def test_unembed_centred_in_blocks_has_the_whole_tensors_bits(vocab_outer, dtype, threads, monkeypatch):
    """Oracle: the float32 steps on the whole tensor (scale by ln_final, subtract the mean over the
    vocabulary, cast), at the same thread count; blocks of 64 and 128 rows, and a short last block."""
    from transformer_lens import weight_processing as wp

    generator = torch.Generator().manual_seed(7)
    d_model, d_vocab = 200, 20011
    source = torch.randn(d_vocab, d_model, generator=generator).to(dtype)
    w_u = source.T if vocab_outer else source.T.contiguous()
    scale = (1 + 0.1 * torch.randn(d_model, generator=generator)).to(dtype)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        whole = torch.empty_like(w_u, dtype=torch.float32).copy_(w_u) * scale.float()[:, None]
        expected = (whole - whole.mean(dim=-1, keepdim=True)).to(dtype)
        for rows in (64, 128, d_model):
            monkeypatch.setattr(wp, "UNEMBED_BLOCK_BYTES", 4 * d_vocab * rows)
            out = wp._centred_unembed(w_u, scale, dtype)
            assert out.stride() == w_u.stride() and torch.equal(out, expected), rows
    finally:
        torch.set_num_threads(previous)


def test_unprocessed_weights_are_copy_on_write_maps_of_the_file_and_writes_never_reach_it(checkpoint):
    from transformer_lens.loading import tensor_source

    files = {path: path.read_bytes() for path in checkpoint.glob("*.safetensors")}
    model = HookedTransformer.from_pretrained_no_processing(str(checkpoint), device="cpu")
    mapped = [name for name, param in model.named_parameters() if tensor_source.is_mapped(param)]
    assert "blocks.0.attn.W_O" in mapped  # no cast and no processing: the checkpoint's own pages, not a copy
    before = {name: param.detach().clone() for name, param in model.named_parameters()}
    for param in model.parameters():
        param.data.add_(1)  # a read-only map would fault here
    assert all(path.read_bytes() == content for path, content in files.items())
    for name, param in model.named_parameters():
        assert torch.equal(param.detach(), before[name] + 1), name  # no weight saw another's write
    reloaded = dict(HookedTransformer.from_pretrained_no_processing(str(checkpoint), device="cpu").named_parameters())
    for name, value in before.items():
        assert torch.equal(reloaded[name].detach(), value), name


def test_tied_embeddings_load_as_two_weights(tmp_path):
    """Hugging Face ties lm_head to the embedding; TransformerLens keeps W_U apart from W_E."""
    dp.build_checkpoint("Llama", dict(_LLAMA, tie_word_embeddings=True), tmp_path, seed=3)
    model = HookedTransformer.from_pretrained_no_processing(str(tmp_path), device="cpu")
    assert torch.equal(model.W_U, model.W_E.T)
    model.W_E.data.zero_()
    assert model.W_U.abs().sum() > 0


def _assert_processing_is_the_float32_steps(checkpoint, dtype):
    from transformer_lens import weight_processing as wp

    hf_config = hf_io.load_hf_config(checkpoint)
    architecture = hf_config.architectures[0]
    fields = pipeline.config_fields_from_hf(hf_config, architecture, str(checkpoint))
    cfg = HookedTransformerConfig(**{**fields, "dtype": dtype, "device": "cpu", "init_weights": False})
    source = {k: v.to(dtype) for k, v in hf_io.read_tensors(checkpoint).items()}
    converted = pipeline._convert(registry.family_for_architecture(architecture), source, cfg)
    ours = wp.process_state_dict(converted, cfg)
    assert_same_bits(ours, _process_everything_in_float32(converted, cfg))


def test_parameters_go_on_meta_only_on_the_thread_that_asked():
    """A model built on another thread meanwhile (the sidebar's worker) gets real parameters, and the
    last thread out of ``parameters_on_meta`` leaves ``nn.Module`` as it found it."""
    import threading

    from torch import nn

    original = nn.Module.register_parameter
    inside, outside_built, leave = threading.Event(), threading.Event(), threading.Event()
    devices: dict[str, str] = {}

    def build_on_meta(tag: str) -> None:
        with streaming.parameters_on_meta():
            inside.set()
            outside_built.wait(10)
            devices[tag] = nn.Linear(3, 3).weight.device.type
            leave.wait(10)

    def build_plainly() -> None:
        inside.wait(10)
        devices["plain"] = nn.Linear(3, 3).weight.device.type
        outside_built.set()

    threads = [threading.Thread(target=build_on_meta, args=("meta-1",)), threading.Thread(target=build_on_meta, args=("meta-2",)), threading.Thread(target=build_plainly)]
    for thread in threads:
        thread.start()
    outside_built.wait(10)
    leave.set()
    for thread in threads:
        thread.join(10)
    assert devices == {"meta-1": "meta", "meta-2": "meta", "plain": "cpu"}
    assert nn.Module.register_parameter is original
    assert nn.Linear(3, 3).weight.device.type == "cpu"
