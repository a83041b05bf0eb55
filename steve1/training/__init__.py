"""The one training loop shared by the low-level policy and the goal prior (truncated BPTT, AdamW,
warmup + cosine schedule, validation with best-weights tracking, atomic checkpoints and resume)."""
