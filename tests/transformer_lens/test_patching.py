"""transformer_lens.patching: batched engine vs one forward per patch, oracles, errors, cancel, attribution."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
import torch

from transformer_lens import HookedTransformer, HookedTransformerConfig, patching

TOL = 1e-5
TOKEN_A, TOKEN_B = 3, 7


@dataclass
class Setup:
    model: HookedTransformer
    clean: torch.Tensor
    corrupted: torch.Tensor
    cache: Any
    metric: Any = None

    @property
    def args(self):
        return self.model, self.corrupted, self.cache


def _make_setup(seed: int, batch: int, pos: int, process: bool = False, shared: int = 1, **cfg: Any) -> Setup:
    config = HookedTransformerConfig(d_vocab=50, n_ctx=16, act_fn="gelu", seed=seed, initializer_range=0.3, **cfg)
    model = HookedTransformer(config)
    model.eval()
    if process:
        model.process_weights_()
    generator = torch.Generator().manual_seed(seed)
    clean = torch.randint(0, 50, (batch, pos), generator=generator)
    corrupted = torch.randint(0, 50, (batch, pos), generator=generator)
    corrupted[:, :shared] = clean[:, :shared]  # a shared start, as with a BOS and " The"
    with torch.no_grad():
        _, cache = model.run_with_cache(clean)
    return Setup(model, clean, corrupted, cache)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy machine every op would wait
    for the second thread: one thread keeps this module fast (the setting is restored after)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def attn_only() -> Setup:
    """Attention-only, LayerNorm, batch of 3 prompts."""
    shape = dict(n_layers=2, n_heads=4, d_model=16, d_head=4, attn_only=True, normalization_type="LN")
    return _make_setup(0, batch=3, pos=5, **shape)


@pytest.fixture(scope="module")
def with_mlp() -> Setup:
    """Attention + MLP blocks, LayerNorm folded by process_weights_, batch of 2."""
    shape = dict(n_layers=3, n_heads=3, d_model=24, d_head=8, d_mlp=48, normalization_type="LN")
    return _make_setup(1, batch=2, pos=7, shared=2, process=True, **shape)


@pytest.fixture(scope="module", params=["attn_only", "with_mlp"])
def setup(request: pytest.FixtureRequest) -> Setup:
    setup = request.getfixturevalue(request.param)
    setup.metric = METRIC_FOR[request.param]
    return setup


def logit_diff(logits: torch.Tensor) -> torch.Tensor:
    return (logits[:, -1, TOKEN_A] - logits[:, -1, TOKEN_B]).mean()


def log_prob(logits: torch.Tensor) -> torch.Tensor:
    """Non-linear in the logits, and per batch element before the mean; reads every position."""
    return logits.log_softmax(-1)[:, -1, TOKEN_A].mean()


def last_log_prob(logits: torch.Tensor) -> torch.Tensor:
    """The same value, but provably reading the last position only (the engine unembeds just that)."""
    return logits[:, -1].log_softmax(-1)[:, TOKEN_A].mean()


def middle_positions(logits: torch.Tensor) -> torch.Tensor:
    """Reads two positions in the middle."""
    return logits[:, 2:4, TOKEN_A].sum() - logits[:, 3, TOKEN_B].mean()


# The models' metrics for the batched-vs-sequential sweep: both engine paths for the logits.
METRIC_FOR = {"attn_only": log_prob, "with_mlp": last_log_prob}


def no_hooks(model: HookedTransformer) -> bool:
    return all(not hp.fwd_hooks and not hp.bwd_hooks for hp in model.hook_points())


SINGLE = {  # name -> (shape as a function of (n_layers, pos, n_heads), needs MLP)
    "get_act_patch_resid_pre": (lambda L, P, H: (L, P), False),
    "get_act_patch_resid_mid": (lambda L, P, H: (L, P), True),
    "get_act_patch_attn_out": (lambda L, P, H: (L, P), False),
    "get_act_patch_mlp_out": (lambda L, P, H: (L, P), True),
    "get_act_patch_attn_head_out_all_pos": (lambda L, P, H: (L, H), False),
    "get_act_patch_attn_head_q_all_pos": (lambda L, P, H: (L, H), False),
    "get_act_patch_attn_head_k_all_pos": (lambda L, P, H: (L, H), False),
    "get_act_patch_attn_head_v_all_pos": (lambda L, P, H: (L, H), False),
    "get_act_patch_attn_head_pattern_all_pos": (lambda L, P, H: (L, H), False),
    "get_act_patch_attn_head_out_by_pos": (lambda L, P, H: (L, P, H), False),
    "get_act_patch_attn_head_q_by_pos": (lambda L, P, H: (L, P, H), False),
    "get_act_patch_attn_head_k_by_pos": (lambda L, P, H: (L, P, H), False),
    "get_act_patch_attn_head_v_by_pos": (lambda L, P, H: (L, P, H), False),
    "get_act_patch_attn_head_pattern_by_pos": (lambda L, P, H: (L, H, P), False),
    "get_act_patch_attn_head_pattern_dest_src_pos": (lambda L, P, H: (L, H, P, P), False),
}
EVERY = {
    "get_act_patch_attn_head_all_pos_every": (lambda L, P, H: (5, L, H), False),
    "get_act_patch_attn_head_by_pos_every": (lambda L, P, H: (5, L, P, H), False),
    "get_act_patch_block_every": (lambda L, P, H: (3, L, P), True),
}


def _shape(setup: Setup, shape_fn) -> tuple[int, ...]:
    cfg = setup.model.cfg
    return shape_fn(cfg.n_layers, setup.corrupted.shape[1], cfg.n_heads)


# ---- batched == sequential, for every function ------------------------------------------------


@pytest.mark.parametrize("name", list(SINGLE) + list(EVERY))
def test_batched_matches_sequential(setup: Setup, name: str) -> None:
    shape_fn, needs_mlp = {**SINGLE, **EVERY}[name]
    if needs_mlp and setup.model.cfg.attn_only:
        pytest.skip("no MLP in an attention-only model")
    fn = getattr(patching, name)
    with torch.no_grad():
        reference = fn(*setup.args, setup.metric, sequential=True, progress=False)
        batched = fn(*setup.args, setup.metric, progress=False)
        # Small chunks: several chunks per sweep, each mixing start layers.
        chunked = fn(*setup.args, setup.metric, progress=False, batch_size=5)
    assert reference.shape == batched.shape == chunked.shape == _shape(setup, shape_fn)
    assert batched.dtype == torch.float32 and batched.device.type == "cpu"
    assert (batched - reference).abs().max() < TOL
    assert (chunked - reference).abs().max() < TOL
    assert reference.std() > 1e-3, "the sweep should not be constant"
    assert no_hooks(setup.model)
    # Displays (lenslab's PatchingGrid) read which sweep made a result.
    assert batched.patching_kind == reference.patching_kind == name


def test_memory_budget_sets_chunks(with_mlp: Setup) -> None:
    from transformer_lens import _patch_engine

    cfg = with_mlp.model.cfg
    batch, pos = with_mlp.corrupted.shape
    assert _patch_engine.runs_per_chunk(cfg, batch, pos, 1e-3) == 1
    assert _patch_engine.runs_per_chunk(cfg, batch, pos, 1024) > 100
    tiny = patching.get_act_patch_resid_pre(*with_mlp.args, logit_diff, progress=False, max_batch_memory_mb=0.05)
    full = patching.get_act_patch_resid_pre(*with_mlp.args, logit_diff, progress=False)
    assert (tiny - full).abs().max() < TOL


def test_grad_mode_and_no_param_grads(with_mlp: Setup) -> None:
    """Called outside no_grad (as upstream allows), results match and no gradients accumulate."""
    result = patching.get_act_patch_attn_head_out_all_pos(*with_mlp.args, logit_diff, progress=False)
    reference = patching.get_act_patch_attn_head_out_all_pos(
        *with_mlp.args, logit_diff, progress=False, sequential=True
    )
    assert (result - reference).abs().max() < TOL
    assert all(p.grad is None for p in with_mlp.model.parameters())


def test_grouped_query_attention_pads_key_value_heads() -> None:
    """Also rotary: the shared positions' keys are cached after the rotation, as the KV cache holds them."""
    shape = dict(n_layers=2, n_heads=4, d_model=16, d_head=4, d_mlp=32, positional_embedding_type="rotary")
    setup = _make_setup(2, batch=2, pos=5, shared=2, n_key_value_heads=2, **shape)
    assert _shared_positions(setup, setup.cache) == 2
    n_layers, pos = 2, 5
    k = patching.get_act_patch_attn_head_k_all_pos(*setup.args, logit_diff, progress=False)
    assert k.shape == (n_layers, 2)
    v_seq = patching.get_act_patch_attn_head_v_by_pos(*setup.args, logit_diff, progress=False, sequential=True)
    v = patching.get_act_patch_attn_head_v_by_pos(*setup.args, logit_diff, progress=False)
    assert v.shape == (n_layers, pos, 2) and (v - v_seq).abs().max() < TOL
    every = patching.get_act_patch_attn_head_all_pos_every(*setup.args, logit_diff, progress=False)
    assert every.shape == (5, n_layers, 4)
    assert (every[2, :, :2] - k).abs().max() < TOL and (every[2:4, :, 2:] == 0).all()
    pattern = patching.get_act_patch_attn_head_pattern_by_pos(*setup.args, last_log_prob, progress=False)
    reference = patching.get_act_patch_attn_head_pattern_by_pos(
        *setup.args, last_log_prob, sequential=True, progress=False
    )
    assert (pattern - reference).abs().max() < TOL and reference.std() > 1e-3


