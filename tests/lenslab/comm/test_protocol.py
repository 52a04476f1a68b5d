"""The protocol module: validation of every message kind and the JSON Schema the TypeScript tests read."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from lenslab.comm import protocol as p

FIXTURE = Path(__file__).resolve().parents[3] / "labext" / "test" / "fixtures" / "protocol.schema.json"
REQUEST_EXAMPLES = [m.to_wire() for m in p.EXAMPLES if m.DIRECTION == "request"]
KERNEL_EXAMPLES = [m.to_wire() for m in p.EXAMPLES if m.DIRECTION == "kernel"]


def test_schema_fixture_is_current():
    """The TypeScript tests read this file; regenerate it with `python -m lenslab.comm --write`."""
    current = json.dumps(p.json_schema(), indent=2) + "\n"
    if os.environ.get("LENSLAB_UPDATE_FIXTURES") == "1":
        FIXTURE.write_text(current)
    assert FIXTURE.read_text() == current, "labext/test/fixtures/protocol.schema.json is stale: run python -m lenslab.comm --write"


def test_every_message_type_has_an_example_and_the_schema_is_valid(schema_validator):
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(p.json_schema())
    assert {m["type"] for m in REQUEST_EXAMPLES} == set(p.REQUESTS)
    assert {m["type"] for m in KERNEL_EXAMPLES} == set(p.KERNEL_MESSAGES)
    for example in REQUEST_EXAMPLES + KERNEL_EXAMPLES:
        schema_validator.validate(example)


@pytest.mark.parametrize("example", REQUEST_EXAMPLES, ids=lambda m: m["type"])
def test_every_request_type_parses_to_its_dataclass(example):
    message = p.parse_request(copy.deepcopy(example))
    assert type(message) is p.REQUESTS[example["type"]]
    assert message.to_wire() == example


@pytest.mark.parametrize("example", KERNEL_EXAMPLES, ids=lambda m: m["type"])
def test_every_kernel_message_round_trips(example):
    assert p.parse_kernel_message(copy.deepcopy(example)).to_wire() == example


def _without(message: dict, key: str) -> dict:
    return {k: v for k, v in message.items() if k != key}


HOOKS = {"v": 4, "type": "list_hooks", "id": "a1", "model": "model"}
RUN = next(m for m in REQUEST_EXAMPLES if m["type"] == "run_patch")

# (message, error code, words the message must contain, id the error names, type it names)
BAD = {
    "not an object": ([1, 2], "bad_message", "JSON object", None, None),
    "a string": ("list_models", "bad_message", "JSON object", None, None),
    "no version": (_without(HOOKS, "v"), "bad_message", "'v'", "a1", "list_hooks"),
    "newer version": ({**HOOKS, "v": 5}, "unsupported_version", "version 4", "a1", "list_hooks"),
    "older version": ({**HOOKS, "v": 3}, "unsupported_version", "version 4", "a1", "list_hooks"),
    "lone surrogate in a prompt": (
        {"v": 4, "type": "tokenize", "id": "a1", "model": "m", "prompts": ["ok", "a\udc80"], "answers": []},
        "bad_message", "'prompts[1]' is not valid Unicode text: a lone surrogate '\\udc80' at character 1", "a1", "tokenize",
    ),
    "boolean version": ({**HOOKS, "v": True}, "unsupported_version", "version", "a1", "list_hooks"),
    "no type": (_without(HOOKS, "type"), "bad_message", "'type'", "a1", None),
    "numeric type": ({**HOOKS, "type": 7}, "bad_message", "'type'", "a1", None),
    "unknown type": ({**HOOKS, "type": "exec"}, "unknown_type", "'exec'", "a1", "exec"),
    "reply type as request": ({**HOOKS, "type": "result"}, "unknown_type", "'result'", "a1", "result"),
    "no id": (_without(HOOKS, "id"), "bad_message", "'id'", None, "list_hooks"),
    "bad id": ({**HOOKS, "id": "a b"}, "bad_message", "'id'", None, "list_hooks"),
    "long id": ({**HOOKS, "id": "x" * 65}, "bad_message", "'id'", None, "list_hooks"),
    "missing field": (_without(HOOKS, "model"), "bad_message", "missing field 'model'", "a1", "list_hooks"),
    "unexpected field": ({**HOOKS, "code": "import os"}, "bad_message", "unexpected field 'code'", "a1", "list_hooks"),
    "model not a name": ({**HOOKS, "model": "model.eval()"}, "bad_message", "'model'", "a1", "list_hooks"),
    "model not a string": ({**HOOKS, "model": ["model"]}, "bad_message", "must be a string", "a1", "list_hooks"),
    "empty model": ({**HOOKS, "model": ""}, "bad_message", "must not be empty", "a1", "list_hooks"),
    "hook with spaces": (
        {"v": 4, "type": "describe_hook", "id": "a1", "model": "m", "hook": "blocks.0 hook"},
        "bad_message", "'hook'", "a1", "describe_hook",
    ),
    "job id not an integer": ({"v": 4, "type": "cancel", "id": "a1", "job_id": "1"}, "bad_message", "integer", "a1", "cancel"),
    "job id a float": ({"v": 4, "type": "cancel", "id": "a1", "job_id": 1.5}, "bad_message", "integer", "a1", "cancel"),
    "job id a boolean": ({"v": 4, "type": "get_result", "id": "a1", "job_id": True}, "bad_message", "integer", "a1", "get_result"),
    "job id zero": ({"v": 4, "type": "cancel", "id": "a1", "job_id": 0}, "bad_message", ">= 1", "a1", "cancel"),
    "job not an object": ({**RUN, "job": "resid_pre"}, "bad_message", "must be an object", RUN["id"], "run_patch"),
    "unknown kind": ({**RUN, "job": {**RUN["job"], "kind": "everything"}}, "bad_message", "'job.kind' must be one of", RUN["id"], "run_patch"),
    "unknown metric": ({**RUN, "job": {**RUN["job"], "metric": "lambda l: l"}}, "bad_message", "'job.metric'", RUN["id"], "run_patch"),
    "missing prompt": ({**RUN, "job": _without(RUN["job"], "clean_prompt")}, "bad_message", "'job.clean_prompt'", RUN["id"], "run_patch"),
    "extra job field": ({**RUN, "job": {**RUN["job"], "batch_size": 4}}, "bad_message", "'job.batch_size'", RUN["id"], "run_patch"),
    "prompt too long": ({**RUN, "job": {**RUN["job"], "clean_prompt": "a" * 4001}}, "bad_message", "at most 4000", RUN["id"], "run_patch"),
    "empty answer": ({**RUN, "job": {**RUN["job"], "correct_answer": ""}}, "bad_message", "must not be empty", RUN["id"], "run_patch"),
    "too many prompts": (
        {"v": 4, "type": "tokenize", "id": "a1", "model": "m", "prompts": ["a"] * 5, "answers": []},
        "bad_message", "at most 4", "a1", "tokenize",
    ),
    "prompts not a list": (
        {"v": 4, "type": "tokenize", "id": "a1", "model": "m", "prompts": "a", "answers": []},
        "bad_message", "must be an array", "a1", "tokenize",
    ),
    "a prompt not a string": (
        {"v": 4, "type": "tokenize", "id": "a1", "model": "m", "prompts": ["a", 3], "answers": []},
        "bad_message", "'prompts[1]'", "a1", "tokenize",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_requests_are_rejected_with_a_reason(case, schema_validator):
    message, code, words, error_id, error_type = BAD[case]
    with pytest.raises(p.ProtocolError) as info:
        p.parse_request(message)
    error = info.value
    assert (error.code, error.request_id, error.request_type) == (code, error_id, error_type)
    assert words in error.message
    # The exported schema agrees, except for what only the kernel can judge: JSON Schema
    # strings may hold lone surrogates, which no tokenizer takes.
    if case != "lone surrogate in a prompt":
        assert not schema_validator.is_valid(message)


@pytest.mark.parametrize("field, value", [("id", "a1\n"), ("model", "model\n"), ("hook", "blocks.0.hook_z\n")])
def test_a_trailing_newline_does_not_pass_a_pattern(field, value):
    """Python's "$" also matches before a final newline; the kernel matches whole strings, as
    JSON Schema's ECMA-262 patterns do (python-jsonschema's re.search would let it through)."""
    message = {"v": 4, "type": "describe_hook", "id": "a1", "model": "model", "hook": "blocks.0.hook_z", field: value}
    with pytest.raises(p.ProtocolError) as info:
        p.parse_request(message)
    assert info.value.code == "bad_message" and f"'{field}'" in info.value.message


def test_non_ascii_identifiers_are_model_names_and_other_text_is_not():
    for name in ("model", "modèle", "模型", "_m2", "ünïcödé"):
        assert p.parse_request({"v": 4, "type": "list_hooks", "id": "a1", "model": name}).model == name  # type: ignore[attr-defined]
        assert p.is_model_name(name)
    for name in ("2model", "a b", "a-b", "model()", "a€"):
        assert not p.is_model_name(name)


def test_json_values_are_sanitised():
    wire = p.Result(
        id="a", job=next(m for m in p.EXAMPLES if isinstance(m, p.Result)).job,
        shape=[3], values=[float("nan"), float("inf"), 1.5], widget_model_id=None, code="", clean_metric=float("-inf"), corrupted_metric=0.0,
    ).to_wire()
    assert wire["values"] == [None, None, 1.5] and wire["clean_metric"] is None
    json.dumps(wire, allow_nan=False)


def test_python_m_lenslab_comm_writes_the_fixture(tmp_path):
    from lenslab.comm.__main__ import main

    target = tmp_path / "schema.json"
    assert main(["lenslab.comm", "--write", str(target)]) == 0
    assert json.loads(target.read_text()) == p.json_schema()
