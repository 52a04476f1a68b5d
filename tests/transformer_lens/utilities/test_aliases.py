"""``utilities.aliases``: alias resolution and collection over a small module tree."""

from __future__ import annotations

import warnings

import pytest
import torch.nn as nn

from transformer_lens.utilities.aliases import collect_aliases_recursive, resolve_alias


class Block(nn.Module):
    hook_aliases = {"hook_old": "new.hook_out", "": "new.hook_out"}

    def __init__(self):
        super().__init__()
        self.new = nn.Module()
        self.new.hook_out = nn.Identity()


class Model(nn.Module):
    hook_aliases = {"hook_embed": "embed.hook_out"}

    def __init__(self):
        super().__init__()
        self.embed = nn.Module()
        self.embed.hook_out = nn.Identity()
        self.blocks = nn.ModuleList([Block(), Block()])
        self.original_model = Block()  # a wrapped foreign model: not collected
        self.disable_warnings = False


def test_collects_hook_and_module_aliases_by_full_name():
    model = Model()
    assert collect_aliases_recursive(model) == {
        "hook_embed": "embed.hook_out",
        "blocks.0.hook_old": "blocks.0.new.hook_out",
        "blocks.0": "blocks.0.new.hook_out",
        "blocks.1.hook_old": "blocks.1.new.hook_out",
        "blocks.1": "blocks.1.new.hook_out",
    }
    # hook_embed keeps its bare name under a prefix; the others take it.
    assert collect_aliases_recursive(model.blocks[0], "blocks.0")["blocks.0.hook_old"] == "blocks.0.new.hook_out"
    shared = Model()
    shared.blocks[1] = shared.blocks[0]  # the same module twice is collected once
    assert "blocks.1.hook_old" not in collect_aliases_recursive(shared)


def test_resolves_an_alias_to_the_object_and_warns_it_is_deprecated():
    model = Model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_alias(model, "hook_embed", Model.hook_aliases) is model.embed.hook_out
    assert [w.category for w in caught] == [FutureWarning]
    assert "Hook 'hook_embed' is deprecated" in str(caught[0].message) and "Use 'embed.hook_out'" in str(caught[0].message)
    model.disable_warnings = True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_alias(model, "hook_embed", Model.hook_aliases) is model.embed.hook_out
        assert resolve_alias(model, "not_an_alias", Model.hook_aliases) is None
    # A list tries each target in turn; none resolving is an AttributeError.
    assert resolve_alias(model, "x", {"x": ["missing.hook", "blocks"]}) is model.blocks
    with pytest.raises(AttributeError, match="None of the target names"):
        resolve_alias(model, "x", {"x": ["missing", "also.missing"]})
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        resolve_alias(model, "x", {"x": "embed.missing"})
