#!/usr/bin/env bash
# The recipe ablations of the README ("The recipe, chosen by measurement"): mnist5k, one run at a
# time, 600 steps of the base model; an architecture variant gets the steps that cost the same CPU
# time (per-step cost on one thread with bf16 autocast: base 1.27 s, --hidden-channels 64 4.13 s,
# --num-blocks 8 2.54 s, --num-scales 3 1.88 s). Runs go to ../runs/ablation/NAME; an interrupted
# one resumes. Then: tail -n1 ../runs/ablation/*/metrics.jsonl
cd "$(dirname "$0")/.."
OUT=${OUT:-../runs/ablation}
PY=${PY:-.venv/bin/python}
COMMON="--dataset mnist5k --seed 0 --batch-size 64 --lr 1e-3 --warmup-steps 100 --eval-batch-size 500"
run() { name=$1; steps=$2; shift 2
  [ -f "$OUT/$name/done" ] && return
  if [ -d "$OUT/$name/last" ]; then
    $PY -m train --resume --out "$OUT/$name" >> "$OUT/$name.log" 2>&1 && touch "$OUT/$name/done"
    return
  fi
  mkdir -p "$OUT"
  $PY -m train $COMMON --out "$OUT/$name" --steps "$steps" --eval-every "$steps" --checkpoint-every 50 "$@" \
     > "$OUT/$name.log" 2>&1 && touch "$OUT/$name/done"
}
run base 600                                  # nats, batch statistics, no weight average
run bits 600 --loss-units bits
run ema 600 --ema-decay 0.999
run bn-averaged 600 --bn-statistics averaged
run wide64 185 --hidden-channels 64
run deep8 300 --num-blocks 8
run scales3 405 --num-scales 3
