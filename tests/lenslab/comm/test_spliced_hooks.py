"""The hook points sae-lens splices in get a group, a shape and a description in the sidebar's hook tree."""

from __future__ import annotations

from lenslab.comm.spliced_hooks import SAE_HOOKS, spliced_hook_spec
from transformer_lens import hook_names


def test_sae_hooks_sit_in_the_sae_group_with_their_hosts_shape_or_features():
    for leaf in SAE_HOOKS:
        spec = spliced_hook_spec(f"blocks.1.hook_mlp_out.{leaf}")
        assert spec is not None and spec.component == "sae"
        assert hook_names.layer_of(spec.template) == 1
    assert spliced_hook_spec("blocks.1.hook_mlp_out.hook_sae_input").shape == hook_names.spec_for("blocks.1.hook_mlp_out").shape
    assert spliced_hook_spec("blocks.0.attn.hook_z.hook_sae_recons").shape == ("batch", "pos", "head_index", "d_head")
    assert spliced_hook_spec("blocks.0.hook_resid_pre.hook_sae_acts_post").shape == ("batch", "pos", "d_sae")
    assert "blocks.0.hook_resid_pre minus its reconstruction" in spliced_hook_spec("blocks.0.hook_resid_pre.hook_sae_error").description


def test_sae_lens_mlp_input_hook_is_an_mlp_hook():
    spec = spliced_hook_spec("blocks.3.mlp.hook_in")
    assert spec is not None and spec.component == "mlp" and spec.shape == ("batch", "pos", "d_model")


def test_other_unknown_names_stay_unknown():
    for name in ("blocks.0.hook_mlp_out.hook_other", "hook_sae_acts_post", "blocks.0.mlp.hook_inn", "blocks.0.attn.hook_in"):
        assert spliced_hook_spec(name) is None


def test_list_hooks_describes_spliced_hooks(session, lm):
    from sidebar_fakes import request

    from transformer_lens.hook_points import HookPoint

    panel, handler = session
    # What sae-lens does: put a module holding its own hook points where blocks.0.hook_mlp_out was, then setup().
    holder = HookPoint()
    holder.hook_sae_acts_post = HookPoint()
    original = lm.blocks[0].hook_mlp_out
    lm.blocks[0].hook_mlp_out = holder
    lm.setup()
    try:
        handler.handle(request("list_hooks", "sp1", model="model"))
        hooks = {h["name"]: h for h in panel.last()["hooks"]}
        acts = hooks["blocks.0.hook_mlp_out.hook_sae_acts_post"]
        assert (acts["layer"], acts["component"], acts["shape"], acts["silent"]) == (0, "sae", ["batch", "pos", "d_sae"], None)
        assert acts["description"] == "SAE feature activations."
    finally:
        lm.blocks[0].hook_mlp_out = original
        lm.setup()
    assert "blocks.0.hook_mlp_out.hook_sae_acts_post" not in lm.hook_dict
