#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, generate a small S4-layout dataset (640 / 24 /
# 40 clips, 64x64 frames, 4 sound categories, visual-only MIT captions, so that a from-scratch model learns it
# in minutes), train the small ICF model (MIT + SC + CDCL), evaluate it with the clips' own audio and with
# shuffled audio, and print J and F.
# Usage: bash tools/misc/run_main_job.sh [extra tools/train.py args, e.g. --cfg-options ...]
# Environment: CONFIG (default configs/icl/icl_tiny_synthetic_s4.py;
# configs/baseline/baseline_tiny_synthetic_s4.py is the small baseline), WORK_DIR, DATA_DIR, SEED.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
START=$(date +%s)
PY="$(bash tools/misc/setup_env.sh | tail -n 1)"
CONFIG=${CONFIG:-configs/icl/icl_tiny_synthetic_s4.py}
WORK_DIR=${WORK_DIR:-work_dirs/main_job}
DATA_DIR=${DATA_DIR:-data/synthetic}
SEED=${SEED:-0}
mkdir -p "$WORK_DIR"

echo "[main job] 1/4 generating the S4-layout set under $DATA_DIR"
"$PY" tools/dataset_converters/generate_synthetic_avs.py --subset s4 --out "$DATA_DIR" \
    --num-train 640 --num-val 24 --num-test 40 --size 64 --seed "$SEED" --overwrite \
    --categories dog_barking race_car helicopter male_speech \
    > "$WORK_DIR/generate.log" 2>&1 || { tail -n 20 "$WORK_DIR/generate.log"; exit 1; }

DATA_OPTS=(train_dataloader.dataset.data_root="$DATA_DIR/Single-source"
           val_dataloader.dataset.data_root="$DATA_DIR/Single-source"
           test_dataloader.dataset.data_root="$DATA_DIR/Single-source"
           randomness.seed="$SEED")

echo "[main job] 2/4 training $CONFIG (log: $WORK_DIR/train.log)"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" --cfg-options "${DATA_OPTS[@]}" "$@" \
    > "$WORK_DIR/train.log" 2>&1 || { tail -n 30 "$WORK_DIR/train.log"; exit 1; }
CKPT="$WORK_DIR/$(cat "$WORK_DIR/last_checkpoint" | xargs basename)"

echo "[main job] 3/4 evaluating $CKPT on the test split"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --out "$WORK_DIR/test_metrics.json" \
    --cfg-options "${DATA_OPTS[@]}" > "$WORK_DIR/test.log" 2>&1 \
    || { tail -n 30 "$WORK_DIR/test.log"; exit 1; }

echo "[main job] 4/4 evaluating again with every clip's audio replaced by another clip's"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --shuffle-audio 0 \
    --out "$WORK_DIR/test_metrics_shuffled_audio.json" --cfg-options "${DATA_OPTS[@]}" \
    > "$WORK_DIR/test_shuffled.log" 2>&1 || { tail -n 30 "$WORK_DIR/test_shuffled.log"; exit 1; }

"$PY" tools/analysis_tools/compare_metrics.py \
    "own audio=$WORK_DIR/test_metrics.json" \
    "shuffled audio=$WORK_DIR/test_metrics_shuffled_audio.json"
echo "[main job] done in $(( $(date +%s) - START )) s; logs and checkpoint in $WORK_DIR"
