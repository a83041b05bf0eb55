"""Stable-Baselines3 glue for recurrent VPT-style policies (PTGM's high level trains with it).

- `VPTActorCriticPolicy` (`policy.py`): a VPT network as an SB3 policy; Discrete(N) (codes) or
  Box (goal vectors) actions; upstream's initialisations and trainable set.
- `SequenceRolloutBuffer` (`buffer.py`): whole env sequences plus each env's memory at the
  rollout start; GAE with truncation bootstrapping.
- `VPTPPO` (`ppo.py`): PPO acting with memory, training on whole sequences, with a reward-shaping
  hook (PTGM's KL-to-prior reward).
- `save_checkpoint` / `load_checkpoint` (`checkpoint.py`): resumable runs.

Observations are uint8 (H, W, C) frames or a Dict with the frame under "pov"
(`observations.py`). Imports nothing from the project but `VPT`.
"""

from sb3_vpt.buffer import SequenceBatch, SequenceRolloutBuffer
from sb3_vpt.checkpoint import CheckpointMismatchError, load_checkpoint, save_checkpoint
from sb3_vpt.heads import DiagGaussianHead, reset_heads_
from sb3_vpt.observations import POV_KEY, ObservationSpaceError
from sb3_vpt.policy import SequenceEvaluation, StepResult, VPTActorCriticPolicy
from sb3_vpt.ppo import VPTPPO, RewardShaper
from sb3_vpt.trainable import DEFAULT_TRAINABLE

__all__ = [
    "DEFAULT_TRAINABLE",
    "POV_KEY",
    "VPTPPO",
    "CheckpointMismatchError",
    "DiagGaussianHead",
    "ObservationSpaceError",
    "RewardShaper",
    "SequenceBatch",
    "SequenceEvaluation",
    "SequenceRolloutBuffer",
    "StepResult",
    "VPTActorCriticPolicy",
    "load_checkpoint",
    "reset_heads_",
    "save_checkpoint",
]