def test_clean_equal_to_corrupted(with_mlp: Setup) -> None:
    """Every position shared: no patch changes anything, every entry is the corrupted metric."""
    s = with_mlp
    with torch.no_grad():
        _, same_cache = s.model.run_with_cache(s.corrupted)
        corrupted_metric = logit_diff(s.model(s.corrupted))
    for fn in (patching.get_act_patch_attn_head_all_pos_every, patching.get_act_patch_resid_pre):
        batched = fn(s.model, s.corrupted, same_cache, logit_diff, progress=False)
        reference = fn(s.model, s.corrupted, same_cache, logit_diff, sequential=True, progress=False)
        assert (batched - corrupted_metric).abs().max() < TOL and (reference - corrupted_metric).abs().max() < TOL


# ---- oracles: a hand-written hook patch ---------------------------------------------------------


def _oracle(setup: Setup, hook_name: str, edit, metric=logit_diff) -> float:
    clean = setup.cache[hook_name]

    def hook(act: torch.Tensor, hook: Any) -> torch.Tensor:
        act = act.clone()
        edit(act, clean)
        return act

    with torch.no_grad():
        logits = setup.model.run_with_hooks(setup.corrupted, fwd_hooks=[(hook_name, hook)])
    return metric(logits).item()


def test_oracle_entries(with_mlp: Setup) -> None:
    s = with_mlp
    resid = patching.get_act_patch_resid_pre(*s.args, logit_diff, progress=False)
    mlp = patching.get_act_patch_mlp_out(*s.args, logit_diff, progress=False)
    heads = patching.get_act_patch_attn_head_all_pos_every(*s.args, logit_diff, progress=False)
    by_pos = patching.get_act_patch_attn_head_by_pos_every(*s.args, logit_diff, progress=False)
    dest_src = patching.get_act_patch_attn_head_pattern_dest_src_pos(*s.args, logit_diff, progress=False)

    def set_(index):
        def edit(act, clean):
            act[index] = clean[index]

        return edit

    every = slice(None)
    checks = [
        (resid[1, 4], "blocks.1.hook_resid_pre", set_((every, 4))),
        (resid[0, 6], "blocks.0.hook_resid_pre", set_((every, 6))),
        (mlp[2, 3], "blocks.2.hook_mlp_out", set_((every, 3))),
        (heads[0, 1, 2], "blocks.1.attn.hook_z", set_((every, every, 2))),
        (heads[1, 2, 0], "blocks.2.attn.hook_q", set_((every, every, 0))),
        (heads[2, 0, 1], "blocks.0.attn.hook_k", set_((every, every, 1))),
        (heads[3, 1, 1], "blocks.1.attn.hook_v", set_((every, every, 1))),
        (heads[4, 2, 2], "blocks.2.attn.hook_pattern", set_((every, 2))),
        (by_pos[0, 1, 5, 2], "blocks.1.attn.hook_z", set_((every, 5, 2))),
        (by_pos[4, 0, 6, 1], "blocks.0.attn.hook_pattern", set_((every, 1, 6))),
        (dest_src[1, 0, 6, 3], "blocks.1.attn.hook_pattern", set_((every, 0, 6, 3))),
    ]
    for value, hook_name, edit in checks:
        assert abs(value.item() - _oracle(s, hook_name, edit)) < TOL, hook_name
    # Patching everything a run sees: the clean metric comes back.
    clean_metric = logit_diff(s.model(s.clean)).item()
    whole = _oracle(s, "blocks.0.hook_resid_pre", lambda act, clean: act.copy_(clean))
    assert abs(whole - clean_metric) < TOL


