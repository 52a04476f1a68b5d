"""Stacked weight views of a HookedTransformer (``model.W_Q`` is ``[n_layers, n_heads, d_model, d_head]``)."""

from __future__ import annotations

import torch

from transformer_lens.factored_matrix import FactoredMatrix


def _stacked(name: str, part: str, doc: str) -> property:
    def getter(self) -> torch.Tensor:
        return torch.stack([getattr(getattr(block, part), name) for block in self.blocks], dim=0)

    getter.__doc__ = doc
    return property(getter)


class WeightPropertiesMixin:
    """Needs ``self.embed``, ``self.pos_embed``, ``self.unembed`` and ``self.blocks``."""

    W_Q = _stacked("W_Q", "attn", "Query weights ``[n_layers, n_heads, d_model, d_head]``.")
    W_K = _stacked("W_K", "attn", "Key weights ``[n_layers, n_heads, d_model, d_head]`` (per query head).")
    W_V = _stacked("W_V", "attn", "Value weights ``[n_layers, n_heads, d_model, d_head]`` (per query head).")
    W_O = _stacked("W_O", "attn", "Output weights ``[n_layers, n_heads, d_head, d_model]``.")
    b_Q = _stacked("b_Q", "attn", "Query biases ``[n_layers, n_heads, d_head]``.")
    b_K = _stacked("b_K", "attn", "Key biases ``[n_layers, n_heads, d_head]``.")
    b_V = _stacked("b_V", "attn", "Value biases ``[n_layers, n_heads, d_head]``.")
    b_O = _stacked("b_O", "attn", "Attention output biases ``[n_layers, d_model]``.")
    W_in = _stacked("W_in", "mlp", "MLP input weights ``[n_layers, d_model, d_mlp]``.")
    W_gate = _stacked("W_gate", "mlp", "Gate weights of gated MLPs ``[n_layers, d_model, d_mlp]``.")
    W_out = _stacked("W_out", "mlp", "MLP output weights ``[n_layers, d_mlp, d_model]``.")
    b_in = _stacked("b_in", "mlp", "MLP input biases ``[n_layers, d_mlp]``.")
    b_out = _stacked("b_out", "mlp", "MLP output biases ``[n_layers, d_model]``.")

    @property
    def W_E(self) -> torch.Tensor:
        """Token embeddings ``[d_vocab, d_model]``."""
        return self.embed.W_E

    @property
    def W_pos(self) -> torch.Tensor:
        """Positional embeddings ``[n_ctx, d_model]``."""
        return self.pos_embed.W_pos

    @property
    def W_E_pos(self) -> torch.Tensor:
        """Token and positional embeddings stacked ``[d_vocab + n_ctx, d_model]``."""
        return torch.cat([self.W_E, self.W_pos], dim=0)

    @property
    def W_U(self) -> torch.Tensor:
        """Unembedding ``[d_model, d_vocab]``."""
        return self.unembed.W_U

    @property
    def b_U(self) -> torch.Tensor:
        return self.unembed.b_U

    @property
    def QK(self) -> FactoredMatrix:
        """Per-head ``W_Q @ W_K^T`` as a FactoredMatrix ``[n_layers, n_heads, d_model, d_model]``."""
        return FactoredMatrix(self.W_Q, self.W_K.transpose(-2, -1))

    @property
    def OV(self) -> FactoredMatrix:
        """Per-head ``W_V @ W_O`` as a FactoredMatrix ``[n_layers, n_heads, d_model, d_model]``."""
        return FactoredMatrix(self.W_V, self.W_O)

    def accumulated_bias(self, layer: int, mlp_input: bool = False, include_mlp_biases: bool = True) -> torch.Tensor:
        """Sum of the output biases written to the residual stream before ``layer`` ``[d_model]``."""
        total = torch.zeros(self.cfg.d_model, device=self.W_E.device, dtype=self.W_E.dtype)
        for index in range(layer):
            block = self.blocks[index]
            total = total + block.attn.b_O
            if include_mlp_biases and not self.cfg.attn_only:
                total = total + block.mlp.b_out
        if mlp_input:
            if layer >= self.cfg.n_layers:
                raise ValueError(f"mlp_input needs layer < n_layers ({self.cfg.n_layers}), got {layer}")
            total = total + self.blocks[layer].attn.b_O
        return total

    def all_head_labels(self) -> list[str]:
        """``["L0H0", "L0H1", ...]`` in layer-major order."""
        return [f"L{layer}H{head}" for layer in range(self.cfg.n_layers) for head in range(self.cfg.n_heads)]
