"""Upstream TransformerLens's module paths resolve to LensLab's own objects (the same objects, not copies)."""

from __future__ import annotations

import importlib

import pytest
import torch

import transformer_lens
from transformer_lens import activation_cache, hook_points, hooked_transformer, loss
from transformer_lens.components import mlp as our_mlp


@pytest.fixture(scope="module")
def attn_only():
    return transformer_lens.HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


# ---- what sae-lens 6.x imports -------------------------------------------------------------

SAE_LENS_IMPORTS = [
    ("transformer_lens.HookedTransformer", "HookedTransformer", hooked_transformer.HookedTransformer),
    ("transformer_lens.HookedTransformer", "HookedRootModule", hook_points.HookedRootModule),
    ("transformer_lens.HookedTransformer", "Loss", loss.Loss),
    ("transformer_lens.HookedTransformer", "Output", loss.Output),
    ("transformer_lens.ActivationCache", "ActivationCache", activation_cache.ActivationCache),
    ("transformer_lens.hook_points", "HookPoint", hook_points.HookPoint),
    ("transformer_lens.utils", "lm_cross_entropy_loss", loss.lm_cross_entropy_loss),
    ("transformer_lens.components.mlps.can_be_used_as_mlp", "CanBeUsedAsMLP", our_mlp.CanBeUsedAsMLP),
]


@pytest.mark.parametrize("module_name, name, ours", SAE_LENS_IMPORTS, ids=lambda v: v if isinstance(v, str) else "")
def test_sae_lens_imports_give_our_objects(module_name, name, ours):
    assert getattr(importlib.import_module(module_name), name) is ours


def test_class_named_modules_keep_the_package_attribute_a_class():
    # As upstream: the package attribute is the class, the dotted module path is the module.
    import transformer_lens.ActivationCache
    import transformer_lens.HookedTransformer  # noqa: F401  (must not rebind the attribute)

    assert transformer_lens.HookedTransformer is hooked_transformer.HookedTransformer
    assert transformer_lens.ActivationCache is activation_cache.ActivationCache
    module = importlib.import_module("transformer_lens.HookedTransformer")
    assert module.__name__ == "transformer_lens.HookedTransformer"
    assert module.HookedTransformer is transformer_lens.HookedTransformer


def test_our_mlp_is_a_can_be_used_as_mlp(attn_only):
    from transformer_lens.components.mlps.can_be_used_as_mlp import CanBeUsedAsMLP

    cfg = dict(attn_only.cfg.to_dict(), attn_only=False, d_mlp=12, act_fn="gelu")
    layer = our_mlp.MLP(cfg)
    assert isinstance(layer, CanBeUsedAsMLP)
    assert layer.d_mlp == 12 and layer.cfg.d_model == attn_only.cfg.d_model


def test_output_is_the_pair_forward_returns(attn_only):
    from transformer_lens.HookedTransformer import Output

    tokens = attn_only.to_tokens("def f(x): return x")
    logits, loss_value = attn_only(tokens, return_type="both")
    out = Output(logits, loss_value)
    assert out.logits is logits and out.loss is loss_value
    torch.testing.assert_close(out.loss, loss.lm_cross_entropy_loss(logits, tokens))


# ---- utils: USE_DEFAULT_VALUE and BOS handling ----------------------------------------------


def test_use_default_value_means_the_models_setting(attn_only):
    from transformer_lens.utils import USE_DEFAULT_VALUE, LocallyOverridenDefaults

    assert USE_DEFAULT_VALUE is None
    before = (attn_only.cfg.default_prepend_bos, attn_only.tokenizer.padding_side)
    with LocallyOverridenDefaults(attn_only, prepend_bos=not before[0], padding_side="left"):
        assert attn_only.cfg.default_prepend_bos is (not before[0])
        assert attn_only.tokenizer.padding_side == "left"
    assert (attn_only.cfg.default_prepend_bos, attn_only.tokenizer.padding_side) == before
    with LocallyOverridenDefaults(attn_only, prepend_bos=USE_DEFAULT_VALUE):
        assert attn_only.cfg.default_prepend_bos is before[0]
    with pytest.raises(AssertionError, match="not a valid parameter"):
        LocallyOverridenDefaults(attn_only, temperature=1.0)


