"""The kernel side of one sidebar comm: validates each message and answers it.

``SidebarHandler.handle`` never raises: a bad message, an unknown model or hook, or a bug in a
handler becomes an ``error`` reply naming the request, and the kernel carries on. The handler
only reads the user's namespace (models by variable name) and calls fixed operations.

Every message it sends, from whichever thread (the job worker's progress, say), is sent in the
context of the panel's latest request. ipykernel takes a comm message's parent from that
context and routes the panel's next requests to the subshell of the last parent it saw; sent
from a bare thread, the parent would be the notebook cell running on the main shell, and every
later request (cancel included) would queue behind that cell.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import sys
from typing import Any, Callable, Mapping, Optional

from lenslab.comm import protocol as p
from lenslab.comm.jobs import JobRunner
from lenslab.comm.recipes import InvalidJob, kind_infos, metric_infos, prepare, supported_kinds

log = logging.getLogger("lenslab.comm")


class SidebarHandler:
    """Answers one panel's requests; job events reach it through the shared runner."""

    def __init__(self, send: Callable[[dict[str, Any]], None], namespace: Callable[[], Mapping[str, Any]], runner: JobRunner) -> None:
        self._send = send
        self._namespace = namespace
        self._reply_context: Optional[contextvars.Context] = None
        self._runner = runner
        self._unsubscribe = runner.subscribe(self.send)
        self._table: dict[str, Callable[[Any], None]] = {
            p.Hello.TYPE: self._hello,
            p.ListModels.TYPE: self._list_models,
            p.ListHooks.TYPE: self._list_hooks,
            p.DescribeHook.TYPE: self._describe_hook,
            p.Tokenize.TYPE: self._tokenize,
            p.RunPatch.TYPE: self._run_patch,
            p.Cancel.TYPE: self._cancel,
            p.ListJobs.TYPE: self._list_jobs,
            p.GetResult.TYPE: self._get_result,
        }
        missing = set(p.REQUESTS) - set(self._table)
        assert not missing, f"no handler for {missing}"

    def send(self, message: p.Message) -> None:
        wire = message.to_wire()
        context = self._reply_context
        if context is None:
            self._send(wire)
        else:  # a copy: a Context can be entered by one thread at a time
            context.copy().run(self._send, wire)

    def handle(self, data: Any) -> None:
        """Validates and answers one message; every failure becomes an ``error`` reply."""
        self._reply_context = contextvars.copy_context()
        request: Optional[p.Message] = None
        try:
            request = p.parse_request(data)
            self._table[request.TYPE](request)
        except p.ProtocolError as e:
            self.send(p.Error(id=e.request_id, request_type=e.request_type, code=e.code, message=e.message[:4000]))  # type: ignore[arg-type]
        except Exception as e:  # a bug here must not break the kernel or the comm
            log.exception("lenslab sidebar: %s failed", getattr(request, "TYPE", "message"))
            self.send(
                p.Error(
                    id=getattr(request, "id", None),
                    request_type=getattr(request, "TYPE", None),
                    code="internal",
                    message=f"{type(e).__name__}: {e}"[:4000],
                )
            )

    def close(self) -> None:
        """The comm closed: stop sending to it (its jobs go on; another panel may follow them)."""
        self._unsubscribe()

    # -- requests

    def _hello(self, msg: p.Hello) -> None:
        import lenslab

        self.send(
            p.Welcome(
                id=msg.id,
                protocol=p.PROTOCOL_VERSION,
                lenslab_version=lenslab.__version__,
                patch_kinds=kind_infos(),
                metrics=metric_infos(),
            )
        )

    def _list_models(self, msg: p.ListModels) -> None:
        self.send(p.Models(id=msg.id, models=[_model_info(name, model) for name, model in self._models().items()]))

    def _list_hooks(self, msg: p.ListHooks) -> None:
        model = self._model(msg, msg.model)
        self.send(p.Hooks(id=msg.id, model=msg.model, hooks=[_hook_info(name, model) for name in model.hook_dict]))

    def _describe_hook(self, msg: p.DescribeHook) -> None:
        from transformer_lens import hook_names

        model = self._model(msg, msg.model)
        if msg.hook not in model.hook_dict:
            raise p.ProtocolError("unknown_hook", f"{msg.model}: {hook_names.unknown_hook_message(msg.hook, model.hook_dict)}", msg.id, msg.TYPE)
        info = _hook_info(msg.hook, model)
        self.send(p.HookDetail(id=msg.id, model=msg.model, hook=info, sizes=[_size(model.cfg, msg.hook, d) for d in info.shape]))

    def _tokenize(self, msg: p.Tokenize) -> None:
        model = self._model(msg, msg.model)
        if getattr(model, "tokenizer", None) is None:
            raise p.ProtocolError("no_tokenizer", f"{msg.model} has no tokenizer (call {msg.model}.set_tokenizer(...))", msg.id, msg.TYPE)

        def pieces(text: str, bos: Optional[bool]) -> p.TokenizedText:
            ids = model.to_tokens(text, prepend_bos=bos, truncate=False, move_to_device=False)[0]
            shown = ids[: p.MAX_REPLY_TOKENS]  # a 4,000-character prompt can be 16,000 tokens
            tokens = model.to_str_tokens(shown) if len(shown) else []
            return p.TokenizedText(text=text, tokens=[str(t)[:500] for t in tokens], n_tokens=len(ids))

        self.send(
            p.Tokens(
                id=msg.id,
                model=msg.model,
                n_ctx=int(model.cfg.n_ctx),
                prompts=[pieces(t, None) for t in msg.prompts],
                answers=[pieces(t, False) for t in msg.answers],
            )
        )

    def _run_patch(self, msg: p.RunPatch) -> None:
        model = self._model(msg, msg.job.model)
        try:
            prep = prepare(msg.job, model)
        except InvalidJob as e:
            raise p.ProtocolError("invalid_job", str(e), msg.id, msg.TYPE) from None
        self._runner.submit(msg.id, msg.job, model, prep)  # broadcasts job_started, then the job's events

    def _cancel(self, msg: p.Cancel) -> None:
        try:
            self._runner.get(msg.job_id)
        except KeyError:
            raise p.ProtocolError("unknown_job", f"no job {msg.job_id} in this kernel", msg.id, msg.TYPE) from None
        # The ack first: a queued job's `cancelled` is broadcast from inside runner.cancel.
        self.send(p.CancelAck(id=msg.id, job_id=msg.job_id))
        self._runner.cancel(msg.job_id)

    def _list_jobs(self, msg: p.ListJobs) -> None:
        self.send(p.Jobs(id=msg.id, jobs=self._runner.records()))

    def _get_result(self, msg: p.GetResult) -> None:
        try:
            job = self._runner.get(msg.job_id)
        except KeyError:
            raise p.ProtocolError("unknown_job", f"no job {msg.job_id} in this kernel", msg.id, msg.TYPE) from None
        if job.result is None:
            raise p.ProtocolError("no_result", f"job {msg.job_id} has no result (it is {job.status})", msg.id, msg.TYPE)
        self.send(dataclasses.replace(job.result, id=msg.id))

    # -- the namespace

    def _models(self) -> dict[str, Any]:
        """Hooked models bound to public names in the user's namespace."""
        if "transformer_lens" not in sys.modules:
            return {}  # no model can exist yet; do not pay for importing torch
        from transformer_lens import HookedRootModule

        def is_model(value: Any) -> bool:
            try:  # isinstance reads value.__class__, which any object may override and make raise
                return isinstance(value, HookedRootModule) and hasattr(value, "cfg")
            except Exception:
                return False

        # Any Python identifier, non-ASCII ones included (p.ModelName accepts the same names).
        return {
            name: value
            for name, value in list(self._namespace().items())
            if isinstance(name, str) and p.is_model_name(name) and not name.startswith("_") and is_model(value)
        }

    def _model(self, msg: Any, name: str) -> Any:
        models = self._models()
        if name not in models:
            known = ", ".join(sorted(models)) or "none (load one, e.g. model = HookedTransformer.from_pretrained(...))"
            raise p.ProtocolError("unknown_model", f"no hooked model named {name!r} in the kernel; models: {known}", msg.id, msg.TYPE)
        return models[name]


