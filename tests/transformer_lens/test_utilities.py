"""Upstream's utils functions that LensLab adds (transformer_lens.utilities), each against an oracle or a property."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from transformer_lens import utils
from transformer_lens.utilities import hf_utils, initialization_utils


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---- initialisation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, fans", [((7,), (1, 7)), ((5, 9), (5, 9)), ((4, 16, 8), (16, 32))]
)
def test_fan_in_and_fan_out_follow_our_weight_layout(shape, fans):
    assert utils.calc_fan_in_and_fan_out(torch.empty(shape)) == fans


def test_fan_in_and_fan_out_reject_other_ranks():
    with pytest.raises(ValueError, match="scalar"):
        utils.calc_fan_in_and_fan_out(torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2, 2\)"):
        utils.calc_fan_in_and_fan_out(torch.empty(2, 2, 2, 2))


@pytest.mark.parametrize(
    "init, expected_std",
    [
        (lambda w: utils.init_xavier_uniform_(w, gain=2.0), 2.0 * math.sqrt(2.0 / (300 + 200))),
        (lambda w: utils.init_xavier_normal_(w), math.sqrt(2.0 / (300 + 200))),
        (lambda w: utils.init_kaiming_uniform_(w), math.sqrt(2.0) / math.sqrt(300)),
        (lambda w: utils.init_kaiming_normal_(w, nonlinearity="linear", mode="fan_out"), 1 / math.sqrt(200)),
        (lambda w: utils.init_kaiming_normal_(w, a=0.1, nonlinearity="leaky_relu"), math.sqrt(2 / 1.01) / math.sqrt(300)),
    ],
)
def test_inits_draw_with_the_std_of_their_formula(init, expected_std):
    torch.manual_seed(0)
    weight = torch.empty(300, 200)
    assert init(weight) is weight
    assert weight.std().item() == pytest.approx(expected_std, rel=0.02)
    assert weight.mean().item() == pytest.approx(0.0, abs=expected_std * 0.02)


def test_uniform_inits_stay_in_their_bounds():
    torch.manual_seed(0)
    weight = initialization_utils.init_xavier_uniform_(torch.empty(4, 16, 8))
    bound = math.sqrt(6.0 / (16 + 32))
    assert weight.abs().max() <= bound and weight.abs().max() > 0.95 * bound


def test_kaiming_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be"):
        utils.init_kaiming_normal_(torch.empty(3, 3), mode="fan_avg")


# ---- tensors ------------------------------------------------------------------------------


def test_offset_position_ids_count_real_tokens():
    mask = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    expected = [[0, 0, 0, 1, 2, 3], [0, 1, 2, 3, 4, 5]]
    assert utils.get_offset_position_ids(0, mask).tolist() == expected
    assert utils.get_offset_position_ids(4, mask).tolist() == [row[4:] for row in expected]


def test_repeat_along_head_dimension_copies_unless_told_not_to():
    x = torch.randn(2, 3, 5, generator=generator())
    repeated = utils.repeat_along_head_dimension(x, n_heads=4)
    assert repeated.shape == (2, 3, 4, 5)
    assert all(torch.equal(repeated[:, :, h], x) for h in range(4))
    repeated[:, :, 0] += 1  # a real copy: neither x nor the other heads change
    assert torch.equal(repeated[:, :, 1], x)
    view = utils.repeat_along_head_dimension(x, n_heads=4, clone_tensor=False)
    assert view.data_ptr() == x.data_ptr()


def test_check_structure_reports_the_first_kind_of_mismatch(capsys):
    base = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    utils.check_structure(base, base * 10 + 1)
    assert capsys.readouterr().out.strip() == "PASSED"
    rows_swapped = base[[1, 0, 2]]
    utils.check_structure(base, rows_swapped)
    assert capsys.readouterr().out.strip() == "row mismatch: [0]"
    columns_swapped = base[:, [1, 0, 2]]
    utils.check_structure(base, columns_swapped)
    assert capsys.readouterr().out.strip() == "column mismatch: [0]"
    with pytest.raises(AssertionError, match="equal shapes"):
        utils.check_structure(base, base[:2])


# ---- linear algebra helpers ----------------------------------------------------------------


def test_attn_linears_equal_per_head_matmuls():
    from transformer_lens.utilities.attention import complex_attn_linear, simple_attn_linear

    x = torch.randn(2, 3, 8, generator=generator(1))
    w = torch.randn(4, 8, 5, generator=generator(2))
    b = torch.randn(4, 5, generator=generator(3))
    expected = torch.stack([x @ w[h] + b[h] for h in range(4)], dim=2)
    torch.testing.assert_close(simple_attn_linear(x, w, b), expected)
    per_head = x.unsqueeze(2).expand(-1, -1, 4, -1)
    torch.testing.assert_close(complex_attn_linear(per_head, w, b), expected)


def test_batch_addmm_is_x_times_w_plus_b():
    from transformer_lens.utilities.addmm import batch_addmm, vanilla_addmm

    x, w, b = torch.randn(2, 3, 4, 6, generator=generator(4)), torch.randn(6, 5, generator=generator(5)), torch.randn(5)
    torch.testing.assert_close(batch_addmm(b, w, x), x @ w + b)
    torch.testing.assert_close(vanilla_addmm(b, x[0, 0], w), x[0, 0] @ w + b)


def test_get_matrix_corner_is_the_corner_of_the_product():
    from transformer_lens import FactoredMatrix

    a, b = torch.randn(6, 3, generator=generator(6)), torch.randn(3, 5, generator=generator(7))
    torch.testing.assert_close(utils.get_matrix_corner(FactoredMatrix(a, b), 2), (a @ b)[:2, :2])


# ---- logits ---------------------------------------------------------------------------------


def test_logits_to_df_sorts_by_probability(gpt2_tokenizer):
    logits = torch.tensor([0.5, 3.0, -1.0, 2.0])
    table = utils.logits_to_df(logits, top_k=3)
    assert table["token_index"].tolist() == [1, 3, 0]
    probs = logits.softmax(-1)
    assert table["probability"].tolist() == pytest.approx(probs[[1, 3, 0]].tolist())
    assert table["log_prob"].tolist() == pytest.approx(probs[[1, 3, 0]].log().tolist())
    named = utils.logits_to_df(torch.zeros(gpt2_tokenizer.vocab_size).index_fill(0, torch.tensor([31373]), 5.0), gpt2_tokenizer, 1)
    assert named["token_string"].tolist() == [gpt2_tokenizer.decode([31373])]
    with pytest.raises(ValueError, match="one position's logits"):
        utils.logits_to_df(torch.zeros(2, 4))


# ---- tokenizer helpers ---------------------------------------------------------------------


def test_manually_prepended_bos():
    assert utils.get_input_with_manually_prepended_bos("<s>", "hi") == "<s>hi"
    assert utils.get_input_with_manually_prepended_bos(None, ["a"]) == ["a"]


def test_get_tokenizer_with_bos_keeps_a_tokenizer_without_bos():
    no_bos = SimpleNamespace(bos_token=None)
    assert utils.get_tokenizer_with_bos(no_bos) is no_bos


class ListDataset:
    """The slice of ``datasets.Dataset`` that tokenize_and_concatenate uses, over a dict of columns."""

    def __init__(self, columns: dict[str, list]):
        self.columns = columns
        self.format = None

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def remove_columns(self, names):
        names = [names] if isinstance(names, str) else names
        return ListDataset({k: v for k, v in self.columns.items() if k not in names})

    def map(self, fn, batched, remove_columns, num_proc=None):
        assert batched
        out = fn({k: v for k, v in self.columns.items()})
        return ListDataset({k: list(v) for k, v in out.items()})

    def set_format(self, type, columns):
        self.format = (type, columns)


def test_tokenize_and_concatenate_joins_documents_with_eos(gpt2_tokenizer):
    texts = ["Hello world, this is a test.", "A second document follows here with more words in it."]
    dataset = ListDataset({"text": texts, "meta": [1, 2]})
    rows = utils.tokenize_and_concatenate(dataset, gpt2_tokenizer, max_length=6, num_proc=None)
    assert rows.column_names == ["tokens"] and rows.format == ("torch", ["tokens"])
    ids = [gpt2_tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
    stream = ids[0] + [gpt2_tokenizer.eos_token_id] + ids[1]
    n_rows = len(stream) // 5
    expected = [[gpt2_tokenizer.bos_token_id, *stream[5 * r : 5 * r + 5]] for r in range(n_rows)]
    assert [list(row) for row in rows.columns["tokens"]] == expected


def test_tokenize_and_concatenate_with_datasets(gpt2_tokenizer):
    datasets = pytest.importorskip("datasets")
    data = datasets.Dataset.from_dict({"text": ["one two three four five six seven eight nine ten"] * 4})
    rows = utils.tokenize_and_concatenate(data, gpt2_tokenizer, max_length=8, num_proc=None)
    assert rows["tokens"].shape[1] == 8 and bool((rows["tokens"][:, 0] == gpt2_tokenizer.bos_token_id).all())


# ---- hub helpers, offline ------------------------------------------------------------------


def test_select_compatible_kwargs_keeps_named_arguments():
    def f(a, b=1, *, c=2):
        return a

    assert utils.select_compatible_kwargs({"a": 1, "b": 2, "c": 3, "d": 4}, f) == {"a": 1, "b": 2}


def test_is_library_available():
    assert utils.is_library_available("torch") and not utils.is_library_available("no_such_library_lenslab")


def test_get_dataset_names_the_problem():
    with pytest.raises(ValueError, match="Dataset 'imagenet' not supported"):
        utils.get_dataset("imagenet")


def test_call_hf_with_retry_retries_only_rate_limits(monkeypatch):
    monkeypatch.setattr(hf_utils.time, "sleep", lambda seconds: None)
    rate_limited = RuntimeError("429")
    rate_limited.response = SimpleNamespace(status_code=429, headers={"Retry-After": "0"})  # type: ignore[attr-defined]
    calls = []

    def flaky(value):
        calls.append(value)
        if len(calls) < 3:
            raise rate_limited
        return value * 2

    assert hf_utils.call_hf_with_retry(flaky, 21) == 42 and len(calls) == 3
    with pytest.raises(KeyError):
        hf_utils.call_hf_with_retry(lambda: {}["missing"])
    with pytest.raises(RuntimeError, match="429"):
        hf_utils.call_hf_with_retry(lambda: (_ for _ in ()).throw(rate_limited), max_attempts=2)


def test_get_hf_token(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "")
    assert hf_utils.get_hf_token() is None
    monkeypatch.setenv("HF_TOKEN", "abc")
    assert hf_utils.get_hf_token() == "abc"


# ---- devices --------------------------------------------------------------------------------


def test_move_to_and_update_config_records_the_dtype():
    from transformer_lens import HookedTransformer

    model = HookedTransformer(dict(n_layers=1, d_model=8, n_ctx=4, d_head=2, n_heads=4, d_vocab=10, attn_only=True))
    utils.move_to_and_update_config(model, torch.float64, print_details=False)
    assert model.cfg.dtype == torch.float64 and model.embed.W_E.dtype == torch.float64


def test_warn_if_mps_is_silent_elsewhere():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        utils.warn_if_mps("cpu")
        utils.warn_if_mps(torch.device("cpu"))


# ---- activation functions and module lists ---------------------------------------------------


def test_xielu_matches_hugging_face():
    activations = pytest.importorskip("transformers.activations")
    if not hasattr(activations, "XIELUActivation"):
        pytest.skip("this transformers has no XIELUActivation")
    x = torch.linspace(-6, 6, 241)
    theirs = activations.XIELUActivation(alpha_p_init=0.7, alpha_n_init=0.9, beta=0.4, dtype=torch.float32)
    ours = utils.XIELU(alpha_p_init=0.7, alpha_n_init=0.9, beta_init=0.4)
    torch.testing.assert_close(ours(x), theirs(x))
    torch.testing.assert_close(utils.xielu(x), utils.XIELU()(x))
    assert {name for name, _ in ours.named_parameters()} == {"alpha_p", "alpha_n"}


def test_relu2_and_gelu_pytorch_tanh():
    x = torch.linspace(-3, 3, 13)
    torch.testing.assert_close(utils.relu2(x), torch.relu(x) ** 2)
    torch.testing.assert_close(utils.gelu_pytorch_tanh(x), utils.gelu_new(x))


def test_typed_module_list_is_a_module_list():
    from transformer_lens.utilities import TypedModuleList

    layers = TypedModuleList([torch.nn.Linear(2, 2), torch.nn.Linear(2, 3)])
    assert isinstance(layers, torch.nn.ModuleList) and len(layers) == 2
    assert layers[1].out_features == 3 and isinstance(layers[:1], TypedModuleList)
    assert len(list(torch.nn.Sequential(*layers).parameters())) == 4


def test_download_file_from_hf_retries_rate_limits(monkeypatch, tmp_path):
    monkeypatch.setattr(hf_utils.time, "sleep", lambda seconds: None)
    target = tmp_path / "settings.json"
    target.write_text('{"layers": 2}')
    calls = []

    def fake_download(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            error = RuntimeError("429")
            error.response = SimpleNamespace(status_code=429, headers={})  # type: ignore[attr-defined]
            raise error
        return str(target)

    monkeypatch.setattr(hf_utils, "hf_hub_download", fake_download)
    assert hf_utils.download_file_from_hf("some/repo", "settings.json") == {"layers": 2}
    assert len(calls) == 2 and calls[0]["repo_id"] == "some/repo"


def test_mps_warnings(monkeypatch):
    import warnings

    from transformer_lens.utilities import devices

    monkeypatch.delenv("TRANSFORMERLENS_ALLOW_MPS", raising=False)
    monkeypatch.setattr(devices, "_mps_warned", False)
    monkeypatch.setattr(devices, "_mps_broken_torch_warned", False)
    monkeypatch.setattr(devices, "_torch_version_tuple", lambda: (2, 8))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        utils.warn_if_mps("mps")
        utils.warn_if_mps(torch.device("mps"))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2  # the broken-version warning and the general one, each once
    assert "known MPS bug" in messages[0] and "MPS backend may produce silently incorrect results" in messages[1]
    monkeypatch.setattr(devices, "_mps_warned", False)
    monkeypatch.setattr(devices, "_torch_version_tuple", lambda: (3, 0))
    monkeypatch.setattr(devices, "_MPS_MIN_SAFE_TORCH_VERSION", (2, 9))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        utils.warn_if_mps("mps")
    assert caught == []