@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_get_tokens_with_bos_removed_equals_tokenizing_without_bos(attn_only, padding_side):
    from transformer_lens.utils import get_tokens_with_bos_removed

    prompts = ["a longer prompt here", "short"]
    with_bos = attn_only.to_tokens(prompts, prepend_bos=True, padding_side=padding_side)
    without_bos = attn_only.to_tokens(prompts, prepend_bos=False, padding_side=padding_side)
    assert torch.equal(get_tokens_with_bos_removed(attn_only.tokenizer, with_bos, padding_side), without_bos)


def test_get_tokens_with_bos_removed_when_bos_is_the_pad_token():
    from types import SimpleNamespace

    from transformer_lens.utils import get_tokens_with_bos_removed

    # BOS == pad == 0, left padded: the BOS is the last 0 of each row's leading run.
    tokenizer = SimpleNamespace(bos_token_id=0, pad_token_id=0, padding_side="left")
    tokens = torch.tensor([[0, 0, 0, 5, 0], [0, 7, 8, 9, 6]])
    assert get_tokens_with_bos_removed(tokenizer, tokens).tolist() == [[0, 0, 5, 0], [7, 8, 9, 6]]
    no_bos = SimpleNamespace(bos_token_id=None, pad_token_id=0, padding_side="right")
    assert get_tokens_with_bos_removed(no_bos, tokens) is tokens


# ---- every upstream module path gives our own objects ---------------------------------------

from transformer_lens import config, factored_matrix, hooked_encoder, kv_cache  # noqa: E402
from transformer_lens.components import attention, bert, block, embed, norms, t5  # noqa: E402
from transformer_lens.components.mlps import moe  # noqa: E402

