#!/usr/bin/env bash
# Train the goal-conditioned low level on the Crafter play data (Crafter preset by default).
# Every flag can be overridden by appending it, e.g. `--n_frames 100000 --preset tiny`.
set -euo pipefail
python -m steve1.train \
  --sampling_dir data/samplings --sampling seed1 \
  --preset crafter \
  --out_weights results/steve1/weights/trained_with_script.weights \
  --checkpoint_dir results/steve1/training_checkpoint \
  --T 64 --trunc_t 32 --batch_size 16 --gradient_accumulation_steps 1 \
  --min_btwn_goals 5 --max_btwn_goals 20 --p_uncond 0.1 \
  --learning_rate 3e-4 --n_frames 2500000 --warmup_frames 50000 \
  --val_freq 1000 --val_freq_begin 100 --val_freq_switch_steps 500 \
  "$@"
