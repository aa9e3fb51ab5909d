#!/usr/bin/env bash
# Distributed testing with torchrun: tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args...]
# NNODES / NODE_RANK / MASTER_ADDR / PORT select a multi-node set-up (see tools/misc/launcher.sh).
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/tools/misc/launcher.sh"
mmavs_dist_run "$GPUS" test.py "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