def test_custom_setter_returning_new_tensor(attn_only: Setup) -> None:
    """generic_activation_patch with any setter, including one that returns a fresh tensor."""

    def halfway(corrupted, index, clean):
        return corrupted + 0.5 * (clean - corrupted)

    kwargs = dict(patch_setter=halfway, activation_name="attn_out", index_axis_names=["layer"], progress=False)
    batched = patching.generic_activation_patch(*attn_only.args, log_prob, **kwargs)
    reference = patching.generic_activation_patch(*attn_only.args, log_prob, sequential=True, **kwargs)
    assert batched.shape == (2,) and (batched - reference).abs().max() < TOL
    edit = lambda act, clean: act.copy_(act + 0.5 * (clean - act))  # noqa: E731
    oracle = _oracle(attn_only, "blocks.1.hook_attn_out", edit, log_prob)
    assert abs(batched[1].item() - oracle) < TOL


# ---- index frames ----------------------------------------------------------------------------


def test_index_df(with_mlp: Setup) -> None:
    pd = pytest.importorskip("pandas")
    s = with_mlp
    grid, frame = patching.get_act_patch_resid_pre(*s.args, logit_diff, progress=False, return_index_df=True)
    assert list(frame.columns) == ["layer", "pos"] and len(frame) == 3 * 7
    assert frame.iloc[1].tolist() == [0, 1] and frame.iloc[7].tolist() == [1, 0]  # last column fastest
    rows = pd.DataFrame({"layer": [2, 0, 1, 2], "pos": [6, 0, 3, 6]})
    flat, same = patching.generic_activation_patch(
        *s.args, logit_diff, patching.layer_pos_patch_setter, "resid_pre",
        index_df=rows, return_index_df=True, progress=False,
    )
    assert same is rows and flat.shape == (4,)
    expected = torch.stack([grid[2, 6], grid[0, 0], grid[1, 3], grid[2, 6]])
    assert (flat - expected).abs().max() < TOL
    heads = patching.get_act_patch_attn_head_pattern_dest_src_pos(*s.args, logit_diff, progress=False)
    picks = pd.DataFrame([[1, 2, 6, 0], [0, 0, 3, 3]], columns=["layer", "head_index", "dest_pos", "src_pos"])
    flat = patching.get_act_patch_attn_head_pattern_dest_src_pos(*s.args, logit_diff, index_df=picks, progress=False)
    assert (flat - torch.stack([heads[1, 2, 6, 0], heads[0, 0, 3, 3]])).abs().max() < TOL
    assert patching.make_df_from_ranges([2, 3], ["layer", "head"]).values.tolist() == [
        [0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]
    ]


