"""transformer_lens.evals on the embedded models: induction, sanity check, IOI, MMLU scoring, offline loaders."""

from __future__ import annotations

import math

import pytest
import torch

from transformer_lens import HookedTransformer, evals
from transformer_lens.loss import lm_cross_entropy_loss


@pytest.fixture(scope="module")
def attn_only():
    return HookedTransformer.from_pretrained("lenslab/attn-only-2l", device="cpu")


def test_induction_loss_is_low_on_the_repeat(attn_only):
    torch.manual_seed(0)
    repeat_loss = evals.induction_loss(attn_only, batch_size=4, subseq_len=100).item()
    # The same random tokens without the repeat: the first copy's loss (no way to predict them).
    torch.manual_seed(0)
    first = torch.randint(100, attn_only.cfg.d_vocab, (4, 100))
    first[:, 0] = attn_only.tokenizer.bos_token_id
    first_copy_loss = lm_cross_entropy_loss(attn_only(first), first).item()
    assert repeat_loss < 0.5 < 5.0 < first_copy_loss


def test_induction_loss_needs_the_sequence_to_fit(attn_only):
    with pytest.raises(ValueError, match="do not fit in the model's n_ctx"):
        evals.induction_loss(attn_only, subseq_len=attn_only.cfg.n_ctx)


def test_sanity_check_is_better_than_uniform(attn_only):
    assert evals.sanity_check(attn_only).item() < math.log(attn_only.cfg.d_vocab) - 1


def test_ioi_dataset_fills_the_templates(attn_only):
    dataset = evals.IOIDataset(attn_only.tokenizer, num_samples=10, symmetric=True, seed=3)
    assert len(dataset) == 10
    for first, swapped in zip(dataset.samples[::2], dataset.samples[1::2]):
        assert {first["IO"], first["S"]} == {" John", " Mary"}
        assert (swapped["IO"], swapped["S"]) == (first["S"], first["IO"])
        assert first["text"].endswith(first["IO"].strip()) and "[" not in first["text"]
    again = evals.IOIDataset(attn_only.tokenizer, num_samples=10, symmetric=True, seed=3)
    assert again.samples == dataset.samples
    item = dataset[0]
    assert item["prompt"][0] == attn_only.tokenizer.bos_token_id
    assert attn_only.tokenizer.decode(item["prompt"][1:]) == dataset.samples[0]["text"]


def test_ioi_eval_equals_the_logit_difference_computed_by_hand(attn_only):
    dataset = evals.IOIDataset(attn_only.tokenizer, num_samples=6, seed=1)
    result = evals.ioi_eval(attn_only, dataset, batch_size=4)
    diffs = []
    for index in range(len(dataset)):
        item = dataset[index]
        logits = attn_only(item["prompt"][None])[0]
        io, s = item["IO"], item["S"]
        first = int((io[: min(len(io), len(s))] != s[: min(len(io), len(s))]).nonzero()[0])
        position = len(item["prompt"]) - len(io) + first - 1
        diffs.append((logits[position, io[first]] - logits[position, s[first]]).item())
    assert result["Logit Difference"] == pytest.approx(sum(diffs) / len(diffs), abs=1e-4)
    assert result["Accuracy"] == pytest.approx(sum(d > 0 for d in diffs) / len(diffs))


def test_mmlu_eval_picks_the_letter_with_the_highest_logit(attn_only):
    data = [
        {"question": "What is 2 + 2?", "choices": ["3", "4", "5", "6"], "answer": 1, "subject": "elementary_mathematics"},
        {"question": "Which is a colour?", "choices": ["red", "run", "ten", "sky"], "answer": 0, "subject": "miscellaneous"},
    ]
    letters = [attn_only.tokenizer.encode(" " + l, add_special_tokens=False) for l in "ABCD"]
    letter_ids = [ids[0] if len(ids) == 1 else attn_only.tokenizer.encode(l, add_special_tokens=False)[0] for ids, l in zip(letters, "ABCD")]
    expected = []
    for example in data:
        prompt = f"Question: {example['question']}\nChoices:\n" + "\n".join(
            f"{l}. {c}" for l, c in zip("ABCD", example["choices"])
        ) + "\nAnswer:"
        expected.append(int(attn_only(prompt)[0, -1, letter_ids].argmax()) == example["answer"])
    result = evals.mmlu_eval(attn_only, data=data)
    assert result["num_total"] == 2 and result["num_correct"] == sum(expected)
    assert result["subject_scores"] == {"elementary_mathematics": float(expected[0]), "miscellaneous": float(expected[1])}


def test_mmlu_rejects_unknown_subjects():
    with pytest.raises(ValueError, match="Invalid subject"):
        evals.make_mmlu_data_loader("astrology")


@pytest.mark.parametrize("loader", [evals.make_pile_data_loader, evals.make_wiki_data_loader])
def test_hub_loaders_say_what_they_need_offline(loader, attn_only):
    with pytest.raises((ImportError, RuntimeError)) as error:
        loader(attn_only.tokenizer)
    message = str(error.value)
    assert "\n" not in message and ("datasets" in message or "hub" in message)


def test_evaluate_on_dataset_averages_batch_losses(attn_only):
    batches = [{"tokens": attn_only.to_tokens(["def f(x):", "return x + 1"])} for _ in range(3)]
    expected = attn_only(batches[0]["tokens"], return_type="loss").item()
    assert evals.evaluate_on_dataset(attn_only, batches, truncate=1) == pytest.approx(expected, rel=1e-5)
