"""Training a HookedTransformer on next-token prediction: a small, dependable loop.

``train(model, HookedTransformerTrainConfig(num_epochs=1, batch_size=8), dataset)`` where ``dataset``
yields ``{"tokens": "pos"}`` rows (``tokenize_and_concatenate`` makes them), or token tensors.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Optional, Union

import torch
from torch.utils.data import DataLoader

__all__ = ["HookedTransformerTrainConfig", "train"]


@dataclass
class HookedTransformerTrainConfig:
    """Hyperparameters of one training run.

    ``optimizer_name``: "Adam" (AdamW when ``weight_decay`` is set), "AdamW" or "SGD" (with ``momentum``).
    ``warmup_steps`` ramps the learning rate linearly from 0. ``max_grad_norm`` clips gradients.
    ``save_every`` steps, a state dict goes to ``save_dir/model_{step}.pt``. ``print_every`` steps the loss
    is printed. ``max_steps`` ends each epoch early. ``wandb`` logs to Weights & Biases (if installed).
    """

    num_epochs: int
    batch_size: int
    lr: float = 1e-3
    seed: int = 0
    momentum: float = 0.0
    max_grad_norm: Optional[float] = None
    weight_decay: Optional[float] = None
    optimizer_name: str = "Adam"
    device: Optional[Union[str, torch.device]] = None
    warmup_steps: int = 0
    save_every: Optional[int] = None
    save_dir: Optional[str] = None
    wandb: bool = False
    wandb_project_name: Optional[str] = None
    print_every: Optional[int] = 50
    max_steps: Optional[int] = None


def _optimizer(model: torch.nn.Module, config: HookedTransformerTrainConfig) -> torch.optim.Optimizer:
    if config.optimizer_name in ("Adam", "AdamW"):
        if config.weight_decay is not None:
            return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        return torch.optim.Adam(model.parameters(), lr=config.lr)
    if config.optimizer_name == "SGD":
        return torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay or 0.0
        )
    raise ValueError(f"Optimizer {config.optimizer_name!r} is not supported; use 'Adam', 'AdamW' or 'SGD'")


def _tokens_of(batch: Any) -> torch.Tensor:
    if isinstance(batch, dict):
        return batch["tokens"]
    if isinstance(batch, (list, tuple)):  # a TensorDataset yields one-element tuples
        return batch[0]
    return batch


def train(model: Any, config: HookedTransformerTrainConfig, dataset: Any) -> Any:
    """Train ``model`` in place on next-token loss over ``dataset`` (shuffled, seeded); returns the model.

    The model is left in training mode on ``config.device`` (default: the model's current device).
    """
    config = dataclasses.replace(config)
    if config.save_every is not None and config.save_dir is None:
        raise ValueError("save_every needs save_dir (where to write the checkpoints)")
    torch.manual_seed(config.seed)
    wandb = None
    if config.wandb:
        try:
            import wandb  # type: ignore[no-redef]
        except ImportError:
            raise ImportError("config.wandb=True needs the 'wandb' package (pip install wandb)") from None
        wandb.init(project=config.wandb_project_name or "easy-transformer", config=dataclasses.asdict(config))
    device = config.device if config.device is not None else next(model.parameters()).device
    model.to(device)
    model.train()
    optimizer = _optimizer(model, config)
    scheduler = None
    if config.warmup_steps > 0:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / config.warmup_steps))
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True)
    for epoch in range(1, config.num_epochs + 1):
        samples = 0
        for step, batch in enumerate(loader):
            tokens = _tokens_of(batch).to(device)
            loss = model(tokens, return_type="loss")
            loss.backward()
            if config.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            optimizer.zero_grad()
            samples += tokens.shape[0]
            if wandb is not None:
                wandb.log({"train_loss": loss.item(), "samples": samples, "epoch": epoch})
            if config.print_every is not None and step % config.print_every == 0:
                print(f"Epoch {epoch} Samples {samples} Step {step} Loss {loss.item()}")
            if config.save_every is not None and step % config.save_every == 0:
                torch.save(model.state_dict(), os.path.join(str(config.save_dir), f"model_{step}.pt"))
            if config.max_steps is not None and step >= config.max_steps:
                break
    return model
