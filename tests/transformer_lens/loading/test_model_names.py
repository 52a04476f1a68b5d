"""Model names: every name and alias of upstream TransformerLens 3.9.0 resolves as upstream resolves it.

Oracle: ``data/upstream_3_9_0_model_names.json`` holds upstream's ``OFFICIAL_MODEL_NAMES`` (249)
and ``MODEL_ALIASES`` (418 aliases of 232 names) as transformer-lens 3.9.0 ships them; upstream
maps each alias, lower-cased, to its official name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import transformer_lens.loading
from transformer_lens import HookedTransformer
from transformer_lens.loading import registry
from transformer_lens.loading.model_names import NAMES_BY_ARCHITECTURE, NEAREST_SUPPORTED

UPSTREAM = json.loads((Path(__file__).parent / "data" / "upstream_3_9_0_model_names.json").read_text())


def test_the_oracle_is_upstreams_full_list():
    assert len(UPSTREAM["official_names"]) == 249
    assert len(UPSTREAM["aliases"]) == 232
    assert sum(len(aliases) for aliases in UPSTREAM["aliases"].values()) == 418


def test_every_upstream_official_name_is_listed_and_resolves_to_itself():
    listed = set(transformer_lens.loading.OFFICIAL_MODEL_NAMES)
    for name in UPSTREAM["official_names"]:
        assert name in listed
        for spelling in (name, name.lower(), name.upper()):
            assert registry.get_official_model_name(spelling) == name, spelling


def test_every_upstream_alias_resolves_case_insensitively_to_its_official_name():
    resolved = 0
    for official, aliases in UPSTREAM["aliases"].items():
        for alias in aliases:
            for spelling in (alias, alias.lower(), alias.upper()):
                assert registry.get_official_model_name(spelling) == official, spelling
            resolved += 1
    assert resolved == 418


def test_model_aliases_has_upstreams_shape_and_aliases():
    ours = transformer_lens.loading.MODEL_ALIASES
    for official, aliases in UPSTREAM["aliases"].items():
        # Upstream lists a few aliases twice; ours lists each once (and LensLab's extra ones).
        assert set(aliases) <= set(ours[official]), official
        assert ours[official][0] == aliases[0], "the first alias is upstream's default alias"
    assert all(isinstance(v, list) and v for v in ours.values())


def test_names_order_and_default_aliases_follow_upstream():
    ours = [name for name in registry.OFFICIAL_MODEL_NAMES if name in set(UPSTREAM["official_names"])]
    assert ours == UPSTREAM["official_names"]  # upstream sorts case-insensitively
    defaults = dict(zip(registry._table_names(), registry.DEFAULT_MODEL_ALIASES))
    assert defaults["gpt2"] == "gpt2-small" and defaults["gpt2-medium"] == "gpt2-medium"
    assert defaults["EleutherAI/pythia-70m"] == "pythia-70m"


def test_no_alias_is_claimed_by_two_models():
    claimed: dict[str, str] = {}
    for names in NAMES_BY_ARCHITECTURE.values():
        for official, aliases in names.items():
            for name in {official.lower(), *(a.lower() for a in aliases)}:
                assert claimed.setdefault(name, official) == official, f"{name}: {claimed[name]} and {official}"


def test_unknown_names_resolve_to_none():
    assert registry.get_official_model_name("not-a-model") is None
    assert registry.architecture_of("not-a-model") is None


def test_each_name_has_the_architecture_of_its_checkpoint():
    assert registry.architecture_of("gpt2-small") == "GPT2LMHeadModel"
    assert registry.architecture_of("stanford-gpt2-medium-c") == "GPT2LMHeadModel"
    assert registry.architecture_of("tiny-stories-33M") == "GPTNeoForCausalLM"
    assert registry.architecture_of("stablelm-base-alpha-3b") == "GPTNeoXForCausalLM"
    assert registry.architecture_of("qwen1.5-7b") == "Qwen2ForCausalLM"
    assert registry.architecture_of("yi-6b") == "LlamaForCausalLM"
    assert registry.architecture_of("gemma-3-1b-it") == "Gemma3ForCausalLM"
    assert registry.architecture_of("gemma-3-4b-it") == "Gemma3ForConditionalGeneration"
    assert registry.architecture_of("solu-4l-pile") == "neel-solu-old"
    assert registry.architecture_of("attn-only-2l") == "neel"


def test_every_unsupported_architecture_names_its_nearest_supported_one():
    for architecture in NAMES_BY_ARCHITECTURE:
        if not registry.is_supported_architecture(architecture):
            assert architecture in NEAREST_SUPPORTED, architecture


def test_nearest_supported_lists_only_architectures_no_family_loads():
    # A family that gains an architecture must drop it from NEAREST_SUPPORTED (one definition).
    for architecture in NEAREST_SUPPORTED:
        assert not registry.is_supported_architecture(architecture), architecture


def test_every_listed_decoder_architecture_has_a_family():
    loadable = registry.ENCODER_ARCHITECTURES + registry.ENCODER_DECODER_ARCHITECTURES + registry.TL_FORMAT_ARCHITECTURES
    for architecture in NAMES_BY_ARCHITECTURE:
        if architecture in NEAREST_SUPPORTED or architecture in loadable:
            continue
        assert registry.family_for_architecture(architecture).HF_ARCHITECTURES, architecture


def test_t5_names_point_to_hooked_encoder_decoder():
    with pytest.raises(ValueError, match="load it with transformer_lens.HookedEncoderDecoder.from_pretrained") as error:
        HookedTransformer.from_pretrained("t5-small")
    assert "\n" not in str(error.value)


def test_loading_a_name_of_an_unsupported_architecture_says_so_in_one_line():
    # Audio models are not on LensLab's roadmap, so this stays unsupported.
    with pytest.raises(ValueError) as error:
        HookedTransformer.from_pretrained("hubert-base-ls960")
    message = str(error.value)
    assert message == (
        "facebook/hubert-base-ls960 is a HubertModel model; LensLab does not support HubertModel yet "
        "(nearest supported: none (audio model))"
    )
    assert "\n" not in message


def test_bert_names_still_point_to_hooked_encoder():
    with pytest.raises(ValueError, match="load it with transformer_lens.HookedEncoder.from_pretrained"):
        HookedTransformer.from_pretrained("bert-large-cased")


def test_checkpoint_labels_follow_upstream():
    labels, label_type = transformer_lens.loading.get_checkpoint_labels("stanford-gpt2-small-a")
    # stanford-crfm: every 10 steps to 100, 50 to 2000, 100 to 20000, then 1000 to 400000.
    assert (len(labels), labels[:3], labels[-1], label_type) == (609, [0, 10, 20], 400000, "step")
    labels, _ = transformer_lens.loading.get_checkpoint_labels("pythia-160m")
    assert len(labels) == 154 and labels[:4] == [0, 1, 2, 4]
    labels, _ = transformer_lens.loading.get_checkpoint_labels("pythia-160m-v0")  # no log-spaced early steps
    assert len(labels) == 143 and labels[0] == 1000
    with pytest.raises(ValueError, match="gpt2 has no published training checkpoints"):
        transformer_lens.loading.get_checkpoint_labels("gpt2")


def test_checkpoints_map_to_hub_revisions():
    assert registry.checkpoint_revision("stanford-gpt2-small-a", 1, None) == "checkpoint-10"
    assert registry.checkpoint_revision("stanford-crfm/arwen-gpt2-medium-x21", None, 400000) == "checkpoint-400000"
    assert registry.checkpoint_revision("pythia-70m-v0", 0, None) == "step1000"
    with pytest.raises(ValueError, match="checkpoint_value 15 is not a"):
        registry.checkpoint_revision("stanford-gpt2-small-a", None, 15)


def test_tiny_stories_context_is_cut_to_its_training_length_as_upstream(tmp_path, hf_home):
    """TinyStories' config allows 2048 positions but it was trained on 512: upstream sets n_ctx=512."""
    import hf_checkpoints
    import torch
    from transformers import GPTNeoConfig, GPTNeoForCausalLM

    config = GPTNeoConfig(vocab_size=50, hidden_size=16, num_heads=2, num_layers=2, max_position_embeddings=600,
                          attention_types=[[["global", "local"], 1]], window_size=4, bos_token_id=0, eos_token_id=0)  # fmt: skip
    torch.manual_seed(0)
    hf_model = GPTNeoForCausalLM(config).eval()
    hf_model.save_pretrained(tmp_path)
    hf_checkpoints.install_in_hf_cache(hf_home, "roneneldan/TinyStories-1M", tmp_path)
    model = HookedTransformer.from_pretrained_no_processing("tiny-stories-1M", device="cpu")
    assert model.cfg.n_ctx == 512 and model.pos_embed.W_pos.shape == (512, 16)
    torch.testing.assert_close(model.pos_embed.W_pos, hf_model.transformer.wpe.weight[:512])
    tokens = torch.randint(0, 50, (1, 9), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(model(tokens).log_softmax(-1), hf_model(tokens).logits.log_softmax(-1), atol=1e-4, rtol=1e-4)
