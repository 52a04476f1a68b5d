"""The sidebar protocol: versioned JSON messages between the JupyterLab panel and the kernel.

Every message is a dataclass below. Its fields, with the constraints in their ``Annotated``
metadata, are the single definition of the wire contract: they give the JSON Schema
(:func:`json_schema`, written to ``labext/test/fixtures/protocol.schema.json``) that validates
incoming messages here (:func:`parse_request`, through ``jsonschema``) and from which the panel's
TypeScript types and ajv checks are generated (``jlpm gen:protocol``), so the sides cannot drift.
``docs/protocol.md`` describes the exchange.

Messages name objects (a model by its variable name, a hook by its name, a job by its id) and
fixed operations (a patch kind, a metric) only: nothing in a message is ever executed.
"""

from __future__ import annotations

import dataclasses
import typing
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Optional

from lenslab.comm._fields import Bounds, FieldError, Items, Text, build, is_valid, json_type, object_schema

PROTOCOL_VERSION = 4
COMM_TARGET = "lenslab.sidebar"

#: Patch kinds: the sweeps of ``transformer_lens.sweeps.SWEEPS`` that have a sidebar label, in
#: registry order (written out for the type checker; tests/transformer_lens/test_sweeps.py checks
#: the two agree, and the exported JSON Schema carries this list to the TypeScript side).
PatchKind = Literal[
    "resid_pre",
    "attn_out",
    "mlp_out",
    "block_every",
    "heads_all_pos",
    "heads_by_pos",
    "head_components_all_pos",
    "head_components_by_pos",
]
Metric = Literal["logit_diff", "normalized_logit_diff", "correct_logprob"]
JobStatus = Literal["queued", "running", "done", "cancelled", "failed"]
ErrorCode = Literal[
    "bad_message",  # not an object, a missing/unexpected field or a wrong type
    "unsupported_version",
    "unknown_type",
    "unknown_model",
    "unknown_hook",
    "unknown_job",
    "no_result",  # get_result for a job that did not finish
    "no_tokenizer",
    "invalid_job",  # well-formed, but the job cannot run (token lengths, missing MLPs, ...)
    "internal",  # a bug on the kernel side; the kernel keeps running
]


RequestId = Annotated[str, Text(64, 1, r"^[A-Za-z0-9_.:-]+$")]
# A variable name: ASCII or not (``modèle = HookedTransformer(...)``), as JSON Schema patterns
# and Python's re both read this; is_model_name adds Python's own identifier rule.
MODEL_NAME_PATTERN = r"^[A-Za-z_\u0080-\uffff][0-9A-Za-z_\u0080-\uffff]*$"
ModelName = Annotated[str, Text(128, 1, MODEL_NAME_PATTERN)]
HookName = Annotated[str, Text(200, 1, r"^[A-Za-z0-9_.]+$")]
Prompt = Annotated[str, Text(4000, 1)]
Answer = Annotated[str, Text(200, 1)]
JobId = Annotated[int, Bounds(minimum=1)]
Count = Annotated[int, Bounds(minimum=0)]
Label = Annotated[str, Text(500)]


def is_model_name(name: str) -> bool:
    """Whether ``name`` can name a model in a message: a Python identifier of at most 128 characters."""
    return name.isidentifier() and len(name) <= 128 and re.fullmatch(MODEL_NAME_PATTERN, name) is not None


