#!/usr/bin/env bash
# Train the goal prior on the Crafter play data (Crafter preset by default).
# Every flag can be overridden by appending it, e.g. `--n_frames 100000`.
# As upstream starts the prior from VPT's pre-trained trunk, the Crafter prior starts from the
# trunk (image encoder + transformer) of the low level trained by stage 4.
set -euo pipefail
python -m goal_prior.train \
  --sampling_dir data/samplings --sampling seed1 \
  --codebook_path data/codebook/tsne_n50_s1/codebook.npz \
  --preset crafter \
  --in_weights results/steve1/weights/trained_with_script_best.weights \
  --out_weights results/goal_prior/weights/trained_with_script.weights \
  --checkpoint_dir results/goal_prior/training_checkpoint \
  --T 64 --trunc_t 32 --batch_size 16 \
  --min_btwn_goals 5 --max_btwn_goals 50 \
  --learning_rate 3e-4 --n_frames 1000000 --warmup_frames 50000 \
  "$@"
