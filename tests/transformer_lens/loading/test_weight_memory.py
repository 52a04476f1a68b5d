"""Weights written into memory prepared while the config is read are the same weights.

Oracle: the same load with no prepared memory (``pipeline._prepared_memory`` returning None),
which test_streaming.py ties to the eager path bit for bit. Here every buffer is prepared before
processing starts (``stop_preparing`` waits for the thread instead of stopping it, and tensors of
any size qualify), so each test exercises the prepared path for every weight it can take.
"""

from __future__ import annotations

import gc
import json
import threading
import weakref
from types import SimpleNamespace

import decoder_parity as dp
import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens.loading import pipeline, tensor_source, weight_memory
from transformer_lens.loading.element_overlap import share_elements

_LLAMA = dict(hidden_size=32, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=3, intermediate_size=24, max_position_embeddings=64)
CHECKPOINTS = {
    "llama": ("Llama", _LLAMA),
    "llama-tied": ("Llama", dict(_LLAMA, tie_word_embeddings=True)),
    "qwen3": ("Qwen3", dict(_LLAMA, head_dim=8)),
    "gemma": ("Gemma", dict(_LLAMA, head_dim=8)),
    "gpt2": ("GPT2", dict(n_embd=32, n_head=4, n_layer=3, n_positions=64)),
}


@pytest.fixture(scope="module", params=sorted(CHECKPOINTS))
def checkpoint(request, tmp_path_factory):
    prefix, kwargs = CHECKPOINTS[request.param]
    directory = tmp_path_factory.mktemp(request.param)
    if prefix == "GPT2":  # not named GPT2ForCausalLM
        import transformers

        hf_model = transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=dp.VOCAB, **kwargs))
        dp.randomise_(hf_model, seed=len(request.param))
        hf_model.save_pretrained(directory)
    else:
        dp.build_checkpoint(prefix, kwargs, directory, seed=len(request.param))
    return directory


class Recorder:
    """Every PreparedWeightMemory a load makes, with weak references to the buffers no weight took."""

    def __init__(self, monkeypatch):
        self.memories: list[weight_memory.PreparedWeightMemory] = []
        self.untaken: list[weakref.ref] = []
        original_init = weight_memory.PreparedWeightMemory.__init__
        original_release = weight_memory.PreparedWeightMemory.release_chunk

        def init(memory, *args, **kwargs):
            original_init(memory, *args, **kwargs)
            self.memories.append(memory)

        def release(memory, chunk):
            self.untaken += [weakref.ref(b.tensor) for b in memory._buffers.values() if b.chunk == chunk and not b.taken]
            original_release(memory, chunk)

        monkeypatch.setattr(weight_memory.PreparedWeightMemory, "__init__", init)
        monkeypatch.setattr(weight_memory.PreparedWeightMemory, "release_chunk", release)
        # Prepare everything before processing starts, whatever the size.
        monkeypatch.setattr(weight_memory.PreparedWeightMemory, "stop_preparing", weight_memory.PreparedWeightMemory.finish_preparing)
        monkeypatch.setattr(weight_memory, "MIN_BYTES", 0)


TOKENS = torch.tensor([[1, 2, 3, 4, 5]])


def load(directory, dtype, **kwargs):
    return HookedTransformer.from_pretrained(str(directory), device="cpu", dtype=dtype, **kwargs)


def load_writing(directory, dtype, **kwargs):
    """A load that writes weights into prepared memory: processed for RMSNorm models, a plain cast
    of the float32 checkpoint for LayerNorm ones (whose processing computes in memory of its own)."""
    if "gpt2" in directory.name:
        return HookedTransformer.from_pretrained_no_processing(str(directory), device="cpu", dtype=dtype, **kwargs)
    return load(directory, dtype, **kwargs)


def unprepared(directory, dtype, monkeypatch, loader=load, **kwargs):
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "_prepared_memory", lambda *args, **kw: None)
        return loader(directory, dtype, **kwargs)


