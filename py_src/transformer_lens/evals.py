"""Quick evaluations of a language model: a sanity-check loss, induction, IOI, corpora, MMLU.

``sanity_check``, ``induction_loss``, ``IOIDataset``/``ioi_eval`` and ``evaluate_on_dataset`` need no
network. The corpus loaders (``make_*_data_loader``, ``evaluate``) and MMLU read datasets from the
Hugging Face hub, and say so in one line when it cannot be reached.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterable, Optional, Union

import torch

from transformer_lens.loss import lm_cross_entropy_loss

__all__ = [
    "DATASET_LOADERS",
    "DATASET_NAMES",
    "IOIDataset",
    "MMLU_ANSWER_LETTERS",
    "MMLU_SUBJECTS",
    "evaluate",
    "evaluate_on_dataset",
    "induction_loss",
    "ioi_eval",
    "make_code_data_loader",
    "make_mmlu_data_loader",
    "make_owt_data_loader",
    "make_pile_data_loader",
    "make_wiki_data_loader",
    "mmlu_eval",
    "sanity_check",
]

_SANITY_TEXT = (
    "Interpretability research asks what a trained network computes and how. We run the model on "
    "chosen inputs, record what every layer produces, and test our explanations by changing those "
    "activations and watching the output change in the way the explanation predicts."
)


def _model_device(model: Any) -> torch.device:
    return next(model.parameters()).device


def sanity_check(model: Any) -> torch.Tensor:
    """The model's mean next-token loss on a fixed English paragraph: a trained model scores well below ``log(d_vocab)``."""
    return model(_SANITY_TEXT, return_type="loss")


@torch.no_grad()
def induction_loss(
    model: Any,
    tokenizer: Any = None,
    batch_size: int = 4,
    subseq_len: int = 384,
    prepend_bos: Optional[bool] = None,
    device: Optional[Union[str, torch.device]] = None,
) -> torch.Tensor:
    """Mean loss on the second copy of random token sequences repeated twice.

    A model with induction heads predicts the repeat well (loss far below that of the first copy).
    Tokens are drawn from ids 100 to ``min(20000, d_vocab)``; with ``prepend_bos`` (default: the
    model's setting) the first token is replaced by BOS. ``2 * subseq_len`` must fit in ``n_ctx``.
    """
    if 2 * subseq_len > model.cfg.n_ctx:
        raise ValueError(f"2 * subseq_len = {2 * subseq_len} tokens do not fit in the model's n_ctx = {model.cfg.n_ctx}")
    device = device if device is not None else _model_device(model)
    high = min(20000, model.cfg.d_vocab)
    if high <= 100:
        raise ValueError(f"induction_loss draws token ids from 100 up, but d_vocab is {model.cfg.d_vocab}")
    first_half = torch.randint(100, high, (batch_size, subseq_len))
    tokens = first_half.repeat(1, 2).to(device)
    prepend_bos = model.cfg.default_prepend_bos if prepend_bos is None else prepend_bos
    if prepend_bos:
        tokenizer = tokenizer if tokenizer is not None else model.tokenizer
        tokens[:, 0] = tokenizer.bos_token_id
    logits = model(tokens, return_type="logits")
    per_token = lm_cross_entropy_loss(logits, tokens, per_token=True)
    # per_token[:, i] is the loss of predicting token i + 1; keep the predictions inside the second copy.
    return per_token[:, subseq_len + 1 :].mean()


@torch.no_grad()
def evaluate_on_dataset(
    model: Any, data_loader: Iterable[dict], truncate: int = 100, device: Optional[Union[str, torch.device]] = None
) -> float:
    """Mean loss over the batches of a loader of ``{"tokens": "batch pos"}``, stopping after ``truncate + 1`` batches."""
    device = device if device is not None else _model_device(model)
    total, count = 0.0, 0
    for batch in data_loader:
        total += model(batch["tokens"].to(device), return_type="loss").mean().item()
        count += 1
        if count > truncate:
            break
    if count == 0:
        raise ValueError("evaluate_on_dataset got an empty data loader")
    return total / count


