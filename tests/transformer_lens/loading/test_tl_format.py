"""Models stored in TransformerLens's own format (NeelNanda's toy models and friends).

Each test writes a tiny random checkpoint laid out like the hub repo (``config.json`` with
HookedTransformerConfig-like fields, ``model_final.pth``, ``checkpoints/*_{N}.pth``) and loads it
by path and by name through the offline Hugging Face cache. Oracles:

- attn-only and GELU models: the same weights converted to a GPT2LMHeadModel (where the math is
  the same), run by Hugging Face and loaded through our GPT-2 family: three forwards, one answer;
- SoLU (``solu_ln``) and shortformer models: a sequential reference written below from the
  definitions (SoLU = x * softmax(x), then a LayerNorm over the neurons; shortformer = positions
  added to the query and key inputs only, after ln1);
- old SoLU and minGPT layouts: the same weights stored in TransformerLens layout.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import einops
import pytest
import torch

import transformer_lens.loading
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading import tl_format

VOCAB, D_MODEL, N_HEADS, D_HEAD, D_MLP, N_CTX = 61, 32, 4, 8, 48, 24
TOKENS = torch.randint(0, VOCAB, (2, 12), generator=torch.Generator().manual_seed(5))
COMMIT = "0" * 39 + "1"


def tl_config(**fields) -> dict:
    """A config.json as NeelNanda's repos hold it (plus keys our loader ignores)."""
    config = dict(
        d_model=D_MODEL, n_layers=2, d_mlp=D_MLP, d_head=D_HEAD, n_heads=N_HEADS, n_ctx=N_CTX, d_vocab=VOCAB,
        act_fn="gelu", attn_only=False, normalization_type="LN", tokenizer_name=None, shortformer_pos=False,
        lr=1e-3, batch_size=8, seed=0,
    )  # fmt: skip
    config.update(fields)
    return config


def random_state_dict(config: dict, seed: int) -> dict[str, torch.Tensor]:
    """Random weights in TransformerLens names and layouts; norms near 1, biases non-zero."""
    cfg = HookedTransformerConfig(
        n_layers=config["n_layers"], d_model=D_MODEL, n_ctx=N_CTX, d_head=D_HEAD, n_heads=N_HEADS, d_mlp=config["d_mlp"],
        d_vocab=config["d_vocab"], act_fn=config["act_fn"], attn_only=config["attn_only"],
        normalization_type=config.get("normalization_type", config.get("normalization")),
        positional_embedding_type="shortformer" if config["shortformer_pos"] else "standard", device="cpu",
        final_rms=config.get("final_rms", False),
    )  # fmt: skip
    generator = torch.Generator().manual_seed(seed)
    sd = {}
    for key, value in HookedTransformer(cfg).state_dict().items():
        noise = torch.randn(value.shape, generator=generator)
        sd[key] = 1.0 + 0.2 * noise if key.endswith(".w") else 0.3 * noise
    return sd