def assert_same_weights(ours: HookedTransformer, reference: HookedTransformer) -> None:
    """Same names, dtypes, bits and layout (strides): prepared memory changes where weights live, nothing else."""
    expected = reference.state_dict()
    got = ours.state_dict()
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        assert got[name].dtype == value.dtype, name
        assert got[name].shape == value.shape, name
        assert torch.equal(got[name], value), name
        if value.is_floating_point() and value.dim() > 1:
            assert got[name].stride() == value.stride(), name


def assert_no_two_weights_share_an_element(model: HookedTransformer) -> None:
    params = [p for p in model.parameters() if p.numel()]
    for i, a in enumerate(params):
        for b in params[i + 1 :]:
            if a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr():
                assert not share_elements(a, b)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32], ids=["bf16", "fp16", "fp32"])
def test_prepared_memory_gives_the_weights_of_a_load_without_it(checkpoint, dtype, monkeypatch):
    recorder = Recorder(monkeypatch)
    ours = load(checkpoint, dtype)
    reference = unprepared(checkpoint, dtype, monkeypatch)
    assert_same_weights(ours, reference)
    assert_no_two_weights_share_an_element(ours)
    assert torch.equal(ours(TOKENS), reference(TOKENS))
    rms = ours.cfg.normalization_type.startswith("RMS")
    if not rms:  # LayerNorm processing computes in float32 memory of its own: nothing is prepared
        assert recorder.memories == []
        return
    [memory] = recorder.memories
    # Folded and cast weights took prepared memory: not maps of the file, yet written into prepared pages.
    assert memory.taken_bytes > 0
    assert not tensor_source.is_mapped(ours.W_Q)
    assert memory._buffers == {} and not memory._thread.is_alive()
    gc.collect()
    assert all(ref() is None for ref in recorder.untaken), "a buffer no weight took outlived the load"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_an_unprocessed_cast_writes_into_prepared_memory(checkpoint, dtype, monkeypatch):
    """No processing: the float32 checkpoint's weights are cast, each into its prepared buffer."""
    recorder = Recorder(monkeypatch)
    no_processing = lambda directory, dtype: HookedTransformer.from_pretrained_no_processing(str(directory), device="cpu", dtype=dtype)  # noqa: E731
    ours = no_processing(checkpoint, dtype)
    reference = unprepared(checkpoint, dtype, monkeypatch, no_processing)
    assert_same_weights(ours, reference)
    assert_no_two_weights_share_an_element(ours)
    [memory] = recorder.memories
    assert memory.taken_bytes > 0 and not tensor_source.is_mapped(ours.W_in)
    assert torch.equal(ours(TOKENS), reference(TOKENS))


def test_a_tied_embedding_cast_gives_two_weights_and_one_prepared_buffer(tmp_path, monkeypatch):
    """W_E and W_U both come from the one embedding tensor: only one of them may take its buffer."""
    dp.build_checkpoint("Llama", dict(_LLAMA, tie_word_embeddings=True), tmp_path, seed=3)
    Recorder(monkeypatch)
    model = HookedTransformer.from_pretrained_no_processing(str(tmp_path), device="cpu", dtype=torch.bfloat16)
    assert torch.equal(model.W_U, model.W_E.T)
    model.W_E.data.zero_()
    assert model.W_U.abs().sum() > 0
    assert_no_two_weights_share_an_element(model)


def test_only_the_first_layers_loaded_keep_memory(checkpoint, monkeypatch):
    recorder = Recorder(monkeypatch)
    model = load_writing(checkpoint, torch.bfloat16, first_n_layers=1)
    assert_same_weights(model, unprepared(checkpoint, torch.bfloat16, monkeypatch, load_writing, first_n_layers=1))
    gc.collect()
    assert all(ref() is None for ref in recorder.untaken)
    assert recorder.memories[0]._buffers == {}