# ---- corpora from the hub --------------------------------------------------------------


def _hub_data_loader(name: str, column: str, tokenizer: Any, batch_size: int, *load_args: Any, **load_kwargs: Any) -> Any:
    from torch.utils.data import DataLoader

    from transformer_lens.utilities.hf_utils import _hub_error
    from transformer_lens.utilities.tokenize_utils import tokenize_and_concatenate

    try:
        from datasets import load_dataset
    except ImportError:
        raise ImportError(f"loading {name} needs the 'datasets' package (pip install datasets)") from None
    try:
        data = load_dataset(*load_args, split="train", **load_kwargs)
    except Exception as error:  # offline, or the dataset moved: one line naming it
        raise _hub_error(f"the {name} data loader ({load_args[0]})", error) from None
    dataset = tokenize_and_concatenate(data, tokenizer, column_name=column)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)


def make_wiki_data_loader(tokenizer: Any, batch_size: int = 8) -> Any:
    """Shuffled batches of ``{"tokens"}`` from WikiText-2 (hub)."""
    return _hub_data_loader("wiki", "text", tokenizer, batch_size, "wikitext", "wikitext-2-v1")


def make_owt_data_loader(tokenizer: Any, batch_size: int = 8) -> Any:
    """Shuffled batches of ``{"tokens"}`` from 10k OpenWebText documents (hub)."""
    return _hub_data_loader("owt", "text", tokenizer, batch_size, "stas/openwebtext-10k")


def make_pile_data_loader(tokenizer: Any, batch_size: int = 8) -> Any:
    """Shuffled batches of ``{"tokens"}`` from 10k Pile documents (hub)."""
    return _hub_data_loader("pile", "text", tokenizer, batch_size, "NeelNanda/pile-10k")


def make_code_data_loader(tokenizer: Any, batch_size: int = 8) -> Any:
    """Shuffled batches of ``{"tokens"}`` from CodeParrot's Python validation set (hub)."""
    return _hub_data_loader("code", "content", tokenizer, batch_size, "codeparrot/codeparrot-valid-v2-near-dedup")


DATASET_NAMES = ["wiki", "owt", "pile", "code"]
DATASET_LOADERS: list[Callable[..., Any]] = [
    make_wiki_data_loader,
    make_owt_data_loader,
    make_pile_data_loader,
    make_code_data_loader,
]


def evaluate(model: Any, truncate: int = 100, batch_size: int = 8, tokenizer: Any = None) -> dict[str, float]:
    """``{"<corpus>_loss": mean loss}`` on each hub corpus of ``DATASET_NAMES``; prints each as it goes."""
    tokenizer = tokenizer if tokenizer is not None else model.tokenizer
    losses = {}
    for name, make_loader in zip(DATASET_NAMES, DATASET_LOADERS):
        loss = evaluate_on_dataset(model, make_loader(tokenizer=tokenizer, batch_size=batch_size), truncate=truncate)
        print(f"{name}: {loss}")
        losses[f"{name}_loss"] = loss
    return losses


# ---- indirect object identification ----------------------------------------------------