class ProtocolError(Exception):
    """An incoming message the kernel refuses; becomes an ``error`` reply naming the request."""

    def __init__(self, code: str, message: str, request_id: Optional[str] = None, request_type: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.request_type = request_type


# ---- payload objects ------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchKindInfo:
    name: PatchKind
    label: Label
    function: Label  # the transformer_lens.patching function it calls


@dataclass(frozen=True)
class MetricInfo:
    name: Metric
    label: Label
    needs_incorrect: bool  # whether the incorrect answer is used


@dataclass(frozen=True)
class ModelInfo:
    name: ModelName
    # The checkpoint it was loaded from ("lenslab/gelu-2l", "gpt2"): cfg.model_name, None for
    # a model built from a config ("custom"). What the panel names the model by.
    checkpoint: Optional[Label]
    class_name: Label
    architecture: Label
    n_layers: Count
    n_heads: Count
    d_model: Count
    d_head: Count
    d_mlp: Optional[Count]
    d_vocab: Count
    n_ctx: Count
    device: Label
    dtype: Label
    n_hooks: Count
    has_tokenizer: bool
    patch_kinds: Annotated[list[PatchKind], Items(16)]  # kinds this model supports


@dataclass(frozen=True)
class HookInfo:
    name: HookName
    layer: Optional[Count]
    component: Label  # embed, attn, mlp, ln, resid, final or other (HOOK_SPECS' groups)
    shape: Annotated[list[Label], Items(8)]  # symbolic: batch, pos, head_index, d_head, ...
    description: Label
    # Why the hook never fires with the model's current settings (None: it fires), e.g.
    # "fires only with cfg.use_attn_result: model.set_use_attn_result(True)".
    silent: Optional[Label] = None


#: At most this many tokens per text in a ``tokens`` reply; ``n_tokens`` is the full count.
MAX_REPLY_TOKENS = 4096


@dataclass(frozen=True)
class TokenizedText:
    text: Annotated[str, Text(4000)]
    tokens: Annotated[list[Label], Items(MAX_REPLY_TOKENS)]  # the first MAX_REPLY_TOKENS tokens
    n_tokens: Count  # how many tokens the text has (more than len(tokens) when cut)


@dataclass(frozen=True)
class JobSpec:
    model: ModelName
    kind: PatchKind
    metric: Metric
    clean_prompt: Prompt
    corrupted_prompt: Prompt
    correct_answer: Answer
    incorrect_answer: Annotated[str, Text(200)]  # "" when the metric does not use it


@dataclass(frozen=True)
class JobRecord:
    job_id: JobId
    spec: JobSpec
    status: JobStatus
    done: Count
    total: Count
    elapsed_s: Optional[float]
    message: Optional[Label]  # why it failed


# ---- messages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """Base of every message; ``TYPE`` is its ``type`` on the wire."""

    TYPE: ClassVar[str] = ""
    DIRECTION: ClassVar[str] = ""  # "request" (panel -> kernel) or "kernel" (kernel -> panel)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict sent over the comm."""
        return {"v": PROTOCOL_VERSION, "type": self.TYPE, **_plain(self)}


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, float) and not math.isfinite(obj):  # NaN and infinities are not JSON
        return None
    return obj


# Requests: panel -> kernel. Each carries an id that every reply to it repeats.


@dataclass(frozen=True)
class Hello(Message):
    TYPE: ClassVar[str] = "hello"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId


@dataclass(frozen=True)
class ListModels(Message):
    TYPE: ClassVar[str] = "list_models"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId


@dataclass(frozen=True)
class ListHooks(Message):
    TYPE: ClassVar[str] = "list_hooks"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId
    model: ModelName


@dataclass(frozen=True)
class DescribeHook(Message):
    TYPE: ClassVar[str] = "describe_hook"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId
    model: ModelName
    hook: HookName


@dataclass(frozen=True)
class Tokenize(Message):
    TYPE: ClassVar[str] = "tokenize"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId
    model: ModelName
    prompts: Annotated[list[Prompt], Items(4)]  # tokenized as the model runs them (BOS by default)
    answers: Annotated[list[Answer], Items(4)]  # tokenized without BOS, as to_single_token does


@dataclass(frozen=True)
class RunPatch(Message):
    TYPE: ClassVar[str] = "run_patch"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId
    job: JobSpec


@dataclass(frozen=True)
class Cancel(Message):
    TYPE: ClassVar[str] = "cancel"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId
    job_id: JobId


@dataclass(frozen=True)
class ListJobs(Message):
    TYPE: ClassVar[str] = "list_jobs"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId


@dataclass(frozen=True)
class GetResult(Message):
    TYPE: ClassVar[str] = "get_result"
    DIRECTION: ClassVar[str] = "request"
    id: RequestId
    job_id: JobId


# Kernel -> panel: replies (id = the request's) and job events (id = the run_patch request's).


@dataclass(frozen=True)
class Welcome(Message):
    TYPE: ClassVar[str] = "welcome"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    protocol: int
    lenslab_version: Label
    patch_kinds: Annotated[list[PatchKindInfo], Items(16)]
    metrics: Annotated[list[MetricInfo], Items(16)]


@dataclass(frozen=True)
class Models(Message):
    TYPE: ClassVar[str] = "models"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    models: Annotated[list[ModelInfo], Items(1000)]


@dataclass(frozen=True)
class Hooks(Message):
    TYPE: ClassVar[str] = "hooks"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    model: ModelName
    hooks: Annotated[list[HookInfo], Items(100_000)]


@dataclass(frozen=True)
class HookDetail(Message):
    TYPE: ClassVar[str] = "hook_info"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    model: ModelName
    hook: HookInfo
    sizes: Annotated[list[Optional[Count]], Items(8)]  # concrete size per shape entry; null for batch/pos


@dataclass(frozen=True)
class Tokens(Message):
    TYPE: ClassVar[str] = "tokens"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    model: ModelName
    n_ctx: Count
    prompts: Annotated[list[TokenizedText], Items(4)]
    answers: Annotated[list[TokenizedText], Items(4)]


@dataclass(frozen=True)
class JobStarted(Message):
    """The job was accepted (queued behind a running one, or started)."""

    TYPE: ClassVar[str] = "job_started"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    job: JobRecord
    batch_size: Count


@dataclass(frozen=True)
class Progress(Message):
    TYPE: ClassVar[str] = "progress"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    job_id: JobId
    done: Count
    total: Count


@dataclass(frozen=True)
class Result(Message):
    """A finished job: its values, the PatchingGrid widget showing them, and the code that reproduces them."""

    TYPE: ClassVar[str] = "result"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    job: JobRecord
    shape: Annotated[list[Count], Items(8)]
    values: Annotated[list[Optional[float]], Items(1_000_000)]  # flat, C order; [] when too large
    widget_model_id: Optional[Label]  # the PatchingGrid's ipywidgets model id, or null
    code: Annotated[str, Text(20_000)]
    clean_metric: Optional[float]  # the metric on the clean and on the corrupted run
    corrupted_metric: Optional[float]


@dataclass(frozen=True)
class Cancelled(Message):
    TYPE: ClassVar[str] = "cancelled"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    job_id: JobId
    done: Count
    total: Count


@dataclass(frozen=True)
class JobFailed(Message):
    TYPE: ClassVar[str] = "job_failed"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    job_id: JobId
    error_type: Label
    message: Annotated[str, Text(4000)]


@dataclass(frozen=True)
class CancelAck(Message):
    TYPE: ClassVar[str] = "cancel_ack"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    job_id: JobId


@dataclass(frozen=True)
class Jobs(Message):
    TYPE: ClassVar[str] = "jobs"
    DIRECTION: ClassVar[str] = "kernel"
    id: RequestId
    jobs: Annotated[list[JobRecord], Items(10_000)]


@dataclass(frozen=True)
class Error(Message):
    TYPE: ClassVar[str] = "error"
    DIRECTION: ClassVar[str] = "kernel"
    id: Optional[RequestId]  # null when the bad message had no usable id
    request_type: Optional[Label]
    code: ErrorCode
    message: Annotated[str, Text(4000)]


REQUESTS: dict[str, type[Message]] = {
    cls.TYPE: cls for cls in (Hello, ListModels, ListHooks, DescribeHook, Tokenize, RunPatch, Cancel, ListJobs, GetResult)
}
KERNEL_MESSAGES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (Welcome, Models, Hooks, HookDetail, Tokens, JobStarted, Progress, Result, Cancelled, JobFailed, CancelAck, Jobs, Error)
}


# ---- validation -------------------------------------------------------------------------------