@pytest.mark.parametrize(
    "rows, message",
    [
        ({"layer": [0, 3], "pos": [0, 0]}, "layer = 3 is out of range"),
        ({"layer": [0, -1], "pos": [0, 0]}, "layer = -1 is out of range"),
        ({"layer": [0, 1], "pos": [7, 0]}, "pos = 7 is out of range"),
        ({"layer": [0, 1], "pos": [0, -2]}, "pos = -2 is out of range"),
        ({"layer": [0, 1], "pos": [0.5, 0]}, "not an integer"),
    ],
)
def test_index_df_out_of_range(with_mlp: Setup, rows, message: str) -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match=message), _forbid_forward(with_mlp.model):
        patching.get_act_patch_resid_pre(*with_mlp.args, logit_diff, index_df=pd.DataFrame(rows), progress=False)


def test_index_df_head_range(with_mlp: Setup) -> None:
    pd = pytest.importorskip("pandas")
    bad = pd.DataFrame({"layer": [0], "head": [3]})
    message = r"head = 3 is out of range, must be \[0, 3\)"
    with pytest.raises(ValueError, match=message), _forbid_forward(with_mlp.model):
        patching.get_act_patch_attn_head_out_all_pos(*with_mlp.args, logit_diff, index_df=bad)


# ---- bad input: clear errors before any forward ------------------------------------------------


class _forbid_forward:
    """Context manager failing the test if the model embeds anything (i.e. runs a forward)."""

    def __init__(self, model: HookedTransformer, allowed: int = 0) -> None:
        self.model, self.allowed, self.calls = model, allowed, 0

    def _count(self, act: torch.Tensor, hook: Any) -> None:
        self.calls += 1

    def __enter__(self):
        self.handle = self.model.hook_dict["blocks.0.hook_resid_pre"].add_hook(self._count)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.handle.remove()
        assert self.calls <= self.allowed, f"{self.calls} forward passes ran before the error"


def test_shape_mismatch_names_both_shapes(with_mlp: Setup) -> None:
    shorter = with_mlp.corrupted[:, :6]
    with pytest.raises(ValueError, match=r"\(2, 7\).*\(2, 6\)"), _forbid_forward(with_mlp.model):
        patching.get_act_patch_resid_pre(with_mlp.model, shorter, with_mlp.cache, logit_diff)
    with pytest.raises(ValueError, match=r"\(2, 7\).*\(1, 7\)"), _forbid_forward(with_mlp.model):
        one_prompt = with_mlp.corrupted[:1]
        patching.get_act_patch_attn_head_all_pos_every(with_mlp.model, one_prompt, with_mlp.cache, logit_diff)


def test_clean_batch_of_one_broadcasts(with_mlp: Setup) -> None:
    """As upstream's setters broadcast, one clean prompt may patch a batch of corrupted ones."""
    s = with_mlp
    with torch.no_grad():
        _, cache = s.model.run_with_cache(s.clean[:1])
    batched = patching.get_act_patch_attn_out(s.model, s.corrupted, cache, logit_diff, progress=False)
    reference = patching.get_act_patch_attn_out(
        s.model, s.corrupted, cache, logit_diff, progress=False, sequential=True
    )
    assert (batched - reference).abs().max() < TOL


def test_missing_cache_names_listed(with_mlp: Setup) -> None:
    s = with_mlp
    with torch.no_grad():
        wanted = lambda name: name.endswith("hook_z") and "blocks.2" not in name  # noqa: E731
        _, partial_cache = s.model.run_with_cache(s.clean, names_filter=wanted)
    with pytest.raises(KeyError, match=r"blocks.0.attn.hook_q.*blocks.2.attn.hook_z"), _forbid_forward(s.model):
        patching.get_act_patch_attn_head_all_pos_every(s.model, s.corrupted, partial_cache, logit_diff)


@pytest.mark.parametrize(
    "metric, error, message",
    [
        (lambda logits: 1.5, TypeError, "returned float 1.5"),
        (lambda logits: None, TypeError, "returned NoneType None"),
        (lambda logits: logits[:, -1, 0], ValueError, r"tensor of shape \(2,\)"),
        (lambda logits: logits[:, -1, 0].mean().item(), TypeError, "returned float"),
    ],
)
def test_bad_metric(with_mlp: Setup, metric, error, message: str) -> None:
    # One unpatched corrupted forward is allowed (it validates the metric); no patched run.
    for sequential in (False, True):
        with pytest.raises(error, match=message), _forbid_forward(with_mlp.model, allowed=1):
            patching.get_act_patch_resid_pre(*with_mlp.args, metric, sequential=sequential, progress=False)
    assert no_hooks(with_mlp.model)