def write_repo(directory: Path, config: dict, weights: dict, checkpoints: dict[int, dict] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    torch.save(weights, directory / "model_final.pth")
    for label, checkpoint in (checkpoints or {}).items():
        (directory / "checkpoints").mkdir(exist_ok=True)
        torch.save(checkpoint, directory / "checkpoints" / f"{directory.name}_{label}.pth")
    return directory


def install_repo(hf_home: Path, repo_id: str, files: Path) -> None:
    """Copy a repo's files (sub-folders included) into the HF cache layout, as hub downloads leave them."""
    import shutil

    repo = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    shutil.copytree(files, repo / "snapshots" / COMMIT, dirs_exist_ok=True)


# ---- the sequential reference ---------------------------------------------------------------
def layer_norm(x, w=None, b=None, eps=1e-5):
    x = x - x.mean(-1, keepdim=True)
    x = x / (x.pow(2).mean(-1, keepdim=True) + eps).sqrt()
    return x if w is None else x * w + b


def reference_log_probs(sd: dict, config: dict, tokens: torch.Tensor) -> torch.Tensor:
    """Log-probs from the definitions, one head and one position-independent step at a time."""
    shortformer = config["shortformer_pos"]
    positions = sd["pos_embed.W_pos"][: tokens.shape[1]]
    x = sd["embed.W_E"][tokens] + (0 if shortformer else positions)
    causal = torch.ones(tokens.shape[1], tokens.shape[1]).tril().bool()
    for layer in range(config["n_layers"]):
        p = f"blocks.{layer}."
        h = layer_norm(x, sd[p + "ln1.w"], sd[p + "ln1.b"])
        qk_in = h + positions if shortformer else h
        attn_out = sd[p + "attn.b_O"].expand_as(x).clone()
        for head in range(N_HEADS):
            q = qk_in @ sd[p + "attn.W_Q"][head] + sd[p + "attn.b_Q"][head]
            k = qk_in @ sd[p + "attn.W_K"][head] + sd[p + "attn.b_K"][head]
            v = h @ sd[p + "attn.W_V"][head] + sd[p + "attn.b_V"][head]
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(D_HEAD)
            pattern = scores.masked_fill(~causal, float("-inf")).softmax(-1)
            attn_out = attn_out + (pattern @ v) @ sd[p + "attn.W_O"][head]
        x = x + attn_out
        if config["attn_only"]:
            continue
        pre = layer_norm(x, sd[p + "ln2.w"], sd[p + "ln2.b"]) @ sd[p + "mlp.W_in"] + sd[p + "mlp.b_in"]
        if config["act_fn"] == "solu_ln":
            act = layer_norm(pre * pre.softmax(-1), sd[p + "mlp.ln.w"], sd[p + "mlp.ln.b"])
        else:
            act = torch.nn.functional.gelu(pre)
        x = x + act @ sd[p + "mlp.W_out"] + sd[p + "mlp.b_out"]
    if config.get("final_rms"):  # an RMSNorm (no centring, no bias) after LayerNorm blocks
        x = x / (x.pow(2).mean(-1, keepdim=True) + 1e-5).sqrt() * sd["ln_final.w"]
    else:
        x = layer_norm(x, sd["ln_final.w"], sd["ln_final.b"])
    return (x @ sd["unembed.W_U"] + sd["unembed.b_U"]).log_softmax(-1)


def as_gpt2(sd: dict, config: dict, directory: Path) -> Path:
    """Save the same weights as an (untied) GPT2LMHeadModel; attn-only models get a zero MLP."""
    from transformers import GPT2Config, GPT2LMHeadModel

    hf_config = GPT2Config(
        vocab_size=VOCAB, n_positions=N_CTX, n_embd=D_MODEL, n_layer=config["n_layers"], n_head=N_HEADS,
        n_inner=D_MLP, activation_function="gelu", tie_word_embeddings=False, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    model = GPT2LMHeadModel(hf_config)
    to_cols = "head d_model d_head -> d_model (head d_head)"
    hf = {"transformer.wte.weight": sd["embed.W_E"], "transformer.wpe.weight": sd["pos_embed.W_pos"],
          "transformer.ln_f.weight": sd["ln_final.w"], "transformer.ln_f.bias": sd["ln_final.b"],
          "lm_head.weight": sd["unembed.W_U"].T}  # fmt: skip
    for layer in range(config["n_layers"]):
        p, h = f"blocks.{layer}.", f"transformer.h.{layer}."
        hf[h + "ln_1.weight"], hf[h + "ln_1.bias"] = sd[p + "ln1.w"], sd[p + "ln1.b"]
        hf[h + "attn.c_attn.weight"] = torch.cat([einops.rearrange(sd[p + f"attn.W_{m}"], to_cols) for m in "QKV"], 1)
        hf[h + "attn.c_attn.bias"] = torch.cat([sd[p + f"attn.b_{m}"].flatten() for m in "QKV"])
        hf[h + "attn.c_proj.weight"] = einops.rearrange(sd[p + "attn.W_O"], "head d_head d_model -> (head d_head) d_model")
        hf[h + "attn.c_proj.bias"] = sd[p + "attn.b_O"]
        mlp = {k: sd.get(p + k) for k in ("ln2.w", "ln2.b", "mlp.W_in", "mlp.b_in", "mlp.W_out", "mlp.b_out")}
        if config["attn_only"]:
            mlp = {"ln2.w": torch.ones(D_MODEL), "ln2.b": torch.zeros(D_MODEL), "mlp.W_in": torch.zeros(D_MODEL, D_MLP),
                   "mlp.b_in": torch.zeros(D_MLP), "mlp.W_out": torch.zeros(D_MLP, D_MODEL), "mlp.b_out": torch.zeros(D_MODEL)}  # fmt: skip
        hf[h + "ln_2.weight"], hf[h + "ln_2.bias"] = mlp["ln2.w"], mlp["ln2.b"]
        hf[h + "mlp.c_fc.weight"], hf[h + "mlp.c_fc.bias"] = mlp["mlp.W_in"], mlp["mlp.b_in"]
        hf[h + "mlp.c_proj.weight"], hf[h + "mlp.c_proj.bias"] = mlp["mlp.W_out"], mlp["mlp.b_out"]
    missing, unexpected = model.load_state_dict(hf, strict=False)
    assert not unexpected and all(".attn.bias" in k or "masked_bias" in k for k in missing), (missing, unexpected)
    model.save_pretrained(directory)
    return directory


def log_probs(model: HookedTransformer) -> torch.Tensor:
    with torch.no_grad():
        return model(TOKENS).log_softmax(-1)


# ---- attn-only and GELU: three ways to one answer --------------------------------------------
@pytest.fixture(scope="module", params=["attn-only", "gelu"])
def gpt2_like(request, tmp_path_factory, hf_home):
    attn_only = request.param == "attn-only"
    name = "NeelNanda/Attn_Only_2L512W_C4_Code" if attn_only else "NeelNanda/GELU_2L512W_C4_Code"
    config = tl_config(attn_only=attn_only)
    sd = random_state_dict(config, seed=3)
    sd["unembed.b_U"] = torch.zeros(VOCAB)  # GPT-2's lm_head has no bias
    root = tmp_path_factory.mktemp(request.param)
    repo = write_repo(root / name.split("/")[1], config, sd)
    install_repo(hf_home, name, repo)
    return name, repo, as_gpt2(sd, config, root / "as-gpt2"), sd, config


def test_tl_format_model_equals_its_gpt2_conversion_and_hugging_face(gpt2_like):
    name, repo, gpt2_dir, sd, config = gpt2_like
    from transformers import GPT2LMHeadModel

    with torch.no_grad():
        hf = GPT2LMHeadModel.from_pretrained(gpt2_dir).eval()(TOKENS).logits.log_softmax(-1)
    by_name = HookedTransformer.from_pretrained(name, device="cpu")
    by_path = HookedTransformer.from_pretrained_no_processing(str(repo), device="cpu")
    via_gpt2 = HookedTransformer.from_pretrained(str(gpt2_dir), device="cpu")
    for model in (by_name, by_path, via_gpt2):
        torch.testing.assert_close(log_probs(model), hf, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(log_probs(by_path), reference_log_probs(sd, config, TOKENS), atol=1e-4, rtol=1e-4)
    assert by_name.cfg.original_architecture == "neel" and by_name.cfg.model_name == name.split("/")[1]
    assert by_name.cfg.attn_only == config["attn_only"] and by_name.cfg.normalization_type == "LNPre"  # folded


def test_first_n_layers_keeps_the_first_blocks(gpt2_like):
    name, _, _, sd, config = gpt2_like
    model = HookedTransformer.from_pretrained_no_processing(name, first_n_layers=1, device="cpu")
    assert model.cfg.n_layers == 1
    torch.testing.assert_close(log_probs(model), reference_log_probs(sd, {**config, "n_layers": 1}, TOKENS), atol=1e-4, rtol=1e-4)


def test_aliases_load_the_same_repo(gpt2_like):
    name = gpt2_like[0]
    alias = "attn-only-2l" if "Attn" in name else "gelu-2l-c4-code"
    torch.testing.assert_close(
        log_probs(HookedTransformer.from_pretrained(alias, device="cpu")),
        log_probs(HookedTransformer.from_pretrained(name, device="cpu")),
    )


# ---- SoLU and shortformer: the sequential reference -------------------------------------------
CASES = {
    "solu": ("NeelNanda/SoLU_2L512W_C4_Code", dict(act_fn="solu_ln")),
    "shortformer": ("NeelNanda/Attn-Only-2L512W-Shortformer-6B-big-lr", dict(attn_only=True, shortformer_pos=True)),
    "solu-shortformer": ("solu-shortformer-local-only", dict(act_fn="solu_ln", shortformer_pos=True)),
    "final-rms": ("gelu-final-rms-local-only", dict(final_rms=True)),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def reference_case(request, tmp_path_factory, hf_home):
    name, fields = CASES[request.param]
    config = tl_config(**fields)
    sd = random_state_dict(config, seed=11)
    repo = write_repo(tmp_path_factory.mktemp(request.param) / name.split("/")[-1], config, sd)
    if "/" in name:
        install_repo(hf_home, name, repo)
    return name, repo, sd, config


@pytest.mark.parametrize("processed", [True, False])
def test_solu_and_shortformer_models_match_the_sequential_reference(reference_case, processed):
    name, repo, sd, config = reference_case
    load = HookedTransformer.from_pretrained if processed else HookedTransformer.from_pretrained_no_processing
    expected = reference_log_probs(sd, config, TOKENS)
    sources = [str(repo)] + ([name] if "/" in name else [])
    for source in sources:
        model = load(source, device="cpu")
        torch.testing.assert_close(log_probs(model), expected, atol=1e-4, rtol=1e-4)
        expected_type = "shortformer" if config["shortformer_pos"] else "standard"
        assert model.cfg.positional_embedding_type == expected_type


@pytest.mark.parametrize("reference_case", ["shortformer", "solu-shortformer"], indirect=True)
def test_shortformer_positions_reach_queries_and_keys_only(reference_case):
    name, repo, sd, config = reference_case
    model = HookedTransformer.from_pretrained_no_processing(str(repo), device="cpu")
    _, cache = model.run_with_cache(TOKENS)
    torch.testing.assert_close(cache["hook_pos_embed"][0], sd["pos_embed.W_pos"][: TOKENS.shape[1]])
    # The residual stream entering block 0 is the token embedding alone.
    torch.testing.assert_close(cache["blocks.0.hook_resid_pre"], cache["hook_embed"])
    assert not cache.has_pos_embed  # so decompositions of the residual stream leave it out
    # Values read ln1(resid) without positions (hook_normalized is before ln1's w and b, as in 3.x).
    normed = cache["blocks.0.ln1.hook_normalized"] * sd["blocks.0.ln1.w"] + sd["blocks.0.ln1.b"]
    expected_v = torch.einsum("bpm,hmd->bphd", normed, sd["blocks.0.attn.W_V"]) + sd["blocks.0.attn.b_V"]
    torch.testing.assert_close(cache["blocks.0.attn.hook_v"], expected_v, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("reference_case", ["shortformer", "solu-shortformer"], indirect=True)
def test_shortformer_generation_with_kv_cache_matches_full_recompute(reference_case):
    _, repo, _, config = reference_case
    model = HookedTransformer.from_pretrained(str(repo), device="cpu")
    prompt = TOKENS[:1, :5]
    cached = model.generate(prompt, max_new_tokens=6, do_sample=False, use_past_kv_cache=True, stop_at_eos=False, verbose=False)
    uncached = model.generate(prompt, max_new_tokens=6, do_sample=False, use_past_kv_cache=False, stop_at_eos=False, verbose=False)
    assert torch.equal(cached, uncached)


@pytest.mark.parametrize("reference_case", ["solu", "solu-shortformer"], indirect=True)
def test_solu_mlp_hooks_follow_upstream(reference_case):
    name, repo, sd, config = reference_case
    model = HookedTransformer.from_pretrained_no_processing(str(repo), device="cpu")
    _, cache = model.run_with_cache(TOKENS)
    pre = cache["blocks.0.mlp.hook_pre"]
    torch.testing.assert_close(cache["blocks.0.mlp.hook_mid"], pre * pre.softmax(-1))
    expected_post = layer_norm(cache["blocks.0.mlp.hook_mid"], sd["blocks.0.mlp.ln.w"], sd["blocks.0.mlp.ln.b"])
    torch.testing.assert_close(cache["blocks.0.mlp.hook_post"], expected_post, atol=1e-5, rtol=1e-5)
    assert cache["blocks.0.mlp.ln.hook_scale"].shape == (*TOKENS.shape, 1)
    assert "blocks.0.mlp.ln.w" in dict(model.named_parameters())
    if not config["shortformer_pos"]:  # folding: the MLP's LayerNorm becomes LayerNormPre, like ln1/ln2
        folded = HookedTransformer.from_pretrained(str(repo), device="cpu")
        assert "blocks.0.mlp.ln.w" not in dict(folded.named_parameters())
        assert type(folded.blocks[0].mlp.ln).__name__ == "LayerNormPre"


# ---- old layouts --------------------------------------------------------------------------------
def as_old_solu(sd: dict, n_layers: int) -> dict:
    """The Pile SoLU models' layout: ``norm`` for ``ln``, weights ``[out, in]`` up to 6 layers, W_pos up to 8."""
    old = {}
    for key, value in sd.items():
        if "W_" in key and "W_pos" not in key and n_layers <= 6:
            value = value.transpose(-2, -1)
        if key == "pos_embed.W_pos" and n_layers <= 8:
            value = value.T
        key = "norm." + key[len("ln_final.") :] if key.startswith("ln_final.") else key.replace("ln", "norm")
        old[key] = value
    return old


def test_old_solu_layout_loads_as_the_same_model(tmp_path, hf_home):
    config = tl_config(act_fn="solu_ln", normalization="LN")
    del config["normalization_type"]  # the old configs name it "normalization"
    sd = random_state_dict(config, seed=21)
    name = "NeelNanda/SoLU_2L_v10_old"
    install_repo(hf_home, name, write_repo(tmp_path / "old", config, as_old_solu(sd, 2)))
    model = HookedTransformer.from_pretrained_no_processing("solu-2l-pile", device="cpu")
    assert model.cfg.original_architecture == "neel-solu-old"
    torch.testing.assert_close(log_probs(model), reference_log_probs(sd, config, TOKENS), atol=1e-4, rtol=1e-4)


def test_mingpt_layout_loads_as_the_same_model(tmp_path):
    config = tl_config(architecture="mingpt")
    sd = random_state_dict(config, seed=31)
    heads = "head d_model d_head -> (head d_head) d_model"
    mingpt = {"tok_emb.weight": sd["embed.W_E"], "pos_emb": sd["pos_embed.W_pos"][None], "head.weight": sd["unembed.W_U"].T,
              "ln_f.weight": sd["ln_final.w"], "ln_f.bias": sd["ln_final.b"]}  # fmt: skip
    sd["unembed.b_U"] = torch.zeros(VOCAB)  # minGPT's head has no bias
    for layer in range(2):
        p = f"blocks.{layer}."
        for ln in ("ln1", "ln2"):
            mingpt[f"{p}{ln}.weight"], mingpt[f"{p}{ln}.bias"] = sd[f"{p}{ln}.w"], sd[f"{p}{ln}.b"]
        for ours, theirs in (("Q", "query"), ("K", "key"), ("V", "value")):
            mingpt[f"{p}attn.{theirs}.weight"] = einops.rearrange(sd[f"{p}attn.W_{ours}"], heads)
            mingpt[f"{p}attn.{theirs}.bias"] = sd[f"{p}attn.b_{ours}"].flatten()
        mingpt[f"{p}attn.proj.weight"] = einops.rearrange(sd[f"{p}attn.W_O"], "head d_head d_model -> d_model (head d_head)")
        mingpt[f"{p}attn.proj.bias"] = sd[f"{p}attn.b_O"]
        mingpt[f"{p}mlp.0.weight"], mingpt[f"{p}mlp.0.bias"] = sd[f"{p}mlp.W_in"].T, sd[f"{p}mlp.b_in"]
        mingpt[f"{p}mlp.2.weight"], mingpt[f"{p}mlp.2.bias"] = sd[f"{p}mlp.W_out"].T, sd[f"{p}mlp.b_out"]
    model = HookedTransformer.from_pretrained(str(write_repo(tmp_path / "othello", config, mingpt)), device="cpu")
    assert model.cfg.original_architecture == "mingpt"
    torch.testing.assert_close(log_probs(model), reference_log_probs(sd, config, TOKENS), atol=1e-4, rtol=1e-4)


# ---- training checkpoints, config fields, bad input ----------------------------------------------
def test_training_checkpoints_load_by_index_and_value(tmp_path, hf_home):
    config = tl_config(attn_only=True)
    weights = {label: random_state_dict(config, seed=label) for label in (0, 512, 2048)}
    name = "NeelNanda/Attn_Only_1L512W_C4_Code"
    install_repo(hf_home, name, write_repo(tmp_path / "Attn_Only_1L512W_C4_Code", config, weights[2048], weights))
    assert tl_format.checkpoint_labels(name) == ([0, 512, 2048], "step")
    assert transformer_lens.loading.get_checkpoint_labels("attn-only-1l") == ([0, 512, 2048], "step")
    model = HookedTransformer.from_pretrained_no_processing("attn-only-1l", checkpoint_index=1, device="cpu")
    assert (model.cfg.from_checkpoint, model.cfg.checkpoint_index, model.cfg.checkpoint_value) == (True, 1, 512)
    assert model.cfg.checkpoint_label_type == "step"
    torch.testing.assert_close(log_probs(model), reference_log_probs(weights[512], config, TOKENS), atol=1e-4, rtol=1e-4)
    by_value = HookedTransformer.from_pretrained_no_processing(name, checkpoint_value=0, device="cpu")
    torch.testing.assert_close(log_probs(by_value), reference_log_probs(weights[0], config, TOKENS), atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="checkpoint_value 7 is not a"):
        HookedTransformer.from_pretrained(name, checkpoint_value=7)


def test_labels_in_the_billions_are_tokens():
    from transformer_lens.loading.checkpoints import neel_checkpoint_labels

    files = ["config.json", "model_final.pth", "checkpoints/x_1000.pth", "checkpoints/x_2000000000.pth"]
    assert neel_checkpoint_labels(files) == ([1000, 2000000000], "token")


def test_config_fields_are_upstreams():
    """convert_neel_model_config's fields for a config.json (upstream 3.9.0 run on these inputs)."""
    fields = tl_format.config_from_tl_json(
        tl_config(normalization="LNPre", shortformer_pos=True, tokenizer_name="gpt2", final_rms=True), "NeelNanda/SoLU_1L_v9_old"
    )
    assert fields == dict(
        d_model=D_MODEL, n_layers=2, d_mlp=D_MLP, d_head=D_HEAD, n_heads=N_HEADS, n_ctx=N_CTX, d_vocab=VOCAB,
        tokenizer_name="gpt2", act_fn="gelu", attn_only=False, final_rms=True, original_architecture="neel-solu-old",
        normalization_type="LNPre", positional_embedding_type="shortformer",
    )  # fmt: skip
    fields = tl_format.config_from_tl_json(tl_config(architecture="mingpt"), "Baidicoot/Othello-GPT-Transformer-Lens")
    assert fields["original_architecture"] == "mingpt" and fields["positional_embedding_type"] == "standard"


def test_tokenizer_is_loaded_by_the_name_in_the_config(tmp_path, gpt2_hub):
    config = tl_config(attn_only=True, d_vocab=50257, tokenizer_name="gpt2")
    model = HookedTransformer.from_pretrained(str(write_repo(tmp_path / "tok", config, random_state_dict(config, 1))))
    assert model.tokenizer is not None and model.cfg.tokenizer_name == "gpt2"
    assert model.to_str_tokens("Hello world") == ["<|endoftext|>", "Hello", " world"]


def test_missing_weights_file_is_one_clear_line(tmp_path):
    repo = write_repo(tmp_path / "broken", tl_config(), random_state_dict(tl_config(), 0))
    (repo / "model_final.pth").rename(repo / "model_final.pth.partial")
    torch.save({}, repo / "a.pth")
    torch.save({}, repo / "b.pth")
    with pytest.raises(OSError, match=r"expected one weights file \(\*final.pth\), found: a.pth, b.pth"):
        HookedTransformer.from_pretrained(str(repo))


def test_a_model_neither_cached_nor_reachable_is_one_clear_line():
    with pytest.raises(OSError, match=r"Cannot find model 'NeelNanda/SoLU_12L1536W_C4_Code': not a local directory"):
        HookedTransformer.from_pretrained("solu-12l")