class IOIDataset(torch.utils.data.Dataset):
    """Indirect-object-identification prompts: "[A] and [B] went to the store. [B] gave the milk to" -> " [A]".

    Each sample is a full sentence ending with the indirect object; items are token tensors
    ``{"prompt", "IO", "S"}`` (IO: the right name, S: the subject, both with a leading space).
    ``templates`` use ``[A]`` (the indirect object), ``[B]`` (the subject) and ``[NOUN_KIND]`` slots filled
    from ``nouns``. ``symmetric`` adds each sample with the two names swapped. ``seed`` makes the
    samples reproducible (without it they follow Python's global random state).
    """

    def __init__(
        self,
        tokenizer: Any,
        templates: Optional[list[str]] = None,
        names: Optional[list[str]] = None,
        nouns: Optional[dict[str, list[str]]] = None,
        num_samples: int = 1000,
        symmetric: bool = False,
        prepend_bos: bool = True,
        seed: Optional[int] = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.prepend_bos = prepend_bos
        self.templates = templates if templates is not None else self.get_default_templates()
        self.names = names if names is not None else self.get_default_names()
        self.nouns = nouns if nouns is not None else self.get_default_nouns()
        if len(self.names) < 2:
            raise ValueError("IOIDataset needs at least two names")
        rng = random.Random(seed) if seed is not None else random
        self._rng = rng
        self.samples: list[dict[str, str]] = []
        for _ in range(num_samples // 2 if symmetric else num_samples):
            self.samples.extend(self.get_sample(symmetric=symmetric))

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        sample = self.samples[index]
        prompt = self._encode(sample["text"])
        if self.prepend_bos:
            prompt = [self.tokenizer.bos_token_id, *prompt]
        return {
            "prompt": torch.tensor(prompt, dtype=torch.long),
            "IO": torch.tensor(self._encode(sample["IO"]), dtype=torch.long),
            "S": torch.tensor(self._encode(sample["S"]), dtype=torch.long),
        }

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def get_sample(self, symmetric: bool = False) -> list[dict[str, str]]:
        """One filled-in template (two, with the names swapped, when ``symmetric``): ``{"text", "IO", "S"}``."""
        template = self._rng.choice(self.templates)
        for kind, choices in self.nouns.items():
            template = template.replace(f"[{kind}]", self._rng.choice(choices))
        io_name, subject = self._rng.sample(self.names, 2)
        pairs = [(io_name, subject), (subject, io_name)] if symmetric else [(io_name, subject)]
        return [
            {"text": template.replace("[A]", a).replace("[B]", b), "IO": " " + a, "S": " " + b}
            for a, b in pairs
        ]

    @staticmethod
    def get_default_names() -> list[str]:
        return ["John", "Mary"]

    @staticmethod
    def get_default_templates() -> list[str]:
        return [
            "[A] and [B] went to the [LOCATION] to buy [OBJECT]. [B] handed the [OBJECT] to [A]",
            "Then, [B] and [A] went to the [LOCATION]. [B] gave the [OBJECT] to [A]",
        ]

    @staticmethod
    def get_default_nouns() -> dict[str, list[str]]:
        return {"LOCATION": ["store", "market"], "OBJECT": ["milk", "eggs", "bread"]}


@torch.no_grad()
def ioi_eval(
    model: Any,
    dataset: Optional[IOIDataset] = None,
    batch_size: int = 8,
    num_samples: int = 1000,
    tokenizer: Any = None,
    symmetric: bool = False,
) -> dict[str, float]:
    """``{"Logit Difference", "Accuracy"}``: how much the model prefers the indirect object over the subject.

    Compared at the first token where the two names differ, predicted from the position before it.
    """
    tokenizer = tokenizer if tokenizer is not None else model.tokenizer
    dataset = dataset if dataset is not None else IOIDataset(tokenizer, num_samples=num_samples, symmetric=symmetric)
    if len(dataset) == 0:
        raise ValueError("ioi_eval got an empty dataset")
    device = _model_device(model)
    items = [dataset[index] for index in range(len(dataset))]
    total_correct, total_logit_diff = 0, 0.0
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        prompts = torch.nn.utils.rnn.pad_sequence([item["prompt"] for item in batch], batch_first=True)
        logits = model(prompts.to(device), return_type="logits")
        for row, item in enumerate(batch):
            io, s = item["IO"], item["S"]
            shared = min(len(io), len(s))
            differ = (io[:shared] != s[:shared]).nonzero()
            if len(differ) == 0:
                raise ValueError("IOI names must differ in their tokens")
            first = int(differ[0])
            io_start = len(item["prompt"]) - len(io)  # the sentence ends with the IO name
            position_logits = logits[row, io_start + first - 1]
            logit_diff = (position_logits[io[first]] - position_logits[s[first]]).item()
            total_logit_diff += logit_diff
            total_correct += int(logit_diff > 0)
    return {"Logit Difference": total_logit_diff / len(items), "Accuracy": total_correct / len(items)}


# ---- MMLU ------------------------------------------------------------------------------

MMLU_SUBJECTS = [
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
    "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
    "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
    "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
    "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
    "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
    "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
    "world_religions",
]  # fmt: skip
MMLU_ANSWER_LETTERS = ["A", "B", "C", "D"]


def make_mmlu_data_loader(
    subjects: Optional[Union[str, list[str]]] = None, split: str = "test", num_samples: Optional[int] = None
) -> list[dict[str, Any]]:
    """MMLU questions from the hub (``cais/mmlu``): ``[{"question", "choices", "answer", "subject"}]``.

    ``subjects``: one name, a list, or None for all 57; ``num_samples`` caps each subject.
    """
    chosen = MMLU_SUBJECTS if subjects is None else [subjects] if isinstance(subjects, str) else list(subjects)
    unknown = sorted(set(chosen) - set(MMLU_SUBJECTS))
    if unknown:
        raise ValueError(f"Invalid subject(s) for MMLU: {', '.join(unknown)}; see transformer_lens.evals.MMLU_SUBJECTS")
    from transformer_lens.utilities.hf_utils import _hub_error

    try:
        from datasets import load_dataset
    except ImportError:
        raise ImportError("make_mmlu_data_loader needs the 'datasets' package (pip install datasets)") from None
    questions = []
    for subject in chosen:
        try:
            data = load_dataset("cais/mmlu", subject, split=split)
        except Exception as error:  # offline: one line naming the dataset
            raise _hub_error(f"make_mmlu_data_loader (cais/mmlu, {subject})", error) from None
        count = len(data) if num_samples is None else min(num_samples, len(data))
        for index in range(count):
            example = data[index]
            questions.append(
                {"question": example["question"], "choices": list(example["choices"]), "answer": int(example["answer"]), "subject": subject}
            )
    return questions


def _mmlu_prompt(question: str, choices: list[str]) -> str:
    lines = [f"Question: {question}", "Choices:"]
    lines += [f"{letter}. {choice}" for letter, choice in zip(MMLU_ANSWER_LETTERS, choices)]
    return "\n".join(lines) + "\nAnswer:"


@torch.no_grad()
def mmlu_eval(
    model: Any,
    tokenizer: Any = None,
    subjects: Optional[Union[str, list[str]]] = None,
    split: str = "test",
    num_samples: Optional[int] = None,
    data: Optional[list[dict[str, Any]]] = None,
) -> dict[str, Any]:
    """Zero-shot MMLU: the answer is the letter (A-D) with the highest logit after "Answer:".

    Returns ``{"accuracy", "num_correct", "num_total", "subject_scores"}``. ``data`` (same format as
    ``make_mmlu_data_loader``) skips the hub.
    """
    tokenizer = tokenizer if tokenizer is not None else model.tokenizer
    data = data if data is not None else make_mmlu_data_loader(subjects, split, num_samples)
    if not data:
        raise ValueError("No MMLU questions to evaluate")
    letter_ids = []
    for letter in MMLU_ANSWER_LETTERS:
        ids = tokenizer.encode(" " + letter, add_special_tokens=False)
        letter_ids.append(ids[0] if len(ids) == 1 else tokenizer.encode(letter, add_special_tokens=False)[0])
    correct: dict[str, int] = {}
    total: dict[str, int] = {}
    for example in data:
        logits = model(_mmlu_prompt(example["question"], example["choices"]), return_type="logits")
        n_choices = len(example["choices"])
        predicted = int(logits[0, -1, letter_ids[:n_choices]].argmax())
        subject = example.get("subject", "unknown")
        correct[subject] = correct.get(subject, 0) + int(predicted == example["answer"])
        total[subject] = total.get(subject, 0) + 1
    num_correct, num_total = sum(correct.values()), sum(total.values())
    return {
        "accuracy": num_correct / num_total,
        "num_correct": num_correct,
        "num_total": num_total,
        "subject_scores": {subject: correct[subject] / total[subject] for subject in total},
    }
