#!/usr/bin/env bash
# The whole test suite: set-up, then every runner. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate

status=0
python -m pytest -q tests "$@" || status=$?

# JS tests (vitest for js/ and labext/) go here, e.g. `jlpm test || status=$?`,
# so a Python failure does not hide their result.
if command -v node >/dev/null; then
    jlpm typecheck || status=$?
    jlpm test || status=$?
else
    echo "test: node missing: skipping the TypeScript typecheck and vitest" >&2
    status=1
fi

exit "$status"