def test_other_bad_arguments(with_mlp: Setup) -> None:
    s = with_mlp
    setter = patching.layer_pos_patch_setter
    with pytest.raises(TypeError, match="token tensor"):
        patching.get_act_patch_resid_pre(s.model, "The Eiffel Tower", s.cache, logit_diff)
    with pytest.raises(TypeError, match="integer token ids"):
        patching.get_act_patch_resid_pre(s.model, s.corrupted.float(), s.cache, logit_diff)
    with pytest.raises(ValueError, match="index_axis_names or index_df"):
        patching.generic_activation_patch(*s.args, logit_diff, setter, "resid_pre")
    with pytest.raises(ValueError, match="unknown index axis 'neuron'"):
        patching.generic_activation_patch(*s.args, logit_diff, setter, "resid_pre", ["layer", "neuron"])
    with pytest.raises(KeyError, match="No hook point named 'blocks.0.hook_resid_pree'"):
        patching.generic_activation_patch(*s.args, logit_diff, setter, "resid_pree", ["layer", "pos"])
    with pytest.raises(TypeError, match="callable"):
        patching.get_act_patch_resid_pre(*s.args, "logit_diff")
    with pytest.raises(TypeError, match="unexpected keyword argument 'bach_size'"):
        patching.get_act_patch_resid_pre(*s.args, logit_diff, bach_size=4)
    assert no_hooks(s.model)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(batch_size=0), r"batch_size must be a positive number of patched runs per forward pass \(or None .*got 0"),
        (dict(batch_size=-2), r"batch_size must be .*got -2"),
        (dict(batch_size=2.5), r"batch_size must be .*got 2.5"),
        (dict(batch_size=True), r"batch_size must be .*got True"),
        (dict(max_batch_memory_mb=0), r"max_batch_memory_mb must be a positive number of megabytes, got 0"),
        (dict(max_batch_memory_mb=float("nan")), r"max_batch_memory_mb must be .*got nan"),
    ],
)
def test_bad_engine_options_are_refused_before_any_forward(with_mlp: Setup, options, message: str) -> None:
    for sequential in (False, True):
        with pytest.raises(ValueError, match=message) as info, _forbid_forward(with_mlp.model, allowed=0):
            patching.get_act_patch_resid_pre(*with_mlp.args, logit_diff, sequential=sequential, progress=False, **options)
        assert "\n" not in str(info.value)
    assert no_hooks(with_mlp.model)


@pytest.mark.parametrize(
    "call",
    [
        lambda s, **kw: patching.get_act_patch_mlp_out(*s.args, logit_diff, **kw),
        lambda s, **kw: patching.get_act_patch_resid_mid(*s.args, logit_diff, **kw),
        lambda s, **kw: patching.get_act_patch_block_every(*s.args, logit_diff, **kw),
        lambda s, **kw: patching.generic_activation_patch(*s.args, logit_diff, patching.layer_pos_patch_setter, "post", ["layer", "pos"], **kw),
    ],
    ids=["mlp_out", "resid_mid", "block_every", "generic_post"],
)
def test_mlp_patching_on_an_attention_only_model_says_so(attn_only: Setup, call) -> None:
    for extra in (dict(), dict(sequential=True), dict(approx=True)):
        with pytest.raises(ValueError, match=r"this model has no MLPs \(attn_only=True\), so blocks\.0\.\S+ never runs") as info, \
                _forbid_forward(attn_only.model, allowed=0):
            call(attn_only, progress=False, **extra)
        assert "\n" not in str(info.value)
    assert no_hooks(attn_only.model)


# ---- cancel and Ctrl-C -----------------------------------------------------------------------


@pytest.mark.parametrize("sequential", [False, True])
def test_cancel_token_stops_between_chunks(with_mlp: Setup, sequential: bool) -> None:
    token = patching.CancelToken()
    setter_calls = []

    def setter(corrupted, index, clean):  # cancels during the first chunk's forward pass
        setter_calls.append(index)
        token.cancel()
        return patching.layer_head_vector_patch_setter(corrupted, index, clean)

    done = 1 if sequential else 3  # the run, or the chunk of 3 runs, that was under way
    with pytest.raises(patching.PatchingCancelled, match=f"cancelled after {done} of 9") as info:
        patching.generic_activation_patch(
            *with_mlp.args, logit_diff, setter, "z", ["layer", "head"], cancel=token, batch_size=3,
            sequential=sequential, progress=False,
        )
    assert no_hooks(with_mlp.model)
    assert len(setter_calls) == done, "no run starts after the cancel"
    partial = info.value.partial_results
    assert partial.shape == (9,) and torch.isnan(partial).sum() == 9 - done
    full = patching.get_act_patch_attn_head_out_all_pos(*with_mlp.args, logit_diff, progress=False).flatten()
    assert (partial[:done] - full[:done]).abs().max() < TOL
    assert token.cancelled and "cancelled=True" in repr(token)


