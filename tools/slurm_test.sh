#!/usr/bin/env bash
# Test on a Slurm cluster: tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5), SRUN_ARGS select the allocation.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/tools/misc/launcher.sh"
mmavs_slurm_run "$PARTITION" "$JOB_NAME" test.py "$CONFIG" "$CHECKPOINT" --launcher="slurm" "${@:5}"