UPSTREAM_PATHS = [
    ("transformer_lens", "HookedEncoderDecoder", importlib.import_module("transformer_lens.hooked_encoder_decoder").HookedEncoderDecoder),
    ("transformer_lens.HookedEncoderDecoder", "HookedEncoderDecoder", importlib.import_module("transformer_lens.hooked_encoder_decoder").HookedEncoderDecoder),
    ("transformer_lens", "BertNextSentencePrediction", importlib.import_module("transformer_lens.bert_next_sentence_prediction").BertNextSentencePrediction),
    ("transformer_lens.BertNextSentencePrediction", "BertNextSentencePrediction", importlib.import_module("transformer_lens.bert_next_sentence_prediction").BertNextSentencePrediction),
    ("transformer_lens.components", "MoE", moe.MoE),
    ("transformer_lens.components", "T5Block", t5.T5Block),
    ("transformer_lens.components", "T5Attention", t5.T5Attention),
    ("transformer_lens.components", "BertPooler", bert.BertPooler),
    ("transformer_lens.components", "BertNSPHead", bert.BertNSPHead),
    ("transformer_lens", "HookedTransformer", hooked_transformer.HookedTransformer),
    ("transformer_lens", "EasyTransformer", hooked_transformer.HookedTransformer),
    ("transformer_lens", "EasyTransformerConfig", config.HookedTransformerConfig),
    ("transformer_lens", "EasyTransformerKeyValueCache", kv_cache.HookedTransformerKeyValueCache),
    ("transformer_lens", "EasyTransformerKeyValueCacheEntry", kv_cache.KeyValueCacheEntry),
    ("transformer_lens", "HookedTransformerKeyValueCacheEntry", kv_cache.KeyValueCacheEntry),
    ("transformer_lens", "TransformerLensKeyValueCache", kv_cache.HookedTransformerKeyValueCache),
    ("transformer_lens", "TransformerLensKeyValueCacheEntry", kv_cache.KeyValueCacheEntry),
    ("transformer_lens", "HookedEncoder", hooked_encoder.HookedEncoder),
    ("transformer_lens.HookedTransformerConfig", "HookedTransformerConfig", config.HookedTransformerConfig),
    ("transformer_lens.config", "HookedTransformerConfig", config.HookedTransformerConfig),
    ("transformer_lens.config.hooked_transformer_config", "HookedTransformerConfig", config.HookedTransformerConfig),
    ("transformer_lens.config.transformer_lens_config", "TransformerLensConfig", config.TransformerLensConfig),
    ("transformer_lens.FactoredMatrix", "FactoredMatrix", factored_matrix.FactoredMatrix),
    ("transformer_lens.HookedRootModule", "HookedRootModule", hook_points.HookedRootModule),
    ("transformer_lens.HookedEncoder", "HookedEncoder", hooked_encoder.HookedEncoder),
    ("transformer_lens.past_key_value_caching", "HookedTransformerKeyValueCache", kv_cache.HookedTransformerKeyValueCache),
    ("transformer_lens.past_key_value_caching", "HookedTransformerKeyValueCacheEntry", kv_cache.KeyValueCacheEntry),
    ("transformer_lens.cache", "TransformerLensKeyValueCache", kv_cache.HookedTransformerKeyValueCache),
    ("transformer_lens.cache.key_value_cache", "TransformerLensKeyValueCache", kv_cache.HookedTransformerKeyValueCache),
    ("transformer_lens.cache.key_value_cache_entry", "TransformerLensKeyValueCacheEntry", kv_cache.KeyValueCacheEntry),
    ("transformer_lens.components", "AbstractAttention", attention.AbstractAttention),
    ("transformer_lens.components.abstract_attention", "AbstractAttention", attention.AbstractAttention),
    ("transformer_lens.components.attention", "Attention", attention.Attention),
    ("transformer_lens.components.grouped_query_attention", "GroupedQueryAttention", attention.GroupedQueryAttention),
    ("transformer_lens.components.bert_block", "BertBlock", bert.BertBlock),
    ("transformer_lens.components.bert_embed", "BertEmbed", bert.BertEmbed),
    ("transformer_lens.components.bert_mlm_head", "BertMLMHead", bert.BertMLMHead),
    ("transformer_lens.components.token_typed_embed", "TokenTypeEmbed", bert.TokenTypeEmbed),
    ("transformer_lens.components.embed", "Embed", embed.Embed),
    ("transformer_lens.components.pos_embed", "PosEmbed", embed.PosEmbed),
    ("transformer_lens.components.unembed", "Unembed", embed.Unembed),
    ("transformer_lens.components.layer_norm", "LayerNorm", norms.LayerNorm),
    ("transformer_lens.components.layer_norm_pre", "LayerNormPre", norms.LayerNormPre),
    ("transformer_lens.components.rms_norm", "RMSNorm", norms.RMSNorm),
    ("transformer_lens.components.rms_norm_pre", "RMSNormPre", norms.RMSNormPre),
    ("transformer_lens.components.transformer_block", "TransformerBlock", block.TransformerBlock),
    ("transformer_lens.components.mlps", "MLP", our_mlp.MLP),
    ("transformer_lens.components.mlps.mlp", "MLP", our_mlp.MLP),
    ("transformer_lens.components.mlps.gated_mlp", "GatedMLP", our_mlp.GatedMLP),
    ("transformer_lens.components", "GatedMLP", our_mlp.GatedMLP),
    ("transformer_lens.components", "CanBeUsedAsMLP", our_mlp.CanBeUsedAsMLP),
    ("transformer_lens.utilities.slice", "Slice", importlib.import_module("transformer_lens.utils").Slice),
    ("transformer_lens.utilities.lm_utils", "lm_cross_entropy_loss", loss.lm_cross_entropy_loss),
    ("transformer_lens.utilities.logits_utils", "sample_logits", importlib.import_module("transformer_lens.generation").sample_logits),
    ("transformer_lens.utilities.components_utils", "get_act_name", importlib.import_module("transformer_lens.hook_names").get_act_name),
    ("transformer_lens.utilities.multi_gpu", "get_device_for_block_index", importlib.import_module("transformer_lens.devices").get_device_for_block_index),
    ("transformer_lens.utilities.activation_functions", "SUPPORTED_ACTIVATIONS", our_mlp.ACTIVATIONS),
    ("transformer_lens.utilities.devices", "get_best_available_device", importlib.import_module("transformer_lens.utilities.multi_gpu").get_best_available_device),
    ("transformer_lens.hook_points", "HookIntrospectionMixin", hook_points.HookIntrospectionMixin),
]  # fmt: skip


