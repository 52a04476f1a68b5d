#!/usr/bin/env bash
# Make .venv ready for LensLab: Python deps, the CPU torch wheel, and lenslab itself (editable).
# Idempotent: a second run with nothing changed returns in about a second.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
VENV="$ROOT/.venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "${PYTHON:-python3}" -m venv "$VENV"
fi
PY="$VENV/bin/python"

# Re-run pip when pyproject.toml or this script changed, or when the editable install
# does not point at this checkout (a fresh clone, a moved tree).
stamp="$VENV/.lenslab-setup"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) $ROOT"
installed_here() {
    "$PY" - "$ROOT" <<'PYEOF' 2>/dev/null
import importlib.util, os, sys
root = sys.argv[1]
for name in ("transformer_lens", "lenslab"):
    spec = importlib.util.find_spec(name)
    paths = list(spec.submodule_search_locations or []) if spec else []
    if os.path.join(root, "py_src", name) not in [os.path.abspath(p) for p in paths]:
        sys.exit(1)
PYEOF
}
# pip warns once per package that this machine's extra local index lacks it; that is noise.
quiet_pip() {
    "$PY" -m pip "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}
# Widgets: js/ -> py_src/lenslab/static (esbuild; jlpm comes with jupyterlab). Cheap when nothing
# changed, so it runs on every call, like the browser check after it.
setup_widgets() {
    local jlpm="$VENV/bin/jlpm" js_stamp="$ROOT/node_modules/.lenslab-jlpm-install" js_want
    if ! command -v node >/dev/null || [ ! -x "$jlpm" ]; then
        echo "setup: node or jlpm missing: widget bundles not built (the widgets will say so)"
        return 0
    fi
    js_want="$(cat package.json yarn.lock .yarnrc.yml | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$js_stamp" ] || [ "$(cat "$js_stamp")" != "$js_want" ]; then
        echo "setup: jlpm install"
        "$jlpm" install > "$VENV/.jlpm-install.log" 2>&1 || { cat "$VENV/.jlpm-install.log"; return 1; }
        echo "$js_want" > "$js_stamp"
    fi
    "$jlpm" build:widgets >/dev/null
}
# The sidebar labextension (labext/ -> py_src/lenslab/labextension): rebuilt when its sources
# changed, then copied into the venv, where an editable install put a copy once (pip's shared-data).
setup_labextension() {
    local jlpm="$VENV/bin/jlpm" out="$ROOT/py_src/lenslab/labextension" dest="$VENV/share/jupyter/labextensions/lenslab"
    local lab_stamp="$VENV/.lenslab-labext" lab_want
    if ! command -v node >/dev/null || [ ! -x "$jlpm" ] || [ ! -d "$ROOT/node_modules" ]; then
        echo "setup: node or jlpm missing: the JupyterLab sidebar is not built"
        return 0
    fi
    lab_want="$(find labext/src labext/style labext/tsconfig.json package.json -type f -not -name '*.test.ts' | sort | xargs cat | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$out/package.json" ] || [ ! -f "$lab_stamp" ] || [ "$(cat "$lab_stamp")" != "$lab_want" ]; then
        echo "setup: building the JupyterLab sidebar (labext/)"
        # jupyter-builder lives in the venv, which need not be active here.
        { PATH="$VENV/bin:$PATH" "$jlpm" build:lib && PATH="$VENV/bin:$PATH" "$jlpm" build:labextension:dev; } \
            > "$VENV/.labext-build.log" 2>&1 || { cat "$VENV/.labext-build.log"; return 1; }
        echo "$lab_want" > "$lab_stamp"
    fi
    if ! cmp -s "$out/package.json" "$dest/package.json"; then
        rm -rf "$dest" && mkdir -p "$dest" && cp -R "$out/." "$dest/" && cp install.json "$dest/"
    fi
}
# Browser e2e tests use Debian's chromium (never `playwright install`). CI runs as root on a fresh machine.
setup_browser() {
    [ -x /usr/bin/chromium ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "setup: apt-get install chromium (browser tests)"
        apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
    else
        echo "setup: /usr/bin/chromium missing: browser tests will skip (as root: apt-get update && apt-get install -y chromium)"
    fi
}

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && installed_here; then
    setup_widgets
    setup_labextension
    setup_browser
    exit 0
fi

# torch first, pinned: 2.13.0 is the CPU wheel on this machine's disk. Letting the resolver
# pick torch (for `torch>=2.1` below) would fetch a newer CUDA build of several GB.
if ! "$PY" -c 'import torch, sys; sys.exit(not torch.__version__.startswith("2.13.0"))' 2>/dev/null; then
    echo "setup: installing torch==2.13.0"
    quiet_pip install -q torch==2.13.0
fi
# The sae extra brings sae-lens on LensLab: it names compat/transformer-lens, LensLab's stand-in for the
# transformer-lens distribution, so pip installs no upstream TransformerLens over our transformer_lens.
echo "setup: installing lenslab (editable) with the jupyter, test, sae and scale extras"
quiet_pip install -q -e ".[jupyter,test,sae,scale]"
setup_widgets
setup_labextension
setup_browser
echo "$want" > "$stamp"
echo "setup: done"
