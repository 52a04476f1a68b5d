"""``import lenslab`` notices when ``transformer_lens`` is upstream's package, not LensLab's core."""

from __future__ import annotations

import importlib.util
import warnings
from types import SimpleNamespace

import pytest

from lenslab import _core_check
from lenslab._core_check import ShadowedCoreWarning

UPSTREAM_INIT = '__version__ = "3.9.0"\nfrom . import hook_points\nfrom .HookedTransformer import HookedTransformer\n'


def test_our_core_is_recognised():
    import transformer_lens

    assert _core_check.shadowing_core(transformer_lens.__file__) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _core_check.warn_if_core_shadowed() is False


def test_an_upstream_package_is_named_in_one_warning(tmp_path, monkeypatch):
    init = tmp_path / "transformer_lens" / "__init__.py"
    init.parent.mkdir()
    init.write_text(UPSTREAM_INIT)
    assert _core_check.shadowing_core(str(init)) == str(init)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: SimpleNamespace(origin=str(init)))
    with pytest.warns(ShadowedCoreWarning) as record:
        assert _core_check.warn_if_core_shadowed() is True
    assert len(record) == 1
    message = str(record[0].message)
    assert f"transformer_lens is upstream TransformerLens ({init})" in message
    assert "pip uninstall -y transformer-lens" in message and "./compat/transformer-lens" in message


def test_no_transformer_lens_at_all_is_left_to_the_import_error():
    assert _core_check.shadowing_core(None) is None
