"""transformer_lens.utils: the upstream helper surface."""

from __future__ import annotations

import doctest
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from transformer_lens import hook_names, loss, utils
from transformer_lens.config import HookedTransformerConfig
from transformer_lens.hooked_transformer import HookedTransformer
from transformer_lens.utils import Slice


def test_doctests_pass():
    result = doctest.testmod(utils, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0


def test_importing_utils_pulls_in_no_heavy_modules():
    code = "import sys, transformer_lens.utils; print(sorted(m for m in ('transformers', 'IPython') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_reexports_are_the_core_functions():
    assert utils.get_act_name is hook_names.get_act_name
    assert utils.lm_cross_entropy_loss is loss.lm_cross_entropy_loss
    assert set(utils.__all__) <= set(dir(utils))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("k", 6, "a"), "blocks.6.attn.hook_k"),
        (("pre", 2), "blocks.2.mlp.hook_pre"),
        (("embed",), "hook_embed"),
        (("normalized", 27, "ln2"), "blocks.27.ln2.hook_normalized"),
        (("k6",), "blocks.6.attn.hook_k"),
        (("pre5",), "blocks.5.mlp.hook_pre"),
        (("attn", 3), "blocks.3.attn.hook_pattern"),
        (("scale", 0, "ln1"), "blocks.0.ln1.hook_scale"),
        (("blocks.0.hook_resid_pre",), "blocks.0.hook_resid_pre"),
        (("scale4ln1",), "blocks.4.ln1.hook_scale"),
    ],
)
def test_get_act_name_upstream_examples(args, expected):
    assert utils.get_act_name(*args) == expected


def test_to_numpy():
    np.testing.assert_array_equal(utils.to_numpy(torch.tensor([[1, 2]])), np.array([[1, 2]]))
    assert utils.to_numpy(torch.ones(2, dtype=torch.bfloat16)).dtype == np.float32
    assert utils.to_numpy(torch.ones(2, requires_grad=True)).shape == (2,)
    np.testing.assert_array_equal(utils.to_numpy([1, 2]), np.array([1, 2]))
    assert utils.to_numpy(3.5) == np.array(3.5)
    array = np.zeros(3)
    assert utils.to_numpy(array) is array
    with pytest.raises(ValueError, match="invalid type dict"):  # upstream's wording
        utils.to_numpy({})


def test_lm_accuracy_against_a_hand_count():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 9, 11, generator=generator)
    tokens = torch.randint(0, 11, (4, 9), generator=generator)
    tokens[:, 1:][:, ::2] = logits[:, :-1][:, ::2].argmax(-1)  # make some predictions right
    hits = [
        [int(logits[b, p].argmax()) == int(tokens[b, p + 1]) for p in range(8)]
        for b in range(4)
    ]
    per_token = utils.lm_accuracy(logits, tokens, per_token=True)
    assert per_token.dtype == torch.bool and per_token.tolist() == hits
    assert utils.lm_accuracy(logits, tokens).item() == pytest.approx(sum(map(sum, hits)) / 32)


def test_lm_cross_entropy_loss_matches_torch():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 5, 7, generator=generator)
    tokens = torch.randint(0, 7, (2, 5), generator=generator)
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, 7), tokens[:, 1:].reshape(-1))
    torch.testing.assert_close(utils.lm_cross_entropy_loss(logits, tokens), expected)
    assert utils.lm_cross_entropy_loss(logits, tokens, per_token=True).shape == (2, 4)


def test_tensor_helpers():
    x = torch.arange(27).reshape(3, 3, 3)
    assert utils.get_corner(x, 2).tolist() == [[[0, 1], [3, 4]], [[9, 10], [12, 13]]]
    assert utils.remove_batch_dim(torch.zeros(1, 4, 2)).shape == (4, 2)
    assert utils.remove_batch_dim(torch.zeros(3, 4)).shape == (3, 4)
    assert utils.transpose(torch.zeros(2, 3, 4)).shape == (2, 4, 3)
    assert utils.is_square(torch.zeros(3, 3)) and not utils.is_square(torch.zeros(3, 4))
    assert utils.is_lower_triangular(torch.ones(3, 3).tril()) and not utils.is_lower_triangular(torch.ones(3, 3))
    assert utils.get_cumsum_along_dim(torch.tensor([1, 2, 3]), 0, reverse=True).tolist() == [6, 5, 3]
    assert utils.filter_dict_by_prefix({"a.x": 1, "b.y": 2}, "a.") == {"x": 1}
    torch.testing.assert_close(utils.gelu_new(x.float()), F.gelu(x.float(), approximate="tanh"))
    torch.testing.assert_close(utils.gelu_fast(x.float()), F.gelu(x.float(), approximate="tanh"), atol=1e-4, rtol=1e-4)


