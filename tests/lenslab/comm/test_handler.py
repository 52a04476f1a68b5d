"""The comm handler against a fake comm: every request type, every bad message, and patch jobs."""

from __future__ import annotations

import pytest
from sidebar_fakes import IOI, job, request

from lenslab.comm import protocol as p
from lenslab.comm.recipes import METRICS, PATCH_KINDS
from transformer_lens import hook_names


def test_hello_answers_with_the_version_kinds_and_metrics(session):
    panel, handler = session
    handler.handle(request("hello", "h1"))
    welcome = panel.last()
    assert welcome["type"] == "welcome" and welcome["id"] == "h1"
    assert welcome["protocol"] == p.PROTOCOL_VERSION and welcome["lenslab_version"]
    assert [k["name"] for k in welcome["patch_kinds"]] == list(PATCH_KINDS)
    assert [m["name"] for m in welcome["metrics"]] == list(METRICS)
    assert typingless(p.PatchKind) == set(PATCH_KINDS) and typingless(p.Metric) == set(METRICS)


def typingless(literal) -> set:
    import typing

    return set(typing.get_args(literal))


def test_list_models_finds_hooked_models_by_public_name(session, lm):
    panel, handler = session
    handler.handle(request("list_models", "m1"))
    reply = panel.last()
    assert reply["type"] == "models" and reply["id"] == "m1"
    models = {m["name"]: m for m in reply["models"]}
    assert set(models) == {"model", "attn", "bare"}  # not _hidden, x, In, Out
    info = models["model"]
    assert (info["n_layers"], info["n_heads"], info["d_model"], info["d_head"], info["d_mlp"]) == (2, 4, 32, 8, 64)
    assert info["class_name"] == "HookedTransformer" and info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["checkpoint"] is None  # built from a config: named by its class in the panel
    assert info["n_hooks"] == len(lm.hook_dict) and info["has_tokenizer"] is True
    assert info["patch_kinds"] == list(PATCH_KINDS)
    assert models["attn"]["d_mlp"] is None
    assert "mlp_out" not in models["attn"]["patch_kinds"] and "block_every" not in models["attn"]["patch_kinds"]
    assert "heads_by_pos" in models["attn"]["patch_kinds"]
    assert models["bare"]["has_tokenizer"] is False


def test_list_models_with_an_empty_namespace(make_panel, runner):
    from lenslab.comm.handler import SidebarHandler

    panel = make_panel()
    SidebarHandler(panel.send, dict, runner).handle(request("list_models"))
    assert panel.last()["models"] == []


def test_a_pretrained_model_is_named_by_its_checkpoint(make_panel, runner):
    from lenslab.comm.handler import SidebarHandler
    from transformer_lens import HookedTransformer

    model = HookedTransformer.from_pretrained("lenslab/gelu-2l")
    panel = make_panel()
    SidebarHandler(panel.send, lambda: {"model": model}, runner).handle(request("list_models"))
    (info,) = panel.last()["models"]
    assert (info["name"], info["checkpoint"], info["architecture"]) == ("model", "lenslab/gelu-2l", model.cfg.original_architecture)


def test_list_hooks_gives_every_hook_with_its_table_entry(session, lm):
    panel, handler = session
    handler.handle(request("list_hooks", "k1", model="model"))
    reply = panel.last()
    assert reply["type"] == "hooks" and reply["model"] == "model"
    assert [h["name"] for h in reply["hooks"]] == list(lm.hook_dict)
    z = next(h for h in reply["hooks"] if h["name"] == "blocks.1.attn.hook_z")
    spec = hook_names.spec_for("blocks.1.attn.hook_z")
    assert z == {
        "name": "blocks.1.attn.hook_z", "layer": 1, "component": "attn", "shape": list(spec.shape),
        "description": spec.description, "silent": None,
    }
    embed = next(h for h in reply["hooks"] if h["name"] == "hook_embed")
    assert embed["layer"] is None and embed["component"] == "embed"


def test_hooks_that_never_fire_are_marked_with_the_switch_and_unmarked_once_on(session, lm):
    panel, handler = session

    def silent_names() -> dict[str, str]:
        handler.handle(request("list_hooks", model="model"))
        return {h["name"]: h["silent"] for h in panel.last()["hooks"] if h["silent"]}

    fired = set()
    lm.run_with_hooks(lm.to_tokens("a b"), fwd_hooks=[(lambda n: True, lambda a, hook: fired.add(hook.name))])
    silent = silent_names()
    assert set(silent) == set(lm.hook_dict) - fired  # the oracle: what actually fires
    assert "model.set_use_attn_result(True)" in silent["blocks.0.attn.hook_result"]
    lm.set_use_attn_result(True)
    try:
        assert "blocks.0.attn.hook_result" not in silent_names()
    finally:
        lm.set_use_attn_result(False)


