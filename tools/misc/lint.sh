#!/usr/bin/env bash
# Lint the tree with the pinned ruff (configured in pyproject.toml: pycodestyle, pyflakes, import order,
# line length 120). Installs what is missing first, like the README's two commands. Exits non-zero on any
# violation.
# Usage: bash tools/misc/lint.sh            # check the whole tree
#        bash tools/misc/lint.sh --fix FILE  # any `ruff check` arguments (pre-commit passes file names)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="$(bash "$ROOT/tools/misc/setup_env.sh" | tail -n 1)"
cd "$ROOT"
if [ "$#" -eq 0 ]; then
  set -- .
fi
exec "$(dirname "$PY")/ruff" check "$@"
