"""The rest of upstream HookedTransformer's public methods: parameter counts, composition scores,
the weight-processing steps as state-dict methods, and the few we leave out (NotImplementedError).
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from transformer_lens import weight_processing
from transformer_lens._not_provided import not_provided

StateDict = dict[str, torch.Tensor]


class ModelExtrasMixin:
    cfg: Any

    @property
    def n_params_total(self) -> int:
        """Every parameter counted (embeddings, biases and norms too), unlike ``cfg.n_params``."""
        return sum(parameter.numel() for parameter in self.parameters())  # type: ignore[attr-defined]

    def all_composition_scores(self, mode: Literal["Q", "K", "V"]) -> torch.Tensor:
        """``"n_layers n_heads n_layers n_heads"``: how much each head's OV output composes into each later
        head's query (``"Q"``), key (``"K"``) or value (``"V"``); 0 where the second head is not in a later layer."""
        from transformer_lens.utils import composition_scores

        right_of = {"Q": lambda: self.QK, "K": lambda: self.QK.T, "V": lambda: self.OV}  # type: ignore[attr-defined]
        if mode not in right_of:
            raise ValueError(f"mode must be one of ['Q', 'K', 'V'], got {mode!r}")
        scores = composition_scores(self.OV, right_of[mode](), broadcast_dims=True)  # type: ignore[attr-defined]
        layers = torch.arange(self.cfg.n_layers, device=scores.device)
        later = layers[:, None, None, None] < layers[None, None, :, None]
        return torch.where(later, scores, torch.zeros_like(scores))

    # ---- weight processing on a state dict (upstream keeps these as model methods) ------------

    def fold_layer_norm(self, state_dict: StateDict, fold_biases: bool = True, center_weights: bool = True) -> StateDict:
        """``state_dict`` with each layer norm's weight (and bias) folded into the layer that reads it."""
        return weight_processing.fold_layer_norm(state_dict, self.cfg, fold_biases, center_weights)

    def center_writing_weights(self, state_dict: StateDict) -> StateDict:
        """``state_dict`` with the weights that write to the residual stream made mean-zero over ``d_model``."""
        return weight_processing.center_writing_weights(state_dict, self.cfg)

    def center_unembed(self, state_dict: StateDict) -> StateDict:
        """``state_dict`` with ``W_U``/``b_U`` mean-zero over the vocabulary (softmax is unchanged)."""
        return weight_processing.center_unembed(state_dict)

    def fold_value_biases(self, state_dict: StateDict) -> StateDict:
        """``state_dict`` with the value biases moved into ``b_O`` (exact: patterns sum to 1)."""
        return weight_processing.fold_value_biases(state_dict, self.cfg)

    def refactor_factored_attn_matrices(self, state_dict: StateDict) -> StateDict:
        """``state_dict`` with W_Q/W_K and W_V/W_O rebalanced by SVD (same QK and OV circuits)."""
        return weight_processing.refactor_factored_attn_matrices(state_dict, self.cfg)

    def fill_missing_keys(self, state_dict: StateDict) -> StateDict:
        """``state_dict`` completed with this model's current values for the parameters it lacks."""
        from transformer_lens.loading_from_pretrained import fill_missing_keys

        return fill_missing_keys(self, state_dict)  # type: ignore[arg-type]

    def get_pos_offset(self, past_kv_cache: Any, batch_size: int) -> int:
        """How many positions ``past_kv_cache`` already holds (0 without a cache)."""
        if past_kv_cache is None:
            return 0
        cached_batch, cached_positions = past_kv_cache[0].past_keys.shape[:2]
        if cached_batch != batch_size:
            raise ValueError(f"The key/value cache holds batch size {cached_batch}, but the input has {batch_size}")
        return cached_positions

    # ---- upstream methods LensLab leaves out --------------------------------------------------

    def load_sample_training_dataset(self, **kwargs: Any) -> Any:
        raise not_provided(
            "HookedTransformer.load_sample_training_dataset",
            "pretrained models' corpora come from the hub; use transformer_lens.utils.get_dataset(name) when online",
        )

    def sample_datapoint(self, *args: Any, **kwargs: Any) -> Any:
        raise not_provided(
            "HookedTransformer.sample_datapoint",
            "it samples the hub training corpus; use transformer_lens.utils.get_dataset(name) when online",
        )

    def generate_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise not_provided("HookedTransformer.generate_stream", "use generate() (token-by-token streaming is not implemented)")

    def get_residual(self, *args: Any, **kwargs: Any) -> Any:
        raise not_provided(
            "HookedTransformer.get_residual", "use input_to_embed(), which returns the residual stream entering block 0"
        )