def test_describe_hook_gives_concrete_sizes(session):
    panel, handler = session
    handler.handle(request("describe_hook", "d1", model="model", hook="blocks.0.attn.hook_z"))
    reply = panel.last()
    assert reply["type"] == "hook_info" and reply["hook"]["shape"] == ["batch", "pos", "head_index", "d_head"]
    assert reply["sizes"] == [None, None, 4, 8]
    handler.handle(request("describe_hook", "d2", model="model", hook="blocks.1.mlp.hook_post"))
    assert panel.last()["sizes"] == [None, None, 64]


def test_unknown_hook_is_an_error_with_suggestions(session):
    panel, handler = session
    handler.handle(request("describe_hook", "d3", model="model", hook="blocks.0.attn.hook_zz"))
    error = panel.last()
    assert (error["type"], error["id"], error["request_type"], error["code"]) == ("error", "d3", "describe_hook", "unknown_hook")
    assert "blocks.0.attn.hook_z" in error["message"]


@pytest.mark.parametrize("type_,fields", [
    ("list_hooks", {}),
    ("describe_hook", {"hook": "hook_embed"}),
    ("tokenize", {"prompts": ["a"], "answers": []}),
    ("run_patch", None),
])
def test_unknown_models_are_errors_naming_the_known_ones(session, type_, fields):
    panel, handler = session
    message = request(type_, "u1", job=job(model="modle")) if fields is None else request(type_, "u1", model="modle", **fields)
    handler.handle(message)
    error = panel.last()
    assert (error["type"], error["id"], error["request_type"], error["code"]) == ("error", "u1", type_, "unknown_model")
    assert "'modle'" in error["message"] and "attn, bare, model" in error["message"]


def test_a_non_model_variable_is_not_a_model(session):
    panel, handler = session
    handler.handle(request("list_hooks", model="x"))
    assert panel.last()["code"] == "unknown_model"


def test_tokenize_splits_prompts_with_bos_and_answers_without(session, lm):
    panel, handler = session
    handler.handle(request("tokenize", "t1", model="model", prompts=[IOI["clean_prompt"], "Hi"], answers=[" Mary", " Johnathan"]))
    reply = panel.last()
    assert reply["type"] == "tokens" and reply["n_ctx"] == 64
    clean, hi = reply["prompts"]
    assert clean["tokens"] == lm.to_str_tokens(IOI["clean_prompt"]) and clean["tokens"][0] == "<|endoftext|>"
    assert hi == {"text": "Hi", "tokens": ["<|endoftext|>", "Hi"], "n_tokens": 2}
    assert reply["answers"][0]["tokens"] == [" Mary"] and len(reply["answers"][1]["tokens"]) > 1


def test_a_tokens_reply_stays_within_its_limit_and_gives_the_full_count(session, lm):
    panel, handler = session
    prompt = "\U0001f9ea\U0001f52c" * 2000  # 4,000 characters, several byte-level tokens each
    handler.handle(request("tokenize", "t3", model="model", prompts=[prompt], answers=[]))
    (text,) = panel.last()["prompts"]  # the fake panel validated the reply against the schema
    n_ids = lm.to_tokens(prompt, truncate=False).shape[1]
    assert n_ids > p.MAX_REPLY_TOKENS
    assert text["n_tokens"] == n_ids and len(text["tokens"]) == p.MAX_REPLY_TOKENS
    assert text["tokens"] == lm.to_str_tokens(lm.to_tokens(prompt, truncate=False)[0, : p.MAX_REPLY_TOKENS])


def test_tokenize_without_a_tokenizer(session):
    panel, handler = session
    handler.handle(request("tokenize", "t2", model="bare", prompts=["a"], answers=[]))
    assert (panel.last()["code"], panel.last()["id"]) == ("no_tokenizer", "t2")


BAD_WIRE = [
    ("garbage", None, None, "bad_message"),
    ({"v": 4, "type": "hello", "id": "b7\n"}, None, "hello", "bad_message"),  # "$" must not allow a newline
    ({"v": 4, "type": "list_hooks", "id": "b8", "model": "model\n"}, "b8", "list_hooks", "bad_message"),
    ({"v": 4, "type": "tokenize", "id": "b9", "model": "model", "prompts": ["a\ud800b"], "answers": []}, "b9", "tokenize", "bad_message"),
    ({"type": "hello", "id": "b1"}, "b1", "hello", "bad_message"),
    ({"v": 99, "type": "hello", "id": "b2"}, "b2", "hello", "unsupported_version"),
    ({"v": 4, "type": "eval", "id": "b3", "code": "1"}, "b3", "eval", "unknown_type"),
    ({"v": 4, "type": "list_hooks", "id": "b4"}, "b4", "list_hooks", "bad_message"),
    ({"v": 4, "type": "list_models", "id": "b5", "filter": "x"}, "b5", "list_models", "bad_message"),
    ({"v": 4, "type": "cancel", "id": "b6", "job_id": "all"}, "b6", "cancel", "bad_message"),
]


