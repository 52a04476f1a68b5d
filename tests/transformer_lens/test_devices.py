"""n_devices bookkeeping, on two CPU 'devices' (torch keeps CPU tensors on one device)."""

import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.devices import get_device_for_block_index


def _cfg(**kw):
    return HookedTransformerConfig(n_layers=5, d_model=16, n_ctx=8, d_head=4, d_vocab=20, act_fn="relu", device="cpu", seed=0, **kw)


def test_blocks_are_split_into_contiguous_groups():
    cfg = _cfg(n_devices=2)
    assert [get_device_for_block_index(i, cfg) for i in range(5)] == [torch.device("cpu", i // 3) for i in range(5)]
    assert get_device_for_block_index(4, _cfg()) == torch.device("cpu")
    assert get_device_for_block_index(3, cfg, device="cuda:1") == torch.device("cuda", 2)


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
