"""transformer_lens.train: a short run lowers the loss, is reproducible, and names bad settings."""

from __future__ import annotations

import pytest
import torch

from transformer_lens import HookedTransformer
from transformer_lens.train import HookedTransformerTrainConfig, train


def tiny_model() -> HookedTransformer:
    cfg = dict(n_layers=1, d_model=32, n_ctx=16, d_head=8, n_heads=4, d_vocab=20, attn_only=True, seed=0, device="cpu")
    return HookedTransformer(cfg)


def counting_dataset(n: int = 64) -> list[dict[str, torch.Tensor]]:
    """Rows of consecutive numbers mod 20: perfectly predictable from the previous token."""
    starts = torch.randint(0, 20, (n,), generator=torch.Generator().manual_seed(0))
    return [{"tokens": (start + torch.arange(16)) % 20} for start in starts]


def mean_loss(model: HookedTransformer, data) -> float:
    with torch.no_grad():
        return model(torch.stack([row["tokens"] for row in data]), return_type="loss").item()


def test_a_short_run_lowers_the_loss():
    model, data = tiny_model(), counting_dataset()
    before = mean_loss(model, data)
    config = HookedTransformerTrainConfig(num_epochs=8, batch_size=8, lr=1e-2, print_every=None, device="cpu")
    assert train(model, config, data) is model
    after = mean_loss(model, data)
    assert after < 0.3 * before and model.training


def test_runs_are_reproducible_and_accept_tensor_datasets():
    data = counting_dataset(16)
    tensors = torch.utils.data.TensorDataset(torch.stack([row["tokens"] for row in data]))
    config = HookedTransformerTrainConfig(num_epochs=1, batch_size=4, print_every=None, optimizer_name="SGD", momentum=0.9, max_grad_norm=1.0)
    first = train(tiny_model(), config, data)
    second = train(tiny_model(), config, tensors)
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_checkpoints_and_max_steps(tmp_path, capsys):
    config = HookedTransformerTrainConfig(
        num_epochs=1, batch_size=4, print_every=2, save_every=2, save_dir=str(tmp_path), max_steps=3, warmup_steps=2, weight_decay=0.1
    )
    train(tiny_model(), config, counting_dataset(64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_0.pt", "model_2.pt"]
    assert capsys.readouterr().out.count("Loss") == 2


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="Optimizer 'Lion' is not supported"):
        train(tiny_model(), HookedTransformerTrainConfig(num_epochs=1, batch_size=4, optimizer_name="Lion"), counting_dataset(4))
    with pytest.raises(ValueError, match="save_every needs save_dir"):
        train(tiny_model(), HookedTransformerTrainConfig(num_epochs=1, batch_size=4, save_every=1), counting_dataset(4))
