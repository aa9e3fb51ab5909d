#!/usr/bin/env bash
# Train and evaluate a list of configs over several seeds on one dataset, then print the mean +- std table
# (J, F, J with shuffled audio) with tools/analysis_tools/ablation_table.py.
#
# Usage:
#   bash tools/misc/run_ablation.sh [--generate SUBSET] [--data-root DIR] [--seeds "0 1 2"] \
#        [--work-dir DIR] [--] CONFIG [CONFIG ...]
# Example (the ICF ablation on a generated M3-layout set):
#   bash tools/misc/run_ablation.sh --generate ms3 --seeds "0 1 2" configs/icl/ablations/icl_tiny_synthetic_m3_*.py
#
# --generate ms3|s4 writes a generated set first (NUM_TRAIN / NUM_VAL / NUM_TEST / SIZE / CATEGORIES /
# CAPTION_MODE from the environment; defaults 320 / 24 / 40 / 64 / the main job's four categories / visual)
# and points every config at it; --generate visual-bias writes the visual-bias probe instead (MS3 layout, the
# larger object sounds in a share SHORTCUT of the train frames, default 0.9; see
# mmavs/datasets/synthetic/visual_bias.py) and also tests every run on the shortcut-contradicting split
# (metrics_contradict.json, a column of the table);
# without it the configs' own data roots (or --data-root) are used. Runs that already have both metric files
# are skipped, so an interrupted ablation resumes where it stopped. Extra train options: TRAIN_ARGS.
# LOAD_FROM starts every run from a checkpoint (load_from, weights only; "{seed}" is replaced by the run's
# seed), e.g. LOAD_FROM='work_dirs/ablation/icl_tiny_synthetic_m3_baseline/seed{seed}/epoch_8.pth' fine-tunes
# each seed's trained baseline.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
SEEDS="0 1 2"
WORK_DIR=work_dirs/ablation
DATA_ROOT=""
GENERATE=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seeds) SEEDS="$2"; shift 2 ;;
        --work-dir) WORK_DIR="$2"; shift 2 ;;
        --data-root) DATA_ROOT="$2"; shift 2 ;;
        --generate) GENERATE="$2"; shift 2 ;;
        --) shift; break ;;
        -*) echo "run_ablation.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [[ $# -eq 0 ]]; then
    echo "run_ablation.sh: give at least one config" >&2; exit 2
fi
for cfg in "$@"; do
    [[ -f "$cfg" ]] || { echo "run_ablation.sh: config not found: $cfg" >&2; exit 2; }
done
PY="$(bash tools/misc/setup_env.sh | tail -n 1)"
mkdir -p "$WORK_DIR"

if [[ -n "$GENERATE" ]]; then
    case "$GENERATE" in
        ms3) SUBDIR=Multi-sources ;;
        s4) SUBDIR=Single-source ;;
        visual-bias) SUBDIR=Multi-sources ;;
        *) echo "run_ablation.sh: --generate must be ms3, s4 or visual-bias, got $GENERATE" >&2; exit 2 ;;
    esac
    GEN_DIR="$WORK_DIR/data"
    GEN_ARGS=(--subset "$GENERATE")
    if [[ "$GENERATE" == visual-bias ]]; then
        GEN_DIR="$WORK_DIR/data_visual_bias"
        GEN_ARGS=(--subset ms3 --visual-shortcut "${SHORTCUT:-0.9}")
        CONTRADICT_ROOT="$GEN_DIR/shortcut_contradict/Multi-sources"
    fi
    read -r -a CATS <<< "${CATEGORIES:-dog_barking race_car helicopter male_speech}"
    if [[ ! -f "$GEN_DIR/.done_$GENERATE" ]]; then
        echo "[ablation] generating the $GENERATE set under $GEN_DIR"
        "$PY" tools/dataset_converters/generate_synthetic_avs.py "${GEN_ARGS[@]}" --out "$GEN_DIR" \
            --num-train "${NUM_TRAIN:-320}" --num-val "${NUM_VAL:-24}" --num-test "${NUM_TEST:-40}" \
            --size "${SIZE:-64}" --seed 0 --overwrite --categories "${CATS[@]}" \
            --caption-mode "${CAPTION_MODE:-visual}" \
            > "$WORK_DIR/generate.log" 2>&1 || { tail -n 20 "$WORK_DIR/generate.log"; exit 1; }
        touch "$GEN_DIR/.done_$GENERATE"
    fi
    DATA_ROOT="$GEN_DIR/$SUBDIR"
fi
CONTRADICT_ROOT="${CONTRADICT_ROOT:-}"

SPECS=()
for cfg in "$@"; do
    name="$(basename "$cfg" .py)"
    for seed in $SEEDS; do
        run="$WORK_DIR/$name/seed$seed"
        OPTS=(randomness.seed="$seed")
        if [[ -n "$DATA_ROOT" ]]; then
            OPTS+=(train_dataloader.dataset.data_root="$DATA_ROOT"
                   val_dataloader.dataset.data_root="$DATA_ROOT"
                   test_dataloader.dataset.data_root="$DATA_ROOT")
        fi
        if [[ -f "$run/metrics.json" && -f "$run/metrics_shuffled.json" \
              && ( -z "$CONTRADICT_ROOT" || -f "$run/metrics_contradict.json" ) ]]; then
            echo "[ablation] $name seed $seed: done before, skipped"
        else
            mkdir -p "$run"
            start=$(date +%s)
            TRAIN_OPTS=()
            if [[ -n "${LOAD_FROM:-}" ]]; then
                ckpt_in="${LOAD_FROM//\{seed\}/$seed}"
                [[ -f "$ckpt_in" ]] || { echo "run_ablation.sh: LOAD_FROM checkpoint not found: $ckpt_in" >&2; exit 2; }
                TRAIN_OPTS+=(load_from="$ckpt_in")
            fi
            # shellcheck disable=SC2086
            "$PY" tools/train.py "$cfg" --work-dir "$run" --cfg-options "${OPTS[@]}" "${TRAIN_OPTS[@]}" ${TRAIN_ARGS:-} \
                > "$run/train.log" 2>&1 || { tail -n 30 "$run/train.log"; exit 1; }
            ckpt="$run/$(xargs basename < "$run/last_checkpoint")"
            "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$run" --out "$run/metrics.json" \
                --cfg-options "${OPTS[@]}" > "$run/test.log" 2>&1 || { tail -n 30 "$run/test.log"; exit 1; }
            # own work dir: the config dumped next to the checkpoint stays one that hears the clip's own audio
            "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$run/shuffled_audio" --shuffle-audio 0 \
                --out "$run/metrics_shuffled.json" --cfg-options "${OPTS[@]}" > "$run/test_shuffled.log" 2>&1 \
                || { tail -n 30 "$run/test_shuffled.log"; exit 1; }
            if [[ -n "$CONTRADICT_ROOT" ]]; then
                "$PY" tools/test.py "$cfg" "$ckpt" --work-dir "$run/contradict" --out "$run/metrics_contradict.json" \
                    --cfg-options "${OPTS[@]}" test_dataloader.dataset.data_root="$CONTRADICT_ROOT" \
                    > "$run/test_contradict.log" 2>&1 || { tail -n 30 "$run/test_contradict.log"; exit 1; }
            fi
            echo "[ablation] $name seed $seed: $(( $(date +%s) - start )) s"
        fi
        SPECS+=("$name=$run")
    done
done
"$PY" tools/analysis_tools/ablation_table.py "${SPECS[@]}" --out "$WORK_DIR/table.md"
