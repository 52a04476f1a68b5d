"""n_devices and device_map bookkeeping, on CPU 'devices' cpu:0, cpu:1 ... (torch keeps CPU tensors on one device)."""

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.devices import get_device_for_block_index


def _cfg(**kw):
    return HookedTransformerConfig(**{**dict(n_layers=5, d_model=16, n_ctx=8, d_head=4, d_vocab=20, act_fn="relu", device="cpu", seed=0), **kw})


def test_blocks_are_split_into_contiguous_groups():
    cfg = _cfg(n_devices=2)
    assert [get_device_for_block_index(i, cfg) for i in range(5)] == [torch.device("cpu", i // 3) for i in range(5)]
    assert get_device_for_block_index(4, _cfg()) == torch.device("cpu")
    assert get_device_for_block_index(3, cfg, device="cuda:1") == torch.device("cuda", 2)


def test_an_upstream_style_config_stand_in_without_device_map_is_placed_by_n_devices():
    """Code written for upstream passes any object with n_devices, n_layers and device."""
    from types import SimpleNamespace

    cfg = SimpleNamespace(n_devices=2, n_layers=4, device="cpu")
    assert [get_device_for_block_index(i, cfg) for i in range(4)] == [torch.device("cpu", i // 2) for i in range(4)]
    assert get_device_for_block_index(1, SimpleNamespace(n_devices=1, n_layers=4, device="cpu")) == torch.device("cpu")


def test_split_model_computes_what_the_single_device_model_does():
    single = HookedTransformer(_cfg())
    split = HookedTransformer(_cfg(n_devices=2))
    split.load_state_dict(single.state_dict())
    tokens = torch.randint(0, 20, (2, 6), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(split(tokens), single(tokens))
    _, cache = split.run_with_cache(tokens)
    assert len(cache) == len(single.run_with_cache(tokens)[1])


def test_from_pretrained_accepts_n_devices(gpt2_checkpoint_dir):
    model = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), n_devices=2, device="cpu")
    reference = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")
    tokens = model.to_tokens("split across devices")
    assert model.cfg.n_devices == 2
    torch.testing.assert_close(model(tokens), reference(tokens))


def test_blocks_spread_evenly_over_the_devices():
    for n_layers, n_devices in [(62, 8), (12, 8), (7, 8), (24, 8), (32, 4)]:
        cfg = HookedTransformerConfig(n_layers=n_layers, d_model=16, n_ctx=8, d_head=4, d_vocab=20, act_fn="relu",
                                      device="cpu", n_devices=n_devices)
        indices = [get_device_for_block_index(i, cfg).index for i in range(n_layers)]
        assert indices == sorted(indices) and 0 <= indices[0] and indices[-1] < n_devices
        counts = [indices.count(d) for d in range(n_devices)]
        assert max(counts) - min(counts) <= 1, counts


def test_device_map_places_each_block_where_it_says():
    cfg = _cfg(device_map={0: "cpu:0", "blocks.1": "cpu:0", 2: "cpu:1", 3: "cpu:1", "4": "cpu:2"})
    assert [get_device_for_block_index(i, cfg) for i in range(5)] == [torch.device("cpu", i) for i in (0, 0, 1, 1, 2)]
    assert cfg.device_map == ["cpu:0", "cpu:0", "cpu:1", "cpu:1", "cpu:2"]
    assert (cfg.n_devices, str(cfg.device)) == (3, "cpu:0")
    listed = _cfg(device_map=["cpu:0", "cpu:0", "cpu:1", "cpu:1", "cpu:2"])
    assert listed.device_map == cfg.device_map
    assert HookedTransformerConfig.from_dict(cfg.to_dict()).device_map == cfg.device_map  # a round trip keeps it
    cuda = _cfg(device="cuda:0", device_map={i: i // 3 for i in range(5)})  # CUDA indices; nothing is placed yet
    assert cuda.device_map == ["cuda:0", "cuda:0", "cuda:0", "cuda:1", "cuda:1"]


def test_auto_device_map_uses_the_cpu_without_cuda():
    if torch.cuda.is_available():
        return  # "auto" then splits over the GPUs; the split itself is n_devices' rule, tested above
    assert _cfg(device_map="auto").device_map == ["cpu"] * 5


def test_split_by_device_map_computes_what_the_single_device_model_does(gpt2_checkpoint_dir):
    reference = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device="cpu")
    n_layers = reference.cfg.n_layers
    mapped = HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device_map={i: f"cpu:{i % 2}" for i in range(n_layers)})
    assert mapped.cfg.n_devices == 2
    tokens = mapped.to_tokens("placed block by block")
    torch.testing.assert_close(mapped(tokens), reference(tokens))


@pytest.mark.parametrize(
    "device_map, message",
    [
        ({0: "cpu", 1: "cpu", 2: "cpu", 3: "cpu"}, r"leaves blocks \[4\] without a device"),
        ({**{i: "cpu" for i in range(5)}, 5: "cpu"}, "names block 5 but the model has 5 blocks"),
        ({**{i: "cpu" for i in range(5)}, "blocks.0": "cpu"}, "names block 0 twice"),
        ({**{i: "cpu" for i in range(5)}, "embed": "cpu"}, "key 'embed' is not a block"),
        (["cpu"] * 4, "lists 4 devices but the model has 5 blocks"),
        ({i: "gpu:0" for i in range(5)}, "gives block 0 the device 'gpu:0', which torch does not know"),
        ("balanced", "device_map must be 'auto', a dict"),
    ],
)
def test_bad_device_maps_are_refused_in_one_line(device_map, message):
    with pytest.raises(ValueError, match=message) as info:
        _cfg(device_map=device_map)
    assert "\n" not in str(info.value)


def test_device_map_conflicting_with_device_or_n_devices_is_refused():
    with pytest.raises(ValueError, match="device='cpu' but device_map puts block 0 on 'cpu:1'"):
        _cfg(device_map=["cpu:1"] * 5)
    with pytest.raises(ValueError, match="n_devices=3 but device_map uses 2 devices"):
        HookedTransformerConfig(n_layers=2, d_model=16, n_ctx=8, d_head=4, d_vocab=20, act_fn="relu", n_devices=3, device_map=["cpu:0", "cpu:1"])


def test_device_map_beyond_the_visible_gpus_is_refused_before_loading(gpt2_checkpoint_dir):
    from transformer_lens.loading import hf_io, tensor_source

    count = torch.cuda.device_count()
    reads = []
    original = tensor_source.SafetensorsSource.__getitem__
    try:
        tensor_source.SafetensorsSource.__getitem__ = lambda self, name: reads.append(name) or original(self, name)
        with pytest.raises(ValueError, match=f"device_map uses cuda:{count} but only {count} CUDA devices are visible"):
            n_layers = hf_io.load_hf_config(gpt2_checkpoint_dir).n_layer
            HookedTransformer.from_pretrained(str(gpt2_checkpoint_dir), device_map={i: f"cuda:{count}" for i in range(n_layers)})
    finally:
        tensor_source.SafetensorsSource.__getitem__ = original
    assert reads == []


@pytest.mark.parametrize("split", [dict(n_devices=2), dict(device_map=["cpu:0", "cpu:0", "cpu:1", "cpu:1", "cpu:1"])], ids=["n_devices", "device_map"])
def test_moving_a_split_model_to_one_device_ends_the_split(split):
    single = HookedTransformer(_cfg())
    model = HookedTransformer(_cfg(**split))
    model.load_state_dict(single.state_dict())
    model.to(torch.float64)  # no device: still split
    assert model.cfg.n_devices == 2
    model.to("cpu", torch.float32)
    assert (model.cfg.n_devices, model.cfg.device_map, model.cfg.device) == (1, None, "cpu")
    assert get_device_for_block_index(4, model.cfg) == torch.device("cpu")
    tokens = torch.randint(0, 20, (2, 6), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(model(tokens), single(tokens))
