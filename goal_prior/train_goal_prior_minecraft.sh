#!/usr/bin/env bash
# Train the goal prior with the paper's Minecraft settings (upstream PTGM's train_goal_prior.sh):
# a VPT 2x whose image encoder and transformer start from OpenAI's RL-from-foundation weights, an
# N-way head over the N = 100 codebook, chunks of 640 frames in slices of 64, batch 4 x 4
# accumulation, lr 4e-5, goals 15-199 frames ahead, 100M frames. Needs `bash downloads.sh`, the
# sampling and the codebook (README, "Minecraft"), and a GPU. Every flag can be overridden by
# appending it; re-running resumes.
set -euo pipefail
python -m goal_prior.train \
  --sampling_dir downloads/samplings --sampling seed1 \
  --codebook_path downloads/codebook/tsne_n100_s1/codebook.npz \
  --in_model downloads/2x.model --in_weights downloads/rl-from-foundation-2x.weights \
  --out_weights results/goal_prior/weights/trained_with_script.weights \
  --checkpoint_dir results/goal_prior/training_checkpoint \
  --seed 1 \
  --T 640 --trunc_t 64 --batch_size 4 --gradient_accumulation_steps 4 \
  --min_btwn_goals 15 --max_btwn_goals 200 \
  --learning_rate 4e-5 --weight_decay 0.039428 --max_grad_norm 5.0 \
  --n_frames 100000000 --warmup_frames 10000000 \
  --val_freq 1000 --val_freq_begin 100 --val_freq_switch_steps 500 --val_every_nth 1 \
  --snapshot_every_n_frames 50000000 \
  --accelerate --mixed_precision bf16 \
  "$@"