def _model_info(name: str, model: Any) -> p.ModelInfo:
    cfg = model.cfg

    def count(attr: str) -> int:
        value = getattr(cfg, attr, 0)
        return int(value) if isinstance(value, int) and value > 0 else 0

    d_mlp = getattr(cfg, "d_mlp", None)
    checkpoint = getattr(cfg, "model_name", None)
    return p.ModelInfo(
        name=name,
        checkpoint=checkpoint[:500] if isinstance(checkpoint, str) and checkpoint and checkpoint != "custom" else None,
        class_name=type(model).__name__,
        architecture=str(getattr(cfg, "original_architecture", None) or getattr(cfg, "model_name", "custom"))[:500],
        n_layers=count("n_layers"),
        n_heads=count("n_heads"),
        d_model=count("d_model"),
        d_head=count("d_head"),
        d_mlp=None if getattr(cfg, "attn_only", False) or not isinstance(d_mlp, int) or d_mlp <= 0 else d_mlp,
        d_vocab=count("d_vocab"),
        n_ctx=count("n_ctx"),
        device=str(getattr(cfg, "device", "")),
        dtype=str(getattr(cfg, "dtype", "")).replace("torch.", ""),
        n_hooks=len(model.hook_dict),
        has_tokenizer=getattr(model, "tokenizer", None) is not None,
        patch_kinds=supported_kinds(model),  # type: ignore[arg-type]
    )


