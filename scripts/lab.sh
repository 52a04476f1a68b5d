#!/usr/bin/env bash
# Set up, then open JupyterLab on the quickstart notebook. Extra arguments go to `jupyter lab`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
extra=()
# JupyterLab refuses to start as root without this flag (containers, CI machines).
if [ "$(id -u)" = 0 ]; then extra+=(--allow-root); fi
exec jupyter lab binder/quickstart.ipynb "${extra[@]}" "$@"
