#!/usr/bin/env bash
# Create (or reuse) the project-local virtual environment .venv with the pinned CPU stack and mmavs
# installed in editable mode: the fresh-machine path. It installs exact pins (requirements/cpu.txt, then
# requirements/fresh_machine.txt: the runtime requirements, mmcv-lite and every extra), not the ranges
# that `pip install -e .` resolves on a user's own machine.
# Idempotent: re-running with unchanged requirements files and setup.py does nothing.
# Usage: bash tools/misc/setup_env.sh   (prints the path of the venv's python on its last line)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MMAVS_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.mmavs-stamp"
# Every requirements file (a new one included: glob order is stable) and setup.py.
want="$(cat "$ROOT"/requirements/*.txt "$ROOT"/setup.py | sha256sum | cut -d' ' -f1)"

if [ ! -x "$PY" ] || [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  echo "[setup_env] installing the CPU stack into $VENV (first run takes 1-2 minutes)" >&2
  [ -x "$PY" ] || python3 -m venv "$VENV"
  "$PY" -m pip install -q --upgrade "pip<26" >&2
  # torch first and alone, so nothing else can pull a CUDA build.
  "$PY" -m pip install -q -r "$ROOT/requirements/cpu.txt" >&2
  # cpu.txt as constraints: nothing in step 2 may move torch, torchaudio or setuptools.
  "$PY" -m pip install -q -r "$ROOT/requirements/fresh_machine.txt" -c "$ROOT/requirements/cpu.txt" >&2
  # torchaudio's wheel ships a CUDA-linked extension that cannot load beside CPU torch; without it
  # torchaudio falls back to its pure-PyTorch parts (functional.resample, transforms), which is all we use.
  "$PY" - <<'PYEOF' >&2
import glob, os, importlib.util
spec = importlib.util.find_spec('torchaudio')
if spec is not None:
    libdir = os.path.join(os.path.dirname(spec.origin), 'lib')
    for f in glob.glob(os.path.join(libdir, '*.so')):
        os.remove(f)
PYEOF
  "$PY" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" >&2
  # The pins must satisfy what mmavs declares (install_requires): stop here rather than run on a mismatch.
  "$PY" -m pip check >&2
  # PYTHONDONTWRITEBYTECODE is set here: byte-compile once so imports cost half as much.
  "$PY" -m compileall -q -j 2 "$VENV/lib" >/dev/null 2>&1 || true
  echo "$want" > "$STAMP"
fi
echo "$PY"
