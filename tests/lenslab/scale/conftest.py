"""Fixtures for lenslab.scale: the embedded gelu-2l, token sets, and one local Ray cluster of 2 CPUs.

Ray starts once for the whole session (its start-up is the expensive part, 5-25 s on this machine);
tests that need it take ``ray_cluster``, which skips them when Ray is not installed.
"""

from __future__ import annotations

import contextlib

import pytest

MODEL = "lenslab/gelu-2l"


@pytest.fixture(scope="session")
def model():
    from transformer_lens import HookedTransformer

    return HookedTransformer.from_pretrained(MODEL)


@contextlib.contextmanager
def torch_threads(count: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def worker_model():
    """The model as a 1-CPU Ray worker holds it: Ray runs such workers with one thread
    (OMP_NUM_THREADS=1), and BLAS sums in an order that depends on the thread count (the folded
    ``b_O`` differs in its last bits), so the oracle for workers' output loads and runs on one thread."""
    from transformer_lens import HookedTransformer

    with torch_threads(1):
        return HookedTransformer.from_pretrained(MODEL)


@pytest.fixture(scope="session")
def tokens():
    """24 random sequences of 32 tokens (gelu-2l's vocabulary is 4096)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 4096, (24, 32), generator=generator)


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster of 2 CPUs (2 worker processes at most), shut down at the end of the session."""
    pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[scale]")')
    from lenslab.scale import _ray

    ray = _ray.connect(None, num_cpus=2)
    yield ray
    _ray.shutdown(ray_too=True)


@pytest.fixture(scope="session")
def oracle():
    return _oracle


def _oracle(model, tokens, hooks, batch_size, positions=None, threads=None):
    """run_with_cache on the same tokens, batch by batch as the workers run them, with the same hooks
    (and, given ``threads``, on that many threads, as the workers)."""
    import torch

    parts = {hook: [] for hook in hooks}
    with torch.no_grad(), (torch_threads(threads) if threads else contextlib.nullcontext()):
        for start in range(0, tokens.shape[0], batch_size):
            _, cache = model.run_with_cache(tokens[start : start + batch_size], names_filter=hooks, pos_slice=positions)
            for hook in hooks:
                parts[hook].append(cache[hook])
    return {hook: torch.cat(values) for hook, values in parts.items()}