def test_loads_on_two_threads_at_once_each_get_their_own_weights(checkpoint, monkeypatch):
    """The sidebar's worker loads while a cell loads: each load's memory serves that load alone."""
    Recorder(monkeypatch)
    reference = unprepared(checkpoint, torch.bfloat16, monkeypatch, load_writing)
    results: dict[int, HookedTransformer] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(slot: int) -> None:
        try:
            start.wait()
            results[slot] = load_writing(checkpoint, torch.bfloat16)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for model in results.values():
        assert_same_weights(model, reference)
    first, second = (dict(results[slot].named_parameters()) for slot in range(2))
    for name, param in first.items():
        if param.numel() and not tensor_source.is_mapped(param):
            assert param.untyped_storage().data_ptr() != second[name].untyped_storage().data_ptr(), name


def test_a_failed_load_stops_the_thread_and_frees_the_memory(checkpoint, tmp_path, monkeypatch):
    """A config that names a missing tensor fails after memory was prepared: nothing is left behind."""
    recorder = Recorder(monkeypatch)
    broken = tmp_path / f"{checkpoint.name}-broken"
    broken.mkdir()
    for file in checkpoint.iterdir():
        (broken / file.name).symlink_to(file)
    config = json.loads((checkpoint / "config.json").read_text())
    layers_key = "n_layer" if "n_layer" in config else "num_hidden_layers"
    config[layers_key] += 1  # one more layer than the checkpoint holds
    config.pop("layer_types", None)
    (broken / "config.json").unlink()
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="lacks tensor|missing"):
        load_writing(broken, torch.bfloat16)
    [memory] = recorder.memories
    assert memory._buffers == {} and not memory._thread.is_alive()
    assert not [t for t in threading.enumerate() if t.name == "lenslab-weight-memory"]
    gc.collect()
    assert all(ref() is None for ref in recorder.untaken)


def test_an_unsupported_architecture_stops_the_thread_before_any_weight_is_read(tmp_path, monkeypatch):
    dp.build_checkpoint("Llama", _LLAMA, tmp_path, seed=1)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(config, architectures=["NoSuchForCausalLM"])))
    recorder = Recorder(monkeypatch)
    with pytest.raises(ValueError, match="not supported"):
        load(tmp_path, torch.bfloat16)
    assert all(not memory._thread.is_alive() and memory._buffers == {} for memory in recorder.memories)


def test_the_budget_leaves_room_for_the_whole_model(checkpoint, monkeypatch):
    """With free memory only for the model itself, nothing is prepared and the load is the same."""
    recorder = Recorder(monkeypatch)
    files = pipeline.hf_io.safetensors_files(checkpoint)
    model_bytes = sum(t.numel() * 2 for t in tensor_source.SafetensorsSource(files).values())
    monkeypatch.setattr(weight_memory, "memory_budget", SimpleNamespace(available_bytes=lambda device: model_bytes))
    model = load_writing(checkpoint, torch.bfloat16)
    assert recorder.memories[0].prepared_bytes == 0
    assert_same_weights(model, unprepared(checkpoint, torch.bfloat16, monkeypatch, load_writing))


def test_stopping_ends_the_preparing_thread(checkpoint):
    memory = weight_memory.prepare(pipeline.hf_io.safetensors_files(checkpoint), torch.bfloat16, rewrite_same_dtype=True)
    memory.stop_preparing()
    assert not memory._thread.is_alive()
    memory.close()
    assert memory._buffers == {}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (dict(device="cpu", n_devices=1, move_to_device=True, overrides={}), True),
        (dict(device="cuda", n_devices=1, move_to_device=False, overrides={}), True),
        (dict(device="cuda:0", n_devices=1, move_to_device=True, overrides={}), False),
        (dict(device="cpu", n_devices=2, move_to_device=True, overrides={}), False),
        (dict(device="cpu", n_devices=1, move_to_device=True, overrides={"device_map": "auto"}), False),
    ],
)
def test_memory_is_prepared_only_for_weights_that_stay_on_the_cpu(kwargs, expected):
    assert pipeline._weights_stay_on_cpu(**kwargs) is expected


