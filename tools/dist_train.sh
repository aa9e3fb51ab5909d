#!/usr/bin/env bash
# Distributed training with torchrun: tools/dist_train.sh CONFIG NUM_PROCS [train.py args...]
# gloo on CPU-only machines, nccl on GPUs (chosen by tools/train.py). NNODES / NODE_RANK / MASTER_ADDR /
# PORT select a multi-node set-up (see tools/misc/launcher.sh).
set -euo pipefail
CONFIG=$1
GPUS=$2
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
source "$ROOT/tools/misc/launcher.sh"
mmavs_dist_run "$GPUS" train.py "$CONFIG" --launcher pytorch "${@:3}"
