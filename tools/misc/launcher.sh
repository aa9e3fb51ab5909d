# Sourced by the launchers (tools/dist_*.sh, tools/slurm_*.sh): the one body that starts a tool under
# torchrun or srun. Needs ROOT (the repository root); picks the Python with tools/misc/find_python.sh.
#
#   mmavs_dist_run NUM_PROCS TOOL [TOOL args...]
#       torchrun of tools/TOOL with NUM_PROCS processes per node; NNODES (default 1), NODE_RANK (0),
#       MASTER_ADDR (127.0.0.1) and PORT (29500) select a multi-node set-up. Stops with a clear message
#       when the chosen Python cannot import torch.
#   mmavs_slurm_run PARTITION JOB_NAME TOOL [TOOL args...]
#       srun of tools/TOOL on PARTITION; GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5) and
#       SRUN_ARGS (extra srun arguments, word-split) select the allocation.
source "$ROOT/tools/misc/find_python.sh"  # PYTHON: $PYTHON, else the project .venv, else python

mmavs_dist_run() {
  local nproc=$1 tool=$2
  shift 2
  mmavs_require_torch
  PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
  "$PYTHON" -m torch.distributed.run \
      --nnodes="${NNODES:-1}" \
      --node_rank="${NODE_RANK:-0}" \
      --master_addr="${MASTER_ADDR:-127.0.0.1}" \
      --nproc_per_node="$nproc" \
      --master_port="${PORT:-29500}" \
      "$ROOT/tools/$tool" "$@"
}

mmavs_slurm_run() {
  local partition=$1 job_name=$2 tool=$3
  shift 3
  local gpus_per_node=${GPUS_PER_NODE:-8}
  # shellcheck disable=SC2086  # SRUN_ARGS holds several srun arguments
  PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
  srun -p "$partition" \
      --job-name="$job_name" \
      --gres=gpu:"$gpus_per_node" \
      --ntasks="${GPUS:-8}" \
      --ntasks-per-node="$gpus_per_node" \
      --cpus-per-task="${CPUS_PER_TASK:-5}" \
      --kill-on-bad-exit=1 \
      ${SRUN_ARGS:-} \
      "$PYTHON" -u "$ROOT/tools/$tool" "$@"
}
