"""Upstream's path for ``get_act_name`` (defined in ``hook_names``)."""

from transformer_lens.hook_names import get_act_name

__all__ = ["get_act_name"]