def _hook_info(name: str, model: Any) -> p.HookInfo:
    from transformer_lens import hook_names

    from lenslab.comm.spliced_hooks import spliced_hook_spec

    table_spec = hook_names.spec_for(name)
    spec = table_spec or spliced_hook_spec(name)
    cfg = getattr(model, "cfg", None)
    # The table's shapes may depend on the config (hook_shape); a spliced-in hook's is its own.
    shape = hook_names.hook_shape(name, cfg) if table_spec else (spec.shape if spec else ())
    return p.HookInfo(
        name=name,
        layer=hook_names.layer_of(name),
        component=spec.component if spec else "other",
        shape=list(shape),
        description=spec.description if spec else "",
        silent=hook_names.silent_reason(name, cfg) if cfg is not None else None,
    )


_CFG_DIMS = {
    "d_model": "d_model",
    "d_head": "d_head",
    "d_mlp": "d_mlp",
    "d_vocab": "d_vocab",
    "head_index": "n_heads",
    "num_experts": "num_experts",
    "experts_per_token": "experts_per_token",
}


def _size(cfg: Any, hook: str, dim: str) -> Optional[int]:
    """The concrete size of one symbolic dimension (None for batch and positions)."""
    if dim.isdigit():
        return int(dim)
    if dim == "head_index" and (hook.endswith(("hook_k", "hook_v", "hook_rot_k")) or ".k_norm." in hook) and getattr(cfg, "n_key_value_heads", None):
        if not getattr(cfg, "ungroup_grouped_query_attention", False):
            return int(cfg.n_key_value_heads)
    if dim == "head_index*d_head":  # OLMo 2/3's flat q/k norms
        heads = cfg.n_heads if ".q_norm." in hook else (cfg.n_key_value_heads or cfg.n_heads)
        return int(heads * cfg.d_head)
    attr = _CFG_DIMS.get(dim)
    value = getattr(cfg, attr, None) if attr else None
    return int(value) if isinstance(value, int) and value > 0 else None


__all__ = ["SidebarHandler"]