@pytest.mark.parametrize("module_name, name, ours", UPSTREAM_PATHS, ids=lambda v: v if isinstance(v, str) else "")
def test_upstream_path_gives_our_object(module_name, name, ours):
    assert getattr(importlib.import_module(module_name), name) is ours


def test_upstream_modules_import():
    for module_name in (
        "transformer_lens.evals", "transformer_lens.head_detector", "transformer_lens.SVDInterpreter", "transformer_lens.train",
        "transformer_lens.loading_from_pretrained", "transformer_lens.factories", "transformer_lens.utilities",
        "transformer_lens.tools.analysis.direct_path_patching", "transformer_lens.BertNextSentencePrediction",
    ):  # fmt: skip
        importlib.import_module(module_name)
    assert transformer_lens.SVDInterpreter is importlib.import_module("transformer_lens.svd_interpreter").SVDInterpreter


def test_utilities_and_utils_share_every_name():
    utilities = importlib.import_module("transformer_lens.utilities")
    utils = importlib.import_module("transformer_lens.utils")
    for name in utilities.__all__:
        assert getattr(utilities, name) is getattr(importlib.import_module(f"transformer_lens.utilities.{utilities._PROVIDERS[name]}"), name)
        if hasattr(utils, name):
            assert getattr(utils, name) is getattr(utilities, name), name