def test_cancel_from_another_thread(attn_only: Setup) -> None:
    token = patching.CancelToken()
    started = threading.Event()

    def metric(logits):
        started.set()
        token._event.wait(timeout=5)  # block until the other thread has cancelled
        return logit_diff(logits)

    threading.Thread(target=lambda: started.wait(5) and token.cancel()).start()
    with pytest.raises(patching.PatchingCancelled):
        patching.get_act_patch_attn_head_out_by_pos(*attn_only.args, metric, cancel=token, batch_size=2, progress=False)
    assert no_hooks(attn_only.model)


@pytest.mark.parametrize("where", ["metric", "hook"])
@pytest.mark.parametrize("sequential", [False, True])
def test_keyboard_interrupt_leaves_no_hooks(with_mlp: Setup, where: str, sequential: bool) -> None:
    calls = []

    def metric(logits):
        calls.append(1)
        if where == "metric" and len(calls) == 5:
            raise KeyboardInterrupt
        return logit_diff(logits)

    setter_calls = []

    def setter(corrupted, index, clean):
        setter_calls.append(1)
        if len(setter_calls) == 4:
            raise KeyboardInterrupt  # mid-forward, with the patching hooks attached
        return patching.layer_pos_patch_setter(corrupted, index, clean)

    patch_setter = setter if where == "hook" else patching.layer_pos_patch_setter
    with pytest.raises(KeyboardInterrupt):
        patching.generic_activation_patch(
            *with_mlp.args, metric, patch_setter, "attn_out", ["layer", "pos"],
            sequential=sequential, batch_size=2, progress=False,
        )
    assert no_hooks(with_mlp.model)