def parse_request(data: Any) -> Message:
    """Validates one incoming message and returns its dataclass; raises ``ProtocolError``."""
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", f"a message must be a JSON object, got {json_type(data)}")
    raw_id = data.get("id")
    request_id = raw_id if _valid_id(raw_id) else None
    raw_type = data.get("type")
    # Echoed back in the error reply, so it must itself be valid on the wire (no lone surrogates).
    request_type = raw_type if isinstance(raw_type, str) and len(raw_type) <= 64 and _valid_label(raw_type) else None
    if "v" not in data:
        raise ProtocolError("bad_message", "missing field 'v' (the protocol version)", request_id, request_type)
    if data["v"] != PROTOCOL_VERSION or isinstance(data["v"], bool):
        raise ProtocolError(
            "unsupported_version",
            f"this kernel's lenslab speaks protocol version {PROTOCOL_VERSION}, the panel sent version {data['v']!r}; "
            "install the same lenslab version in the kernel and in JupyterLab",
            request_id,
            request_type,
        )
    if not isinstance(raw_type, str):
        raise ProtocolError("bad_message", "missing or non-string field 'type'", request_id, None)
    cls = REQUESTS.get(raw_type)
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {raw_type[:64]!r}; expected one of {sorted(REQUESTS)}", request_id, request_type)
    body = {k: v for k, v in data.items() if k not in ("v", "type")}
    try:
        return typing.cast(Message, build(cls, body, ""))
    except FieldError as e:
        raise ProtocolError("bad_message", f"{raw_type}: {e}", request_id, request_type) from None


def parse_kernel_message(data: Any) -> Message:
    """Validates a kernel -> panel message (used by the tests and the schema examples)."""
    if not isinstance(data, dict) or data.get("v") != PROTOCOL_VERSION:
        raise ProtocolError("bad_message", "not a protocol message")
    cls = KERNEL_MESSAGES.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown kernel message type {data.get('type')!r}")
    try:
        return typing.cast(Message, build(cls, {k: v for k, v in data.items() if k not in ("v", "type")}, ""))
    except FieldError as e:
        raise ProtocolError("bad_message", str(e)) from None


def _valid_label(value: Any) -> bool:
    return is_valid(Label, value)


def _valid_id(value: Any) -> bool:
    return is_valid(RequestId, value)