def test_composition_scores_match_the_dense_definition():
    from transformer_lens.factored_matrix import FactoredMatrix

    generator = torch.Generator().manual_seed(2)
    left = FactoredMatrix(torch.randn(2, 6, 3, generator=generator), torch.randn(2, 3, 6, generator=generator))
    right = FactoredMatrix(torch.randn(4, 6, 3, generator=generator), torch.randn(4, 3, 6, generator=generator))
    scores = utils.composition_scores(left, right)
    assert scores.shape == (2, 4)
    dense = torch.linalg.matrix_norm(left.AB[1] @ right.AB[3]) / (
        torch.linalg.matrix_norm(left.AB[1]) * torch.linalg.matrix_norm(right.AB[3])
    )
    torch.testing.assert_close(scores[1, 3], dense)


def test_slice_modes():
    x = torch.arange(24).reshape(2, 3, 4)
    assert Slice(1).apply(x, dim=1).tolist() == x[:, 1].tolist() and Slice(1).mode == "int"
    assert Slice((2,)).apply(x, dim=-1).tolist() == x[..., :2].tolist() and Slice((2,)).mode == "slice"
    assert Slice((1, 4, 2)).apply(x, dim=2).tolist() == x[:, :, 1:4:2].tolist()
    assert Slice([0, 2]).apply(x, dim=-2).tolist() == x[:, [0, 2]].tolist() and Slice([0, 2]).mode == "array"
    assert Slice(torch.tensor([2])).apply(x, dim=1).shape == (2, 1, 4)
    assert Slice(None).apply(x, dim=1) is not None and Slice(None).mode == "identity"
    assert Slice(slice(1, None)).apply(x).shape == (1, 3, 4)
    assert Slice(-1).indices().tolist() == [-1]
    assert Slice((1, 8, 3)).indices(10).tolist() == [1, 4, 7]
    assert Slice([3, 5]).indices(10).tolist() == [3, 5]
    with pytest.raises(ValueError, match="max_ctx"):
        Slice((1, 3)).indices()
    with pytest.raises(ValueError, match="Invalid input_slice"):
        Slice("all")
    assert Slice.unwrap(2).mode == "array" and Slice.unwrap(2).apply(x, dim=1).shape == (2, 1, 4)
    existing = Slice(1)
    assert Slice.unwrap(existing) is existing
    assert repr(Slice(3)) == "Slice: 3 Mode: int "


def test_get_attention_mask():
    tokenizer = SimpleNamespace(pad_token_id=0, bos_token_id=0, padding_side="right")
    tokens = torch.tensor([[0, 5, 0, 6, 0, 0], [0, 5, 6, 7, 8, 9]])
    assert utils.get_attention_mask(tokenizer, tokens, prepend_bos=True).tolist() == [
        [1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1],
    ]
    left = torch.tensor([[0, 0, 0, 5, 0, 6], [0, 5, 6, 7, 8, 9]])
    assert utils.get_attention_mask(tokenizer, left, prepend_bos=True, padding_side="left").tolist() == [
        [0, 0, 1, 1, 1, 1],  # the BOS (same id as pad) just before the text is real
        [1, 1, 1, 1, 1, 1],
    ]
    assert utils.get_attention_mask(tokenizer, left, prepend_bos=False, padding_side="left").tolist()[0] == [0, 0, 0, 1, 1, 1]
    assert utils.get_attention_mask(None, left, prepend_bos=True).tolist() == torch.ones_like(left).tolist()