def test_progress_bar(attn_only: Setup, capsys: pytest.CaptureFixture) -> None:
    patching.get_act_patch_resid_pre(*attn_only.args, logit_diff)
    assert "10/10" in capsys.readouterr().err
    patching.get_act_patch_resid_pre(*attn_only.args, logit_diff, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("sequential", [False, True])
def test_progress_callback_and_metric_calls(with_mlp: Setup, sequential: bool) -> None:
    """progress may be a callable(done, total); the metric sees real logits once per computed run,
    plus once on the corrupted run (the check) and, batched with a position proof, once more."""
    steps, real_calls = [], []

    def metric(logits):
        if isinstance(logits, torch.Tensor):
            real_calls.append(1)
        return logit_diff(logits)

    patching.get_act_patch_resid_pre(
        *with_mlp.args, metric, sequential=sequential, batch_size=4, progress=lambda d, t: steps.append((d, t))
    )
    assert steps[-1] == (21, 21) and all(t == 21 for _, t in steps)
    assert [d for d, _ in steps] == sorted({d for d, _ in steps})
    computed = 21 if sequential else 21 - 3 * 2  # positions 0 and 1 are shared: 6 runs need no forward
    assert len(real_calls) == 1 + computed + (0 if sequential else 1)


# ---- what the engine shares and skips ----------------------------------------------------------


@pytest.mark.parametrize(
    "metric, positions",
    [
        (logit_diff, [6]),
        (last_log_prob, [6]),
        (middle_positions, [2, 3]),
        (lambda logits: logits[0, -2, 1] + logits[:, [0, 5], 2].sum(), [0, 5]),
        (log_prob, None),  # log_softmax over every position first
        (lambda logits: logits.mean(), None),
        (lambda logits: logits[..., -1, 0].mean(), None),
        (lambda logits: logits[:, -1, 0].mean() if logits[:, -1, 0].mean() > 0 else logits.sum(), None),
        (lambda logits: logits[:, -1].add_(1.0).mean(), None),  # writes in place
        (lambda logits: logits[:, -1].mean() + logits.shape[1], [6]),  # shapes are the same for partial logits
        (lambda logits: logits[:, -1].mean() * len(logits) / logits.size(0), [6]),
        (lambda logits: torch.tensor(logits[:, -1, 0].mean().item()), None),  # a value reaches Python
        (lambda logits: torch.tensor(logits[:, -1, 0].tolist()).mean(), None),
        (lambda logits: logits[:, logits[0, -1].argmax() % 7, 0].mean(), None),  # a data-dependent position
        (lambda logits: logits[:, -1:].exp_().mean(), None),  # a write into a view of the logits
        (lambda logits: torch.zeros(3).index_add_(0, torch.tensor([0]), logits[0, -1, :1]).sum(), [6]),
        (lambda logits: torch.zeros(()), None),  # reads nothing: nothing to restrict to
    ],
)
def test_observed_read_positions(metric, positions) -> None:
    from transformer_lens._patch_metric import metric_value, observed_metric_value

    logits = torch.randn(2, 7, 10, generator=torch.Generator().manual_seed(0))
    expected = metric_value(metric, logits.clone())
    value, read = observed_metric_value(metric, logits.clone())
    assert read == (sorted(set(positions)) if positions else None)
    assert torch.equal(value, expected)


def test_the_metric_only_ever_sees_real_tensors(with_mlp: Setup) -> None:
    seen: list[type] = []

    def metric(logits):
        seen.append(type(logits))
        return logit_diff(logits)

    batched = patching.get_act_patch_resid_pre(*with_mlp.args, metric, progress=False)
    assert seen and set(seen) == {torch.Tensor}
    # 1 check on the corrupted run + 1 on the first run's full logits + one per patched run that needs a forward.
    assert len(seen) == 2 + batched.numel() - 2 * with_mlp.model.cfg.n_layers
    reference = patching.get_act_patch_resid_pre(*with_mlp.args, logit_diff, sequential=True, progress=False)
    assert (batched - reference).abs().max() < TOL


def test_metric_reading_several_positions(with_mlp: Setup) -> None:
    batched = patching.get_act_patch_attn_head_out_by_pos(*with_mlp.args, middle_positions, progress=False)
    reference = patching.get_act_patch_attn_head_out_by_pos(
        *with_mlp.args, middle_positions, sequential=True, progress=False
    )
    assert (batched - reference).abs().max() < TOL and reference.std() > 1e-3


def test_read_positions_guard(with_mlp: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the proof ever be wrong, the run-time check falls back to every position."""
    from transformer_lens import _patch_engine

    def wrong_proof(metric, logits):
        return _patch_engine.metric_value(metric, logits), [0]  # wrong for log_prob

    monkeypatch.setattr(_patch_engine, "observed_metric_value", wrong_proof)
    batched = patching.get_act_patch_resid_pre(*with_mlp.args, log_prob, progress=False)
    reference = patching.get_act_patch_resid_pre(*with_mlp.args, log_prob, sequential=True, progress=False)
    assert (batched - reference).abs().max() < TOL


def _shared_positions(setup: Setup, cache: Any, activation: str = "z") -> int:
    from transformer_lens import _patch_engine

    traits = _patch_engine.SetterTraits(kept_dims=(2,), query_pos_parts=())
    setter = patching.layer_head_vector_patch_setter
    runs = [
        _patch_engine.PatchRun(f"blocks.{layer}.attn.hook_{activation}", setter, (layer, 0), traits)
        for layer in range(setup.model.cfg.n_layers)
    ]
    clean = _patch_engine.clean_activations(setup.model, cache, sorted({r.hook_name for r in runs}), setup.corrupted)
    with torch.no_grad():
        return _patch_engine._corrupted_run(setup.model, setup.corrupted, runs, clean, share=True).shared


def test_shared_prefix(with_mlp: Setup) -> None:
    """The first two tokens agree, so every patched run leaves positions 0 and 1 as they are: the
    engine computes the others only, and resid_pre patches there equal the corrupted metric."""
    assert _shared_positions(with_mlp, with_mlp.cache) == 2
    with torch.no_grad():
        corrupted_metric = last_log_prob(with_mlp.model(with_mlp.corrupted))
    resid = patching.get_act_patch_resid_pre(*with_mlp.args, last_log_prob, progress=False)
    assert (resid[:, :2] == corrupted_metric).all()


def test_edited_clean_prefix_is_not_shared(with_mlp: Setup) -> None:
    """A clean cache whose early positions differ (here: edited by hand) is patched in there too."""
    s = with_mlp
    edited = {name: act.clone() for name, act in s.cache.items()}
    edited["blocks.1.attn.hook_z"][:, 0] += 0.5
    assert _shared_positions(s, edited) == 0
    batched = patching.get_act_patch_attn_head_out_all_pos(s.model, s.corrupted, edited, logit_diff, progress=False)
    reference = patching.get_act_patch_attn_head_out_all_pos(
        s.model, s.corrupted, edited, logit_diff, sequential=True, progress=False
    )
    plain = patching.get_act_patch_attn_head_out_all_pos(*s.args, logit_diff, progress=False)
    assert (batched - reference).abs().max() < TOL
    assert (batched[1] - plain[1]).abs().max() > 1e-3 and (batched[0] - plain[0]).abs().max() < TOL


def test_callers_hooks_still_apply(with_mlp: Setup) -> None:
    """A hook the caller attached runs in every patched run, as with one forward per patch (the
    engine then shares no positions, so a position-specific hook stays right)."""
    s = with_mlp

    def damp(act, hook):
        act[:, 1] *= 0.5
        return act

    handles = s.model.add_hook("blocks.1.hook_resid_mid", damp)
    try:
        batched = patching.get_act_patch_attn_head_all_pos_every(*s.args, logit_diff, progress=False)
        reference = patching.get_act_patch_attn_head_all_pos_every(*s.args, logit_diff, sequential=True, progress=False)
        assert len(s.model.hook_dict["blocks.1.hook_resid_mid"].fwd_hooks) == 1
    finally:
        for handle in handles:
            handle.remove()
    plain = patching.get_act_patch_attn_head_all_pos_every(*s.args, logit_diff, progress=False)
    assert (batched - reference).abs().max() < TOL and (batched - plain).abs().max() > 1e-3


# ---- attribution patching ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SINGLE) + list(EVERY))
def test_attribution_shapes(setup: Setup, name: str) -> None:
    shape_fn, needs_mlp = {**SINGLE, **EVERY}[name]
    if needs_mlp and setup.model.cfg.attn_only:
        pytest.skip("no MLP in an attention-only model")
    approx = getattr(patching, name)(*setup.args, logit_diff, approx=True)
    assert approx.shape == _shape(setup, shape_fn) and torch.isfinite(approx).all()
    assert no_hooks(setup.model)


def test_attribution_exact_on_a_linear_path() -> None:
    """No LayerNorm and a logit difference: whatever the last block adds to the residual stream
    reaches the metric through linear maps only (its attention output and head outputs in an
    attention-only model, its MLP output otherwise), so the first-order estimate is exact there."""
    shape = dict(n_layers=2, n_heads=2, d_model=16, d_head=8, normalization_type=None)
    attn = _make_setup(3, batch=2, pos=6, attn_only=True, **shape)
    mlp = _make_setup(4, batch=2, pos=6, d_mlp=32, **shape)
    cases = [
        (attn, patching.get_act_patch_attn_out),
        (attn, patching.get_act_patch_attn_head_out_by_pos),
        (attn, patching.get_act_patch_attn_head_out_all_pos),
        (mlp, patching.get_act_patch_mlp_out),
    ]
    for s, fn in cases:
        exact = fn(*s.args, logit_diff, progress=False)
        approx = fn(*s.args, logit_diff, approx=True)
        assert (approx[-1] - exact[-1]).abs().max() < 1e-4, fn.__name__
        assert exact[-1].std() > 1e-3
        # Earlier layers go through attention softmaxes: only approximately equal.
        assert not torch.allclose(approx[0], exact[0], atol=1e-4)


def test_attribution_tracks_exact_for_small_perturbations(with_mlp: Setup) -> None:
    """A clean run a small step (eps * noise on the embeddings) away from the corrupted one.

    Criterion: at eps = 0.01 (about 3% of the embeddings' scale) the estimate correlates > 0.99
    with exact patching over the resid_pre and head grids, worst error < 10% of the grid's
    spread; and that relative error shrinks in proportion to eps (first-order accuracy). On this
    random model, eps = 0.2 gives correlations of only about 0.7 to 0.85: for large clean/corrupted
    gaps attribution patching is a screen, not a measurement.
    """
    s = with_mlp
    noise = torch.randn(s.corrupted.shape + (s.model.cfg.d_model,), generator=torch.Generator().manual_seed(0))

    def relative_error(fn, eps: float) -> tuple[float, float]:
        with torch.no_grad(), s.model.hooks(fwd_hooks=[("hook_embed", lambda embed, hook: embed + eps * noise)]):
            _, near_cache = s.model.run_with_cache(s.corrupted)
        exact = fn(s.model, s.corrupted, near_cache, log_prob, progress=False).flatten()
        approx = fn(s.model, s.corrupted, near_cache, log_prob, approx=True).flatten()
        correlation = torch.corrcoef(torch.stack([exact, approx]))[0, 1].item()
        return correlation, ((approx - exact).abs().max() / (exact.max() - exact.min())).item()

    for fn in (patching.get_act_patch_resid_pre, patching.get_act_patch_attn_head_all_pos_every):
        correlation, error = relative_error(fn, 0.01)
        assert correlation > 0.99 and error < 0.1, fn.__name__
        _, smaller_error = relative_error(fn, 0.002)
        assert smaller_error < error / 2.5, fn.__name__


def test_attribution_with_index_df_and_frozen_weights(with_mlp: Setup) -> None:
    pd = pytest.importorskip("pandas")
    s = with_mlp
    grid = patching.get_act_patch_attn_head_pattern_by_pos(*s.args, logit_diff, approx=True)
    for p in s.model.parameters():
        p.requires_grad_(False)
    try:
        rows = pd.DataFrame({"layer": [2, 0], "head_index": [1, 2], "dest_pos": [6, 3]})
        flat = patching.get_act_patch_attn_head_pattern_by_pos(*s.args, logit_diff, approx=True, index_df=rows)
        # A custom setter goes through the generic (per-index) path.
        generic = patching.generic_activation_patch(
            *s.args, logit_diff, lambda c, i, k: patching.layer_head_pos_pattern_patch_setter(c, i, k), "pattern",
            index_df=rows, approx=True,
        )
    finally:
        for p in s.model.parameters():
            p.requires_grad_(True)
    expected = torch.stack([grid[2, 1, 6], grid[0, 2, 3]])
    assert (flat - expected).abs().max() < TOL and (generic - expected).abs().max() < TOL
    with pytest.raises(ValueError, match="gradient"):
        patching.get_act_patch_resid_pre(*s.args, lambda logits: logit_diff(logits).detach(), approx=True)
    assert no_hooks(s.model)