@pytest.mark.parametrize("message,error_id,error_type,code", BAD_WIRE, ids=[c[-1] + str(i) for i, c in enumerate(BAD_WIRE)])
def test_bad_messages_get_an_error_reply_and_the_handler_keeps_working(session, message, error_id, error_type, code):
    panel, handler = session
    handler.handle(message)
    error = panel.last()
    assert (error["type"], error["id"], error["request_type"], error["code"]) == ("error", error_id, error_type, code)
    handler.handle(request("hello", "after"))
    assert panel.last()["type"] == "welcome"


def test_a_bug_in_a_handler_is_an_internal_error(make_panel, runner, caplog):
    from lenslab.comm.handler import SidebarHandler

    def broken_namespace():
        raise RuntimeError("namespace exploded")

    panel = make_panel()
    handler = SidebarHandler(panel.send, broken_namespace, runner)
    import transformer_lens  # noqa: F401 - so the handler reads the namespace

    handler.handle(request("list_models", "i1"))
    error = panel.last()
    assert (error["code"], error["id"], error["request_type"]) == ("internal", "i1", "list_models")
    assert "namespace exploded" in error["message"]
    handler.handle(request("hello", "i2"))
    assert panel.last()["type"] == "welcome"


# ---- invalid jobs: refused before they start ------------------------------------------------------


@pytest.mark.parametrize("overrides,words", [
    ({"corrupted_prompt": "When Mary and John went to the store, Mary gave a drink to her"}, "same number of tokens"),
    ({"correct_answer": " Maryanne-Louise"}, "correct answer must be one token"),
    ({"incorrect_answer": " Mary"}, "same token"),
    ({"incorrect_answer": ""}, "needs an incorrect answer"),
    ({"model": "attn", "kind": "mlp_out"}, "attention-only: it has no MLP outputs"),
    ({"model": "attn", "kind": "block_every"}, "cannot run 'block_every' patching"),
    ({"model": "bare"}, "no tokenizer"),
    ({"clean_prompt": "word " * 80, "corrupted_prompt": "word " * 80}, "at most n_ctx = 64"),
])
def test_invalid_jobs_are_refused_with_the_reason(session, runner, overrides, words):
    panel, handler = session
    handler.handle(request("run_patch", "j0", job=job(**overrides)))
    error = panel.last()
    assert (error["type"], error["id"], error["request_type"], error["code"]) == ("error", "j0", "run_patch", "invalid_job")
    assert words in error["message"]
    assert runner.records() == []


def test_correct_logprob_needs_no_incorrect_answer(session, runner):
    panel, handler = session
    handler.handle(request("run_patch", "j1", job=job(metric="correct_logprob", incorrect_answer="")))
    result = panel.wait_for("result")
    assert result["job"]["status"] == "done"


def test_a_model_bound_to_a_non_ascii_name_is_listed_and_usable(make_panel, runner, lm):
    from lenslab.comm.handler import SidebarHandler

    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: {"modèle": lm, "模型": lm}, runner)
    handler.handle(request("list_models", "u1"))
    assert [m["name"] for m in panel.last()["models"]] == ["modèle", "模型"]
    for name in ("modèle", "模型"):
        handler.handle(request("list_hooks", "u2", model=name))
        assert panel.last()["type"] == "hooks" and panel.last()["model"] == name
    handler.handle(request("run_patch", "u3", job=job(model="modèle")))
    result = panel.wait_for("result", lambda m: m["id"] == "u3")
    assert f"clean_tokens_{result['job']['job_id']} = modèle.to_tokens(" in result["code"]
    assert runner.wait_idle(60)


class Hostile:
    """An object in the user's namespace whose every attribute access raises, __class__ included."""

    def __getattribute__(self, name):
        raise RuntimeError(f"no {name} for you")


def test_an_object_whose_class_raises_does_not_break_list_models(make_panel, runner, lm):
    from lenslab.comm.handler import SidebarHandler

    panel = make_panel()
    handler = SidebarHandler(panel.send, lambda: {"weird": Hostile(), "model": lm, "a b": lm}, runner)
    import transformer_lens  # noqa: F401 - so the handler reads the namespace

    handler.handle(request("list_models", "h1"))
    reply = panel.last()
    assert reply["type"] == "models" and [m["name"] for m in reply["models"]] == ["model"]
