#!/usr/bin/env bash
# Train the goal-conditioned low level with the paper's Minecraft settings (upstream PTGM's
# train_goal_conditioned_policy.sh): VPT 2x from OpenAI's RL-from-foundation weights, contractor
# episodes embedded with MineCLIP, chunks of 640 frames in slices of 64, batch 4 x 4 accumulation,
# lr 4e-5, goals 15-199 frames ahead, 100M frames. Needs `bash downloads.sh`, the contractor data
# and its sampling (README, "Minecraft"), and a GPU (bf16 needs Ampere or newer). Every flag can be
# overridden by appending it; re-running resumes. For several GPUs, run the same flags through
# `accelerate launch -m steve1.train`.
set -euo pipefail
python -m steve1.train \
  --sampling_dir downloads/samplings --sampling seed1 \
  --in_model downloads/2x.model --in_weights downloads/rl-from-foundation-2x.weights \
  --out_weights results/steve1/weights/trained_with_script.weights \
  --checkpoint_dir results/steve1/training_checkpoint \
  --seed 42 \
  --T 640 --trunc_t 64 --batch_size 4 --gradient_accumulation_steps 4 \
  --min_btwn_goals 15 --max_btwn_goals 200 --p_uncond 0.1 \
  --learning_rate 4e-5 --weight_decay 0.039428 --max_grad_norm 5.0 \
  --n_frames 100000000 --warmup_frames 10000000 \
  --val_freq 1000 --val_freq_begin 100 --val_freq_switch_steps 500 --val_every_nth 1 \
  --snapshot_every_n_frames 50000000 \
  --accelerate --mixed_precision bf16 \
  "$@"