def test_get_device():
    assert utils.get_device() == ("cuda" if torch.cuda.is_available() else "cpu")


# ---- test_prompt ---------------------------------------------------------------------------


class WordModel:
    """A stand-in model over a 6-word vocabulary whose next-token logits are fixed."""

    vocab = ["<bos>", " the", " cat", " sat", " mat", " on"]

    def __init__(self, logits: torch.Tensor) -> None:
        self.next_logits = logits  # [d_vocab], the same at every position

    def _ids(self, text: str) -> list[int]:
        return [self.vocab.index(" " + word) for word in text.split()]

    def to_tokens(self, text, prepend_bos=None):
        texts = [text] if isinstance(text, str) else text
        bos = [0] if prepend_bos in (None, True) else []
        return torch.tensor([bos + self._ids(t) for t in texts])

    def to_str_tokens(self, text, prepend_bos=None):
        return [self.vocab[i] for i in self.to_tokens(text, prepend_bos)[0].tolist()]

    def to_string(self, token):
        return self.vocab[int(token)]

    def __call__(self, tokens):
        return self.next_logits.expand(*tokens.shape, -1).clone()


def test_test_prompt_prints_ranks_logits_and_probabilities(capsys):
    logits = torch.tensor([0.0, 1.0, 3.0, 2.0, 0.5, -1.0])
    probs = logits.softmax(-1)
    assert utils.test_prompt("the cat", "sat", WordModel(logits), top_k=2) is None
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Tokenized prompt: ['<bos>', ' the', ' cat']",
        "Tokenized answer: [' sat']",
        "Performance on answer token:",
        f"Rank: 1        Logit:  2.00 Prob: {probs[3].item():6.2%} Token: | sat|",
        f"Top 0th token. Logit:  3.00 Prob: {probs[2].item():6.2%} Token: | cat|",
        f"Top 1th token. Logit:  2.00 Prob: {probs[3].item():6.2%} Token: | sat|",
        "Ranks of the answer tokens: [(' sat', 1)]",
    ]


def test_test_prompt_with_several_answers_and_no_details(capsys):
    model = WordModel(torch.tensor([0.0, 1.0, 3.0, 2.0, 0.5, -1.0]))
    utils.test_prompt("the", [" mat", "on"], model, print_details=False)
    assert capsys.readouterr().out == "Ranks of the answer tokens: [[(' mat', 3), (' on', 5)]]\n"
    utils.test_prompt("the", "sat on", model, print_details=False)
    assert capsys.readouterr().out == "Ranks of the answer tokens: [(' sat', 1), (' on', 5)]\n"


def test_test_prompt_on_a_real_model(gpt2_tokenizer, capsys):
    cfg = HookedTransformerConfig(
        n_layers=1, d_model=16, n_ctx=32, d_head=4, d_vocab=50257, act_fn="gelu_new", seed=0, device="cpu"
    )
    model = HookedTransformer(cfg, tokenizer=gpt2_tokenizer)
    utils.test_prompt("The cat sat on the", "mat", model, top_k=3)
    out = capsys.readouterr().out
    tokens = model.to_tokens("The cat sat on the mat")
    with torch.no_grad():
        final = model(tokens)[0, -2]
    rank = int((final > final[tokens[0, -1]]).sum())
    assert "Tokenized prompt: ['<|endoftext|>', 'The', ' cat', ' sat', ' on', ' the']" in out
    assert f"Rank: {rank: <8}" in out
    assert out.count("th token. Logit:") == 3
    assert out.rstrip().endswith(f"Ranks of the answer tokens: [(' mat', {rank})]")


def test_filter_dict_by_prefix_strips_the_dot_and_matches_whole_names():
    weights = {"blocks.1.attn.W_Q": 1, "blocks.1.mlp.W_in": 2, "blocks.10.attn.W_Q": 3, "blocks.1": 4}
    expected = {"attn.W_Q": 1, "mlp.W_in": 2}
    assert utils.filter_dict_by_prefix(weights, "blocks.1") == expected
    assert utils.filter_dict_by_prefix(weights, "blocks.1.") == expected
    assert utils.filter_dict_by_prefix(weights, "embed") == {}
