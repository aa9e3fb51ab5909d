# Sourced by tools/misc/launcher.sh (the body of tools/dist_*.sh, tools/slurm_*.sh): choose the Python
# that runs the tools.
# Order: $PYTHON if set; else the project's environment (MMAVS_VENV, default <repo>/.venv, made by
# tools/misc/setup_env.sh) when it exists; else `python` from the PATH (a user's own environment).
# Needs ROOT (the repository root) to be set; sets PYTHON and defines mmavs_require_torch, which stops
# with a clear message when that Python cannot import torch (the dist launchers call it; the Slurm ones
# do not, since the compute nodes' environment may differ from the submitting shell's).
if [ -z "${PYTHON:-}" ]; then
  _mmavs_venv="${MMAVS_VENV:-$ROOT/.venv}"
  if [ -x "$_mmavs_venv/bin/python" ]; then
    PYTHON="$_mmavs_venv/bin/python"
  else
    PYTHON=python
  fi
  unset _mmavs_venv
fi
mmavs_require_torch() {
  if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "error: $PYTHON cannot import torch. Run 'bash tools/misc/setup_env.sh' once (it creates" \
         "$ROOT/.venv, which the launchers then use), or set PYTHON=/path/to/your/env/bin/python." >&2
    exit 1
  fi
}
