"""Reading weight matrices through the vocabulary: their top singular directions, unembedded.

For a head's OV circuit, or a layer's MLP input or output weights, each of the first ``num_vectors``
right singular vectors (a ``d_model`` direction, strongest first) is multiplied by ``W_U``, giving
how much that direction pushes each token's logit.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

import torch

from transformer_lens.factored_matrix import FactoredMatrix

OUTPUT_EMBEDDING = "unembed.W_U"
VECTOR_TYPES = ["OV", "w_in", "w_out"]


class SVDInterpreterInputError(ValueError, AssertionError):
    """Bad arguments to SVDInterpreter (an AssertionError too, as upstream raises)."""


class SVDInterpreter:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.cfg = model.cfg
        self.params = dict(model.named_parameters())

    def get_singular_vectors(
        self,
        vector_type: Literal["OV", "w_in", "w_out"],
        layer_index: int,
        num_vectors: int = 10,
        head_index: Optional[int] = None,
    ) -> torch.Tensor:
        """``"d_vocab 1 num_vectors"``: the top right singular vectors of the matrix, times ``W_U``.

        ``"OV"`` needs ``head_index``; ``"w_in"`` is ``W_in^T`` (scaled by ``ln2.w`` when the norm weights
        were not folded in) and ``"w_out"`` is ``W_out``, both of layer ``layer_index``.
        """
        if vector_type not in VECTOR_TYPES:
            raise SVDInterpreterInputError(f"vector_type must be one of {VECTOR_TYPES}, got {vector_type!r}")
        if head_index is None and vector_type == "OV":
            raise SVDInterpreterInputError("head_index is needed for vector_type 'OV' (it is optional only for w_in and w_out)")
        if not 0 <= layer_index < self.cfg.n_layers:
            raise SVDInterpreterInputError(f"layer_index must be between 0 and {self.cfg.n_layers - 1}, got {layer_index}")
        if vector_type == "OV":
            right_vectors = self._get_OV_matrix(layer_index, head_index).V.T  # type: ignore[arg-type]
        else:
            matrix = self._get_w_in_matrix(layer_index) if vector_type == "w_in" else self._get_w_out_matrix(layer_index)
            right_vectors = torch.linalg.svd(matrix.float(), full_matrices=False).Vh
        if num_vectors > right_vectors.shape[0]:
            raise SVDInterpreterInputError(f"num_vectors={num_vectors} exceeds the matrix rank bound {right_vectors.shape[0]}")
        unembed = self.model.W_U.float()
        vectors = right_vectors[:num_vectors].float() @ unembed  # [num_vectors, d_vocab]
        return vectors.T.unsqueeze(1)

    def _get_OV_matrix(self, layer_index: int, head_index: int) -> FactoredMatrix:
        if not 0 <= head_index < self.cfg.n_heads:
            raise SVDInterpreterInputError(f"head_index must be between 0 and {self.cfg.n_heads - 1}, got {head_index}")
        attn = self.model.blocks[layer_index].attn
        return FactoredMatrix(attn.W_V[head_index].float(), attn.W_O[head_index].float())

    def _get_w_in_matrix(self, layer_index: int) -> torch.Tensor:
        block = self.model.blocks[layer_index]
        w_in = block.mlp.W_in.T
        ln2_weight = getattr(getattr(block, "ln2", None), "w", None)
        return w_in * ln2_weight if ln2_weight is not None else w_in

    def _get_w_out_matrix(self, layer_index: int) -> torch.Tensor:
        return self.model.blocks[layer_index].mlp.W_out