def test_the_norm_hint_reads_config_json_alone(checkpoint, tmp_path):
    expected = "LN" if "gpt2" in checkpoint.name else "RMS"
    assert pipeline._normalization_hint(checkpoint) == expected
    (tmp_path / "config.json").write_text("{not json")
    assert pipeline._normalization_hint(tmp_path) is None


def test_memory_running_short_while_preparing_leaves_an_ordinary_load(checkpoint, monkeypatch):
    """An allocation that fails on the preparing thread ends its work quietly; the load allocates the rest."""
    Recorder(monkeypatch)
    original_empty = torch.empty

    def empty(*args, **kwargs):
        if threading.current_thread().name == "lenslab-weight-memory":
            raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
        return original_empty(*args, **kwargs)

    escaped: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))
    monkeypatch.setattr(torch, "empty", empty)
    model = load_writing(checkpoint, torch.bfloat16)
    monkeypatch.setattr(torch, "empty", original_empty)
    assert not escaped
    assert_same_weights(model, unprepared(checkpoint, torch.bfloat16, monkeypatch, load_writing))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32], ids=["bf16", "fp32"])
def test_encoder_and_encoder_decoder_loads_take_the_same_weights(tmp_path, dtype, monkeypatch):
    """HookedEncoder (BERT, LayerNorm) and HookedEncoderDecoder (T5, RMSNorm) load through the same pipeline."""
    import bert_checkpoints

    from transformer_lens import HookedEncoder, HookedEncoderDecoder

    bert_checkpoints.save_bert(bert_checkpoints.build_bert(seed=2, hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=48, vocab_size=dp.VOCAB), tmp_path / "bert")
    dp.build_t5_checkpoint(tmp_path / "t5", num_layers=2, seed=5)
    recorder = Recorder(monkeypatch)
    for model_class, directory in ((HookedEncoder, tmp_path / "bert"), (HookedEncoderDecoder, tmp_path / "t5")):
        def loader(directory, dtype):
            return model_class.from_pretrained(str(directory), device="cpu", dtype=dtype)

        assert_same_weights(loader(directory, dtype), unprepared(directory, dtype, monkeypatch, loader))
    assert all(memory._buffers == {} and not memory._thread.is_alive() for memory in recorder.memories)
    if dtype == torch.bfloat16:  # T5's float32 weights cast into prepared memory
        assert any(memory.taken_bytes > 0 for memory in recorder.memories)


def test_only_a_whole_checkpoint_tensor_takes_its_buffer(tmp_path, monkeypatch):
    """A part of a tensor (a context cut from W_pos, one of fused rows) would keep the whole buffer alive."""
    monkeypatch.setattr(weight_memory, "MIN_BYTES", 0)
    dp.build_checkpoint("Llama", _LLAMA, tmp_path, seed=4)
    files = pipeline.hf_io.safetensors_files(tmp_path)
    memory = weight_memory.PreparedWeightMemory(files, torch.bfloat16, budget_bytes=2**30, rewrite_same_dtype=True)
    memory.finish_preparing()
    source = tensor_source.SafetensorsSource(files)
    name = "model.layers.0.mlp.up_proj.weight"
    whole = source[name]
    assert memory(whole[:5], torch.bfloat16) is None  # a part
    assert memory(whole.T, torch.float16) is None  # not the prepared dtype
    out = memory(whole.T, torch.bfloat16)  # the whole tensor, transposed: its layout kept
    assert out is not None and out.shape == whole.T.shape and out.stride() == whole.T.stride()
    assert memory(whole, torch.bfloat16) is None  # its memory is taken: a second weight gets its own
    memory.close()
