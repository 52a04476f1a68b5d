"""The sidebar form's example job (labext/src/examples.ts) suits the embedded models.

They are trained on Python source; on the example's clean prompt each model prefers the correct
answer clearly, and on the corrupted prompt it does not, so patching has something to restore.
Measured (float32, CPU): lenslab/attn-only-2l logit difference +12.41 clean, -9.43 corrupted;
lenslab/gelu-2l +4.70 clean, -3.94 corrupted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

EXAMPLES_TS = Path(__file__).resolve().parents[3] / "labext" / "src" / "examples.ts"

#: model -> (clean, corrupted) logit difference (correct - incorrect) at the last position.
MEASURED = {"lenslab/attn-only-2l": (12.41, -9.43), "lenslab/gelu-2l": (4.70, -3.94)}


def example_job() -> dict[str, str]:
    text = EXAMPLES_TS.read_text()
    body = re.search(r"// example-job-json-start\n.*?= (\{.*?\});\n// example-job-json-end", text, re.S)
    assert body, f"no example job between the markers in {EXAMPLES_TS}"
    return json.loads(body.group(1))


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_the_example_job_separates_clean_from_corrupted_on_the_embedded_model(name):
    from transformer_lens import HookedTransformer

    job = example_job()
    model = HookedTransformer.from_pretrained(name)
    clean, corrupted = model.to_tokens(job["clean"]), model.to_tokens(job["corrupted"])
    assert clean.shape == corrupted.shape, "patching needs prompts of the same length"
    correct, incorrect = model.to_single_token(job["correct"]), model.to_single_token(job["incorrect"])
    with torch.no_grad():
        diffs = [float(model(t)[0, -1, correct] - model(t)[0, -1, incorrect]) for t in (clean, corrupted)]
    assert diffs == pytest.approx(MEASURED[name], abs=0.01)
    assert diffs[0] > 2.0 and diffs[1] < 0.0  # clearly the correct answer on clean; not on corrupted
