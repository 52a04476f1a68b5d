"""Residual-stream analysis on an ActivationCache: logit lens, decompositions, attributions.

Every stack puts its components first: ``"component *batch_and_pos d_model"``, where the batch
and position dims are whatever the cache holds after ``pos_slice`` (an int position drops it,
and a cache without its batch dim has none). Layer arguments mean "the residual stream entering
block ``layer``"; ``None`` or ``-1`` mean ``n_layers``, the stream entering the unembed.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Optional, Union

import torch

from transformer_lens.utils import Slice, SliceInput

logger = logging.getLogger(__name__)

SliceLike = Union[Slice, SliceInput]
NORMALIZED = ("LN", "LNPre", "RMS", "RMSPre")
CENTERED = ("LN", "LNPre")
DECOMPOSE_MODES = ("all", "mlp", "attn")


def _as_slice(value: SliceLike) -> Slice:
    return value if isinstance(value, Slice) else Slice(value)


def _with_labels(stack: torch.Tensor, labels: list[str], return_labels: bool) -> Any:
    return (stack, labels) if return_labels else stack


def _components_first(stack: torch.Tensor) -> torch.Tensor:
    """``"... component d" -> "component ... d"``."""
    return stack.movedim(-2, 0)


def _project(stack: torch.Tensor, project: Optional[torch.Tensor]) -> torch.Tensor:
    return stack if project is None else stack @ project.to(stack.device, stack.dtype)


class ResidDecompositionMixin:
    """Needs ``self.model``, ``self.cache_dict``, ``self.has_batch_dim`` and ``self[...]`` lookups."""

    model: Any
    cache_dict: dict[str, torch.Tensor]
    has_batch_dim: bool
    has_embed: bool
    has_pos_embed: bool

    def __getitem__(self, key: Any) -> torch.Tensor:  # provided by ActivationCache
        raise NotImplementedError

    # ---- helpers ---------------------------------------------------------------------
    def _layer(self, layer: Optional[int]) -> int:
        n_layers = self.model.cfg.n_layers
        if layer is None or layer == -1:
            return n_layers
        if not isinstance(layer, int) or not 0 <= layer <= n_layers:
            raise ValueError(f"layer must be in [0, {n_layers}], -1 or None; got {layer!r}")
        return layer

    def _resid_entering(self, layer: int, mlp_input: bool = False) -> torch.Tensor:
        """The residual stream read by block ``layer``'s attention (or MLP), or by the unembed."""
        if mlp_input:
            return self["resid_mid", layer]
        if layer == self.model.cfg.n_layers:
            return self["resid_post", layer - 1]
        return self["resid_pre", layer]

    def _empty_stack(self, pos_slice: Slice, last_dim: Optional[int] = None) -> torch.Tensor:
        reference = pos_slice.apply(self["hook_embed"] if self.has_embed else self["resid_pre", 0], dim=-2)
        shape = (0, *reference.shape[:-1], reference.shape[-1] if last_dim is None else last_dim)
        return torch.zeros(shape, device=reference.device, dtype=reference.dtype)

    def _ln_scale(self, layer: int, mlp_input: bool, pos_slice: Slice, batch_slice: Optional[Slice] = None) -> torch.Tensor:
        """The cached LayerNorm scale ``"*batch_and_pos 1"`` of the norm that reads ``layer``'s input."""
        cfg = self.model.cfg
        if layer == cfg.n_layers:
            if mlp_input:
                raise ValueError("mlp_input must be False when layer is n_layers (the unembed)")
            key = "ln_final.hook_scale"
        else:
            key = f"blocks.{layer}.ln{2 if mlp_input else 1}.hook_scale"
        if key not in self.cache_dict:
            raise KeyError(
                f"apply_ln needs the cached LayerNorm scale {key!r}, which is not in this cache; "
                "run run_with_cache without a names_filter that leaves it out"
            )
        scale = self.cache_dict[key]
        if key.endswith("ln1.hook_scale") and (cfg.use_split_qkv_input or cfg.use_attn_in):
            scale = scale[..., 0, :]  # per-head copies of one input share one scale
        scale = pos_slice.apply(scale, dim=-2)
        if batch_slice is not None and self.has_batch_dim:
            scale = batch_slice.apply(scale, dim=0)
        return scale

    # ---- layer norm --------------------------------------------------------------------
    def apply_ln_to_stack(
        self,
        residual_stack: torch.Tensor,
        layer: Optional[int] = None,
        mlp_input: bool = False,
        pos_slice: SliceLike = None,
        batch_slice: SliceLike = None,
        has_batch_dim: bool = True,
        recompute_ln: bool = False,
    ) -> torch.Tensor:
        """Scale a stack of residual components as the LayerNorm reading ``layer`` scaled their sum.

        Each component is centered (LN/LNPre) and divided by the cached ``hook_scale`` of that
        norm (ln1, ln2 with ``mlp_input``, or ln_final for ``layer == n_layers``), so the result is
        linear and the components still add up. ``pos_slice``/``batch_slice`` are applied to the
        scale (and ``batch_slice`` to the stack's dim 1 when ``has_batch_dim``); the stack is
        assumed to be position-sliced already. With ``recompute_ln`` and the unembed as target,
        ``model.ln_final`` is applied to each component on its own statistics (logit lens).
        Models without normalization get the stack back unchanged.
        """
        cfg = self.model.cfg
        if cfg.normalization_type not in NORMALIZED:
            return residual_stack
        pos_slice, batch_slice = _as_slice(pos_slice), _as_slice(batch_slice)
        layer = self._layer(layer)
        if layer < cfg.n_layers and getattr(cfg, "normalization_after_only", False):
            # OLMo 2/3: blocks read the raw residual stream (ln1/ln2 normalise sublayer outputs).
            return batch_slice.apply(residual_stack, dim=1) if has_batch_dim else residual_stack
        if has_batch_dim:
            residual_stack = batch_slice.apply(residual_stack, dim=1)
        if recompute_ln and layer == cfg.n_layers and getattr(self.model, "ln_final", None) is not None:
            return self.model.ln_final(residual_stack)
        if cfg.normalization_type in CENTERED:
            residual_stack = residual_stack - residual_stack.mean(dim=-1, keepdim=True)
        return residual_stack / self._ln_scale(layer, mlp_input, pos_slice, batch_slice)

    # ---- accumulated and decomposed residual streams -----------------------------------
    def accumulated_resid(
        self,
        layer: Optional[int] = None,
        incl_mid: bool = False,
        apply_ln: bool = False,
        pos_slice: SliceLike = None,
        mlp_input: bool = False,
        return_labels: bool = False,
    ) -> Any:
        """The residual stream at the start of each block up to ``layer``: ``"layers_covered ... d_model"``.

        Labels are ``"0_pre"``, ``"0_mid"`` (with ``incl_mid`` before ``layer``, or ``mlp_input``
        at ``layer``) and ``"final_post"`` (when ``layer`` is ``n_layers``). ``apply_ln`` applies
        the final norm with each entry's own statistics when ``layer`` is ``n_layers`` (the logit
        lens), otherwise the cached scale of the norm reading ``layer``.
        """
        pos_slice = _as_slice(pos_slice)
        layer = self._layer(layer)
        n_layers = self.model.cfg.n_layers
        components, labels = [], []
        for index in range(layer + 1):
            if index == n_layers:
                components.append(self["resid_post", n_layers - 1])
                labels.append("final_post")
                continue
            components.append(self["resid_pre", index])
            labels.append(f"{index}_pre")
            if (incl_mid and index < layer) or (mlp_input and index == layer):
                components.append(self["resid_mid", index])
                labels.append(f"{index}_mid")
        stack = torch.stack([pos_slice.apply(c, dim=-2) for c in components], dim=0)
        if apply_ln:
            stack = self.apply_ln_to_stack(
                stack, layer, mlp_input=mlp_input, pos_slice=pos_slice,
                has_batch_dim=self.has_batch_dim, recompute_ln=layer == n_layers,
            )  # fmt: skip
        return _with_labels(stack, labels, return_labels)

    def decompose_resid(
        self,
        layer: Optional[int] = None,
        mlp_input: bool = False,
        mode: Literal["all", "mlp", "attn"] = "all",
        apply_ln: bool = False,
        pos_slice: SliceLike = None,
        incl_embeds: bool = True,
        return_labels: bool = False,
    ) -> Any:
        """The outputs that add up to the stream entering ``layer``: ``"component ... d_model"``.

        Labels: ``"embed"``, ``"pos_embed"``, then ``"{l}_attn_out"`` and ``"{l}_mlp_out"`` for each
        earlier block (``mode`` keeps only one kind); ``mlp_input`` adds ``layer``'s own attn_out.
        """
        if mode not in DECOMPOSE_MODES:
            raise ValueError(f"mode must be one of {DECOMPOSE_MODES}, got {mode!r}")
        pos_slice = _as_slice(pos_slice)
        layer = self._layer(layer)
        incl_attn = mode != "mlp"
        incl_mlp = mode != "attn" and not self.model.cfg.attn_only
        components, labels = [], []
        if incl_embeds:
            if self.has_embed:
                components.append(self["hook_embed"])
                labels.append("embed")
            if self.has_pos_embed:
                components.append(self["hook_pos_embed"])
                labels.append("pos_embed")
        for index in range(layer):
            if incl_attn:
                components.append(self["attn_out", index])
                labels.append(f"{index}_attn_out")
            if incl_mlp:
                components.append(self["mlp_out", index])
                labels.append(f"{index}_mlp_out")
        if mlp_input and incl_attn:
            components.append(self["attn_out", layer])
            labels.append(f"{layer}_attn_out")
        if not components:
            stack = self._empty_stack(pos_slice)
        else:
            stack = torch.stack([pos_slice.apply(c, dim=-2) for c in components], dim=0)
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, layer, mlp_input=mlp_input, pos_slice=pos_slice, has_batch_dim=self.has_batch_dim)
        return _with_labels(stack, labels, return_labels)

    # ---- attention heads -------------------------------------------------------------
    def _head_results_missing(self) -> list[int]:
        expected_ndim = 4 if self.has_batch_dim else 3
        missing = []
        for layer in range(self.model.cfg.n_layers):
            cached = self.cache_dict.get(f"blocks.{layer}.attn.hook_result")
            if cached is None or cached.ndim != expected_ndim or cached.shape[-2] != self.model.cfg.n_heads:
                missing.append(layer)
        return missing

    def _compute_head_results(self, layers: list[int]) -> None:
        for layer in layers:
            z = self["z", layer, "attn"]
            W_O = self.model.blocks[layer].attn.W_O.to(z.device)
            dtype = torch.promote_types(z.dtype, W_O.dtype)
            result = torch.einsum("...hd,hdm->...hm", z.to(dtype), W_O.to(dtype))
            self.cache_dict[f"blocks.{layer}.attn.hook_result"] = result

    def compute_head_results(self) -> None:
        """Store each head's output ``z @ W_O`` as ``blocks.{l}.attn.hook_result`` ``"... head_index d_model"``.

        A layer's ``hook_attn_out`` is the sum over its heads plus ``b_O``. Results already
        cached (e.g. run with ``use_attn_result``) are kept.
        """
        missing = self._head_results_missing()
        if not missing:
            logger.warning("Tried to compute head results when they were already cached")
        self._compute_head_results(missing)

    def stack_head_results(
        self,
        layer: int = -1,
        return_labels: bool = False,
        incl_remainder: bool = False,
        pos_slice: SliceLike = None,
        apply_ln: bool = False,
    ) -> Any:
        """Every head's output in blocks before ``layer``: ``"(layer head_index) ... d_model"``.

        Labels are ``"L{l}H{h}"``; ``incl_remainder`` appends ``"remainder"``, the rest of the
        stream entering ``layer`` (so the stack sums to it).
        """
        pos_slice = _as_slice(pos_slice)
        layer = self._layer(layer)
        self._compute_head_results(self._head_results_missing())
        n_heads = self.model.cfg.n_heads
        labels = [f"L{l}H{h}" for l in range(layer) for h in range(n_heads)]
        if layer > 0:
            per_layer = [pos_slice.apply(self["result", l, "attn"], dim=-3) for l in range(layer)]
            stack = _components_first(torch.cat(per_layer, dim=-2))
        else:
            stack = self._empty_stack(pos_slice)
        if incl_remainder:
            remainder = pos_slice.apply(self._resid_entering(layer), dim=-2) - stack.sum(dim=0)
            stack = torch.cat([stack, remainder[None]], dim=0)
            labels.append("remainder")
        if apply_ln:
            stack = self.apply_ln_to_stack(stack, layer, pos_slice=pos_slice, has_batch_dim=self.has_batch_dim)
        return _with_labels(stack, labels, return_labels)

    def stack_activation(self, activation_name: str, layer: int = -1, sublayer_type: Optional[str] = None) -> torch.Tensor:
        """One activation from every block before ``layer``, stacked: ``"layers_covered ..."``."""
        layer = self._layer(layer)
        return torch.stack([self[activation_name, l, sublayer_type] for l in range(layer)], dim=0)

    # ---- MLP neurons ---------------------------------------------------------------------
    def get_neuron_results(
        self,
        layer: int,
        neuron_slice: SliceLike = None,
        pos_slice: SliceLike = None,
        project_output_onto: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Each neuron's write to the stream, ``post * W_out``: ``"... d_mlp d_model"`` (not cached).

        ``project_output_onto`` (``"d_model"`` or ``"d_model n_outs"``) is applied to ``W_out``
        first, so the ``d_mlp x d_model`` product is never built.
        """
        neuron_slice, pos_slice = _as_slice(neuron_slice), _as_slice(pos_slice)
        # Position first: an int position drops that dim, and neurons are then still last.
        acts = neuron_slice.apply(pos_slice.apply(self["post", layer, "mlp"], dim=-2), dim=-1)
        W_out = neuron_slice.apply(self.model.blocks[layer].mlp.W_out, dim=0).to(acts.device)
        if project_output_onto is None:
            return acts[..., None] * W_out
        projected = _project(W_out, project_output_onto)
        return acts * projected if projected.ndim == 1 else acts[..., None] * projected

    def stack_neuron_results(
        self,
        layer: int,
        pos_slice: SliceLike = None,
        neuron_slice: SliceLike = None,
        return_labels: bool = False,
        incl_remainder: bool = False,
        apply_ln: bool = False,
        project_output_onto: Optional[torch.Tensor] = None,
        mlp_input: bool = False,
    ) -> Any:
        """Every neuron's write in blocks before ``layer``: ``"(layer neuron) ... d_model"``, labels ``"L{l}N{n}"``.

        ``incl_remainder`` appends the rest of the stream entering ``layer`` (its MLP with
        ``mlp_input``). With ``project_output_onto`` the last dim is the projection (squeezed for a
        vector); combined with ``apply_ln`` the cached-scale norm is applied analytically, so the
        per-neuron ``d_model`` vectors are never built.
        """
        layer = self._layer(layer)
        pos_slice = _as_slice(pos_slice)
        neuron_slice = Slice.unwrap(neuron_slice)  # an int keeps the neuron dim
        if neuron_slice.mode == "int":
            neuron_slice = Slice([neuron_slice.slice])
        project = project_output_onto
        vector_projection = project is not None and project.ndim == 1
        if vector_projection:
            project = project[:, None]
        neuron_ids = neuron_slice.apply(torch.arange(self.model.cfg.d_mlp), dim=0).tolist()
        labels = [f"L{l}N{n}" for l in range(layer) for n in neuron_ids]
        ln_inside = apply_ln and project is not None
        per_layer = []
        for l in range(layer):
            if ln_inside:
                per_layer.append(self._neuron_results_ln_projected(l, layer, mlp_input, pos_slice, neuron_slice, project))
            else:
                per_layer.append(self.get_neuron_results(l, neuron_slice, pos_slice, project))
        if per_layer:
            stack = _components_first(torch.cat(per_layer, dim=-2))
        else:
            stack = self._empty_stack(pos_slice, None if project is None else project.shape[-1])
        if incl_remainder:
            target = pos_slice.apply(self._resid_entering(layer, mlp_input), dim=-2)
            if ln_inside:
                target = self.apply_ln_to_stack(target[None], layer, mlp_input, pos_slice, has_batch_dim=self.has_batch_dim)[0]
            remainder = _project(target, project) - stack.sum(dim=0)
            stack = torch.cat([stack, remainder[None]], dim=0)
            labels.append("remainder")
        if apply_ln and not ln_inside:
            stack = self.apply_ln_to_stack(stack, layer, mlp_input, pos_slice, has_batch_dim=self.has_batch_dim)
        if vector_projection:
            stack = stack.squeeze(-1)
        return _with_labels(stack, labels, return_labels)

    def _neuron_results_ln_projected(
        self, source: int, layer: int, mlp_input: bool, pos_slice: Slice, neuron_slice: Slice, project: torch.Tensor
    ) -> torch.Tensor:
        """``LN(post_n * W_out_n) @ p = (post_n / scale) * (centered(W_out_n) @ p)``: ``"... neuron n_outs"``."""
        acts = neuron_slice.apply(pos_slice.apply(self["post", source, "mlp"], dim=-2), dim=-1)
        W_out = neuron_slice.apply(self.model.blocks[source].mlp.W_out, dim=0).to(acts.device)
        if self.model.cfg.normalization_type in CENTERED:
            W_out = W_out - W_out.mean(dim=-1, keepdim=True)
        if self.model.cfg.normalization_type in NORMALIZED:
            acts = acts / self._ln_scale(layer, mlp_input, pos_slice)
        return acts[..., None] * _project(W_out, project)

    # ---- full decomposition and logit attribution ---------------------------------------
    def get_full_resid_decomposition(
        self,
        layer: Optional[int] = None,
        mlp_input: bool = False,
        expand_neurons: bool = True,
        apply_ln: bool = False,
        pos_slice: SliceLike = None,
        return_labels: bool = False,
        project_output_onto: Optional[torch.Tensor] = None,
    ) -> Any:
        """The stream entering ``layer`` split into every head, neuron (or MLP layer), embedding and bias.

        Order and labels: ``"L{l}H{h}"`` heads (including ``layer``'s own with ``mlp_input``),
        ``"L{l}N{n}"`` neurons (or ``"{l}_mlp_out"`` without ``expand_neurons``), ``"embed"``,
        ``"pos_embed"``, ``"bias"`` (the accumulated output biases). The stack sums to the stream.
        """
        layer = self._layer(layer)
        pos_slice = _as_slice(pos_slice)
        cfg = self.model.cfg
        project = project_output_onto
        vector_projection = project is not None and project.ndim == 1
        if vector_projection:
            project = project[:, None]

        def finish(stack: torch.Tensor) -> torch.Tensor:
            if apply_ln:
                stack = self.apply_ln_to_stack(stack, layer, mlp_input, pos_slice, has_batch_dim=self.has_batch_dim)
            return _project(stack, project)

        heads, labels = self.stack_head_results(layer + (1 if mlp_input else 0), return_labels=True, pos_slice=pos_slice)
        parts = [finish(heads)]
        if not cfg.attn_only and layer > 0:
            if expand_neurons:
                neurons, neuron_labels = self.stack_neuron_results(
                    layer, pos_slice=pos_slice, return_labels=True, apply_ln=apply_ln,
                    project_output_onto=project, mlp_input=mlp_input,
                )  # fmt: skip
                parts.append(neurons)
            else:
                mlps, neuron_labels = self.decompose_resid(
                    layer, mlp_input=mlp_input, mode="mlp", pos_slice=pos_slice, incl_embeds=False, return_labels=True
                )
                parts.append(finish(mlps))
            labels = labels + neuron_labels
        rest, rest_labels = [], []
        if self.has_embed:
            rest.append(pos_slice.apply(self["hook_embed"], dim=-2))
            rest_labels.append("embed")
        if self.has_pos_embed:
            rest.append(pos_slice.apply(self["hook_pos_embed"], dim=-2))
            rest_labels.append("pos_embed")
        # Without expanded neurons, each mlp_out already holds its b_out.
        bias = self.model.accumulated_bias(layer, mlp_input, include_mlp_biases=expand_neurons)
        rest.append(bias.to(heads.device).expand(heads.shape[1:]))
        rest_labels.append("bias")
        parts.append(finish(torch.stack(rest, dim=0)))
        stack = torch.cat(parts, dim=0)
        if vector_projection:
            stack = stack.squeeze(-1)
        return _with_labels(stack, labels + rest_labels, return_labels)

    def logit_attrs(
        self,
        residual_stack: torch.Tensor,
        tokens: Union[str, int, torch.Tensor],
        incorrect_tokens: Optional[Union[str, int, torch.Tensor]] = None,
        pos_slice: SliceLike = None,
        batch_slice: SliceLike = None,
        has_batch_dim: bool = True,
    ) -> torch.Tensor:
        """How much each stack component pushes up the logit of ``tokens``: ``"component ..."``.

        The stack is treated as the input to the unembed: the final norm's cached scale is applied
        (``pos_slice``/``batch_slice`` select the matching scale entries), then each component is
        dotted with the tokens' unembedding directions. With ``incorrect_tokens`` (same shape),
        the attribution is to the logit difference. Tokens: one (str, int or 0-d tensor),
        ``"batch"`` (one per example), or ``"batch pos"``.
        """
        batch_slice = _as_slice(batch_slice)
        directions = self.model.tokens_to_residual_directions(tokens)
        if incorrect_tokens is not None:
            if _token_shape(tokens) != _token_shape(incorrect_tokens):
                raise ValueError(
                    f"tokens and incorrect_tokens must have the same shape, got "
                    f"{_token_shape(tokens)} and {_token_shape(incorrect_tokens)}"
                )
            directions = directions - self.model.tokens_to_residual_directions(incorrect_tokens)
        scaled = self.apply_ln_to_stack(residual_stack, None, pos_slice=pos_slice, batch_slice=batch_slice, has_batch_dim=has_batch_dim)
        if (
            has_batch_dim
            and batch_slice.mode != "int"
            and scaled.ndim == 4
            and directions.ndim == 2
            and directions.shape[0] == scaled.shape[1]
        ):
            directions = directions.unsqueeze(-2)  # one token per example, shared by its positions
        return (scaled * directions.to(scaled.device)).sum(dim=-1)


def _token_shape(tokens: Union[str, int, torch.Tensor]) -> tuple[int, ...]:
    if isinstance(tokens, (str, int)):
        return ()
    return tuple(torch.as_tensor(tokens).shape)