# ---- JSON Schema export -------------------------------------------------------------------------


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every message, with an example of each.

    ``labext/test/fixtures/protocol.schema.json`` is this, written by
    ``python -m lenslab.comm --write``; a Python test fails when the file is stale.
    """
    defs: dict[str, Any] = {}
    for cls in (*REQUESTS.values(), *KERNEL_MESSAGES.values()):
        schema = object_schema(cls, defs)
        schema["properties"] = {"v": {"const": PROTOCOL_VERSION}, "type": {"const": cls.TYPE}, **schema["properties"]}
        schema["required"] = ["v", "type", *schema["required"]]
        schema["x-direction"] = cls.DIRECTION
        schema["examples"] = [m.to_wire() for m in EXAMPLES if type(m) is cls]
        defs[cls.__name__] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://lenslab.invalid/protocol.schema.json",
        "title": "LensLab sidebar protocol",
        "description": "Messages between the LensLab JupyterLab sidebar and the kernel (comm target "
        f"{COMM_TARGET!r}). Generated from lenslab/comm/protocol.py; do not edit.",
        "x-protocol-version": PROTOCOL_VERSION,
        "x-comm-target": COMM_TARGET,
        "$defs": {
            **dict(sorted(defs.items())),
            "Request": {"oneOf": [{"$ref": f"#/$defs/{c.__name__}"} for c in REQUESTS.values()]},
            "KernelMessage": {"oneOf": [{"$ref": f"#/$defs/{c.__name__}"} for c in KERNEL_MESSAGES.values()]},
        },
        "oneOf": [{"$ref": "#/$defs/Request"}, {"$ref": "#/$defs/KernelMessage"}],
    }


# ---- examples (documentation, schema examples and the tests on both sides) ------------------------

_SPEC = JobSpec(
    model="model",
    kind="heads_all_pos",
    metric="logit_diff",
    clean_prompt="When Mary and John went to the store, John gave a drink to",
    corrupted_prompt="When Mary and John went to the store, Mary gave a drink to",
    correct_answer=" Mary",
    incorrect_answer=" John",
)
_RECORD = JobRecord(job_id=1, spec=_SPEC, status="done", done=16, total=16, elapsed_s=0.41, message=None)

EXAMPLES: tuple[Message, ...] = (
    Hello(id="p1-1"),
    ListModels(id="p1-2"),
    ListHooks(id="p1-3", model="model"),
    DescribeHook(id="p1-4", model="model", hook="blocks.0.attn.hook_z"),
    Tokenize(id="p1-5", model="model", prompts=[_SPEC.clean_prompt, _SPEC.corrupted_prompt], answers=[" Mary", " John"]),
    RunPatch(id="p1-6", job=_SPEC),
    Cancel(id="p1-7", job_id=1),
    ListJobs(id="p1-8"),
    GetResult(id="p1-9", job_id=1),
    Welcome(
        id="p1-1",
        protocol=PROTOCOL_VERSION,
        lenslab_version="0.1.0",
        patch_kinds=[PatchKindInfo("heads_all_pos", "Attention heads, all positions", "get_act_patch_attn_head_out_all_pos")],
        metrics=[MetricInfo("logit_diff", "Logit difference (correct - incorrect)", True)],
    ),
    Models(
        id="p1-2",
        models=[
            ModelInfo(
                name="model", checkpoint="gpt2", class_name="HookedTransformer", architecture="GPT2LMHeadModel", n_layers=2, n_heads=8,
                d_model=256, d_head=32, d_mlp=None, d_vocab=5000, n_ctx=256, device="cpu", dtype="float32",
                n_hooks=26, has_tokenizer=True, patch_kinds=["resid_pre", "attn_out", "heads_all_pos"],
            )
        ],
    ),
    Hooks(
        id="p1-3",
        model="model",
        hooks=[
            HookInfo("blocks.0.attn.hook_z", 0, "attn", ["batch", "pos", "head_index", "d_head"], "Pattern-weighted values, per head."),
            HookInfo(
                "blocks.0.attn.hook_result", 0, "attn", ["batch", "pos", "head_index", "d_model"],
                "Each head's output z @ W_O (cfg.use_attn_result).",
                "fires only with cfg.use_attn_result: model.set_use_attn_result(True)",
            ),
        ],
    ),
    HookDetail(
        id="p1-4",
        model="model",
        hook=HookInfo("blocks.0.attn.hook_z", 0, "attn", ["batch", "pos", "head_index", "d_head"], "Pattern-weighted values, per head."),
        sizes=[None, None, 8, 32],
    ),
    Tokens(
        id="p1-5",
        model="model",
        n_ctx=256,
        prompts=[TokenizedText("When Mary", ["<|endoftext|>", "When", " Mary"], 3)],
        answers=[TokenizedText(" Mary", [" Mary"], 1)],
    ),
    JobStarted(id="p1-6", job=dataclasses.replace(_RECORD, status="queued", done=0, elapsed_s=None), batch_size=2),
    Progress(id="p1-6", job_id=1, done=8, total=16),
    Result(
        id="p1-6", job=_RECORD, shape=[2, 8], values=[0.5] * 16, widget_model_id="8f2c0e1d", code="results = ...",
        clean_metric=2.5, corrupted_metric=-2.5,
    ),
    Cancelled(id="p1-6", job_id=1, done=8, total=16),
    JobFailed(id="p1-6", job_id=1, error_type="ValueError", message="clean and corrupted inputs differ in shape"),
    CancelAck(id="p1-7", job_id=1),
    Jobs(id="p1-8", jobs=[_RECORD]),
    Error(id="p1-3", request_type="list_hooks", code="unknown_model", message="no model named 'modle' in the kernel; models: model"),
)