def test_lazily_imported_class_module_keeps_the_class_attribute():
    # HookedEncoder is loaded on first use; importing its module path must not replace the class.
    import subprocess
    import sys

    code = (
        "import transformer_lens as tl, sys\n"
        "assert 'transformer_lens.hooked_encoder' not in sys.modules\n"
        "import transformer_lens.HookedEncoder\n"
        "from transformer_lens.hooked_encoder import HookedEncoder\n"
        "assert tl.HookedEncoder is HookedEncoder, tl.HookedEncoder\n"
        "from transformer_lens import HookedEncoder as again\n"
        "assert again is HookedEncoder\n"
        "lazy = {'evals', 'train', 'head_detector', 'loading_from_pretrained', 'utilities', 'tools', 'factories', 'svd_interpreter'}\n"
        "assert not {f'transformer_lens.{m}' for m in lazy} & set(sys.modules), sorted(set(sys.modules) & {f'transformer_lens.{m}' for m in lazy})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# ---- components: upstream constructors (dict config) and forward signatures -----------------


@pytest.fixture(scope="module")
def gelu():
    return transformer_lens.HookedTransformer.from_pretrained_no_processing("lenslab/gelu-2l", device="cpu")


def _copy_of(component_cls, source, *args):
    """``component_cls`` built from a plain dict config, with ``source``'s weights."""
    built = component_cls(source.cfg.to_dict(), *args)
    built.load_state_dict(source.state_dict())
    return built.eval()


def test_components_from_a_dict_config_compute_what_the_model_computes(gelu):
    from transformer_lens.components import MLP, Attention, Embed, LayerNorm, PosEmbed, TransformerBlock, Unembed

    tokens = gelu.to_tokens("for index in range(10): print(index)")
    _, cache = gelu.run_with_cache(tokens)
    with torch.no_grad():
        torch.testing.assert_close(_copy_of(Embed, gelu.embed)(tokens), cache["hook_embed"])
        torch.testing.assert_close(_copy_of(PosEmbed, gelu.pos_embed)(tokens), cache["hook_pos_embed"])
        resid = cache["blocks.1.hook_resid_pre"]
        torch.testing.assert_close(_copy_of(TransformerBlock, gelu.blocks[1], 1)(resid), cache["blocks.1.hook_resid_post"])
        ln1 = gelu.blocks[1].ln1
        normed = _copy_of(LayerNorm, ln1)(resid)
        # hook_normalized is before the norm's weight and bias (upstream 3.x).
        torch.testing.assert_close(normed, cache["blocks.1.ln1.hook_normalized"] * ln1.w + ln1.b)
        attn = _copy_of(Attention, gelu.blocks[1].attn, "global", 1)
        torch.testing.assert_close(attn(normed, normed, normed), cache["blocks.1.hook_attn_out"])
        mlp_in = _copy_of(LayerNorm, gelu.blocks[1].ln2)(cache["blocks.1.hook_resid_mid"])
        torch.testing.assert_close(_copy_of(MLP, gelu.blocks[1].mlp)(mlp_in), cache["blocks.1.hook_mlp_out"])
        final = _copy_of(LayerNorm, gelu.ln_final)(cache["blocks.1.hook_resid_post"])
        torch.testing.assert_close(_copy_of(Unembed, gelu.unembed)(final), gelu(tokens))


def test_norms_from_a_dict_config_match_torch():
    from transformer_lens.components import LayerNorm, LayerNormPre, RMSNorm, RMSNormPre

    cfg = dict(n_layers=1, d_model=8, n_ctx=4, d_head=2, n_heads=4, d_vocab=10, attn_only=True, eps=1e-5)
    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(LayerNormPre(cfg)(x), torch.nn.functional.layer_norm(x, (8,), eps=1e-5))
    torch.testing.assert_close(RMSNormPre(cfg)(x), x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt())
    ln = LayerNorm(dict(cfg), length=8)
    with torch.no_grad():
        ln.w.uniform_(0.5, 1.5)
        ln.b.uniform_(-1, 1)
    torch.testing.assert_close(ln(x), torch.nn.functional.layer_norm(x, (8,), ln.w, ln.b, eps=1e-5))
    rms = RMSNorm(cfg)
    with torch.no_grad():
        rms.w.uniform_(0.5, 1.5)
    torch.testing.assert_close(rms(x), x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt() * rms.w)


def test_gated_mlp_matches_its_equation():
    from transformer_lens.components import GatedMLP, MLP
    from transformer_lens.factories import MLPFactory

    cfg = dict(n_layers=1, d_model=8, d_mlp=16, n_ctx=4, d_head=2, n_heads=4, d_vocab=10, act_fn="silu", gated_mlp=True)
    layer = GatedMLP(cfg)
    for parameter in layer.parameters():
        torch.nn.init.normal_(parameter, generator=torch.Generator().manual_seed(parameter.numel()))
    x = torch.randn(2, 3, 8)
    expected = (torch.nn.functional.silu(x @ layer.W_gate) * (x @ layer.W_in + layer.b_in)) @ layer.W_out + layer.b_out
    torch.testing.assert_close(layer(x), expected)
    assert type(MLPFactory.create_mlp(cfg)) is GatedMLP
    assert type(MLPFactory.create_mlp(dict(cfg, gated_mlp=False))) is MLP
    gated_model = transformer_lens.HookedTransformer(dict(cfg, n_layers=2))
    assert all(type(b.mlp) is GatedMLP for b in gated_model.blocks)


def test_attention_takes_upstreams_arguments():
    from transformer_lens.components import Attention

    cfg = dict(n_layers=2, d_model=8, n_ctx=6, d_head=2, n_heads=4, d_vocab=10, attn_only=True, attn_types=["global", "local"], window_size=2)
    assert Attention(cfg).attn_type == "global"
    assert Attention(cfg, layer_id=1).attn_type == "local"
    assert Attention(cfg, "local").layer_id is None
    with pytest.raises(ValueError, match="attn_type"):
        Attention(cfg, "sliding")


def test_additive_attention_mask_equals_the_attention_mask(gelu):
    from transformer_lens.components import Attention

    attn = _copy_of(Attention, gelu.blocks[0].attn, "global", 0)
    x = torch.randn(2, 5, gelu.cfg.d_model, generator=torch.Generator().manual_seed(3))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    additive = torch.where(mask.bool(), 0.0, float("-inf"))[:, None, None, :]
    with torch.no_grad():
        torch.testing.assert_close(attn(x, x, x, additive_attention_mask=additive), attn(x, x, x, attention_mask=mask))
    with pytest.raises(ValueError, match="additive_attention_mask must have shape"):
        attn(x, x, x, additive_attention_mask=additive[:, 0])


def test_alibi_helpers():
    from transformer_lens.components import AbstractAttention

    slope = AbstractAttention.create_alibi_slope(4)
    assert slope.tolist() == [[min(k - q, 0) for k in range(4)] for q in range(4)]
    bias = AbstractAttention.create_alibi_bias(2, 4, "cpu")
    assert bias.shape == (2, 4, 4) and torch.equal(bias.triu(), torch.zeros_like(bias))
    torch.testing.assert_close(-bias[:, 1, 0], torch.tensor([2.0**-4, 2.0**-8]))


def test_attention_qk_ov_circuits(gelu):
    attn = gelu.blocks[0].attn
    torch.testing.assert_close(attn.OV.AB, attn.W_V @ attn.W_O)
    torch.testing.assert_close(attn.QK.AB, attn.W_Q @ attn.W_K.transpose(-1, -2))


# ---- upstream names we deliberately leave out -----------------------------------------------


@pytest.mark.parametrize(
    "module_name, name",
    [
        ("transformer_lens", "HookedAudioEncoder"),
        ("transformer_lens", "TransformerBridgeConfig"),
        ("transformer_lens.components", "GatedMLP4Bit"),
        ("transformer_lens.tools.analysis", "direct_logit_attribution"),
        ("transformer_lens.loading_from_pretrained", "convert_neel_model_config"),
        ("transformer_lens.config", "TransformerBridgeConfig"),
    ],
)
def test_left_out_upstream_names_say_so(module_name, name):
    module = importlib.import_module(module_name)
    with pytest.raises(NotImplementedError, match=f"{name} is not provided by LensLab: .+"):
        getattr(module, name)


@pytest.mark.parametrize(
    "module_name, name, implementation",
    [
        ("transformer_lens", "HookedEncoderDecoder", "transformer_lens.hooked_encoder_decoder"),
        ("transformer_lens", "BertNextSentencePrediction", "transformer_lens.bert_next_sentence_prediction"),
        ("transformer_lens.BertNextSentencePrediction", "BertNextSentencePrediction", "transformer_lens.bert_next_sentence_prediction"),
        ("transformer_lens.components", "T5Block", "transformer_lens.components.t5"),
        ("transformer_lens.components.t5_attention", "T5Attention", "transformer_lens.components.t5"),
        ("transformer_lens.components.bert_pooler", "BertPooler", "transformer_lens.components.bert"),
        ("transformer_lens.components", "MoE", "transformer_lens.components.mlps.moe"),
    ],
)
def test_names_other_modules_implement_resolve_there_or_say_so(module_name, name, implementation):
    # These live in modules other parts of LensLab add: the upstream path gives that object when the
    # module (and name) is there, and a NotImplementedError naming it otherwise.
    try:
        expected = getattr(importlib.import_module(implementation), name)
    except (ImportError, AttributeError):
        with pytest.raises(NotImplementedError, match=f"{name} is not provided by LensLab"):
            getattr(importlib.import_module(module_name), name)
    else:
        assert getattr(importlib.import_module(module_name), name) is expected


def test_left_out_names_fail_a_from_import_with_the_reason():
    with pytest.raises(NotImplementedError, match="HookedAudioEncoder is not provided by LensLab"):
        from transformer_lens import HookedAudioEncoder  # noqa: F401


def test_unknown_names_stay_attribute_errors():
    for module in (transformer_lens, importlib.import_module("transformer_lens.components"), importlib.import_module("transformer_lens.utils")):
        assert not hasattr(module, "no_such_name")


def test_model_methods_left_out_say_so(attn_only):
    with pytest.raises(NotImplementedError, match="load_sample_training_dataset is not provided"):
        attn_only.load_sample_training_dataset()
    with pytest.raises(NotImplementedError, match="enable_reshape is not provided"):
        attn_only.hook_embed.enable_reshape()


def test_lit_has_its_constants_and_helpers_but_no_lit_wrappers():
    lit = transformer_lens.lit
    assert lit.INPUT_FIELDS.TEXT == "text" and lit.OUTPUT_FIELDS.TOP_K_TOKENS == "top_k_tokens"
    assert lit.check_lit_installed() is False
    from transformer_lens.lit import utils as lit_utils

    assert lit_utils.clean_token_strings(["Ġcat", "##s", "▁dog", "x"]) == ["▁cat", "s", "▁dog", "x"]
    assert [len(b) for b in lit_utils.batch_examples([{}] * 7, 3)] == [3, 3, 1]
    rows = lit_utils.unbatch_outputs({"logits": torch.zeros(2, 4), "tokens": [["a"], ["b"]], "name": "m"})
    assert rows[1]["tokens"] == ["b"] and rows[1]["logits"].shape == (4,) and rows[0]["name"] == "m"
    with pytest.raises(NotImplementedError, match="HookedTransformerLIT is not provided by LensLab"):
        lit.HookedTransformerLIT(None)


def test_layer_norm_activation_mlp_matches_its_equation():
    from transformer_lens.components import MLP, LayerNorm
    from transformer_lens.utils import solu

    cfg = dict(n_layers=1, d_model=8, d_mlp=16, n_ctx=4, d_head=2, n_heads=4, d_vocab=10, act_fn="solu_ln", normalization_type="LN")
    layer = MLP(cfg)
    assert layer.act_fn is solu and isinstance(layer.ln, LayerNorm) and layer.ln.length == 16
    for parameter in layer.parameters():
        torch.nn.init.normal_(parameter, generator=torch.Generator().manual_seed(parameter.numel()))
    x = torch.randn(2, 3, 8, generator=torch.Generator().manual_seed(9))
    mid = solu(x @ layer.W_in + layer.b_in)
    expected = torch.nn.functional.layer_norm(mid, (16,), layer.ln.w, layer.ln.b, eps=layer.cfg.eps) @ layer.W_out + layer.b_out
    torch.testing.assert_close(layer(x), expected)
    with pytest.raises(ValueError, match="d_mlp must be set"):
        built = transformer_lens.HookedTransformerConfig.unwrap(cfg)
        built.d_mlp = None
        MLP(built)


def test_xielu_mlp_learns_its_own_activation_parameters():
    from transformer_lens.components.xielu import XIELU

    cfg = dict(n_layers=2, d_model=8, d_mlp=16, n_ctx=4, d_head=2, n_heads=4, d_vocab=10, act_fn="xielu")
    model = transformer_lens.HookedTransformer(cfg)
    assert isinstance(model.blocks[0].mlp.act_fn, XIELU) and model.blocks[0].mlp.act_fn is not model.blocks[1].mlp.act_fn
    assert "blocks.1.mlp.act_fn.alpha_p" in model.state_dict()
    model(torch.tensor([[1, 2, 3]])).sum().backward()
    assert model.blocks[0].mlp.act_fn.alpha_p.grad is not None


def test_hook_point_repr_and_handles_as_upstream():
    point = hook_points.HookPoint()
    assert repr(point) == "HookPoint()"
    point.name = "blocks.0.hook_resid_post"

    def hook(tensor, hook):
        return None

    handle = point.add_hook(hook)
    point.add_hook(hook)
    assert handle.user_hook is hook
    assert repr(point) == "HookPoint(name='blocks.0.hook_resid_post', 2 fwd)"
    handle.hook.remove()  # upstream code removes hooks through the torch handle
    assert repr(point) == "HookPoint(name='blocks.0.hook_resid_post', 1 fwd)"


def test_upstream_mlp_paths_we_do_not_provide_say_what_to_use():
    from transformer_lens.components.mlps.gated_mlp_4bit import GatedMLP4Bit  # importable: code naming it loads

    with pytest.raises(NotImplementedError, match="GatedMLP4Bit is not provided by LensLab: 4-bit"):
        GatedMLP4Bit({"d_model": 8})
