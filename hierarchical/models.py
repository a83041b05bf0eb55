"""The frozen pre-trained models the high level builds on: low level, goal prior and codebook,
and for a MineDojo task MineCLIP, the model of its shaping reward.

Every path is checked before anything is built, and every mismatch between the three (code size
vs the low level's goal size, codebook size vs the prior's head) is an error that names both
files, so a wrong combination fails at start-up rather than in the middle of a run. MineCLIP is
loaded here, once per run, and shared by every env (training and evaluation) of the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from goal_prior.codebook import Codebook, CodebookError, load_codebook
from steve1.embed_conditioned_policy import EmbedConditionedPolicy
from steve1.goal_encoders.mineclip.shaping import MineCLIPShaping
from tasks.minedojo.clip_reward import ClipRewardModel
from VPT import downloads
from VPT.checkpoint import load_policy
from VPT.policy import VPTPolicy

SHIPPED = Path("downloads/crafter")
SHIPPED_FILES = {
    "in_model": SHIPPED / "steve1.model",
    "in_weights": SHIPPED / "steve1.weights",
    "prior_model": SHIPPED / "goal_prior.model",
    "prior_weights": SHIPPED / "goal_prior.weights",
    "codebook": SHIPPED / "codebook.npz",
}


class PretrainedModelError(FileNotFoundError):
    """A pre-trained file is missing or does not fit the others."""


@dataclass
class PretrainedModels:
    """The frozen parts of PTGM; `prior` is None when the run uses no goal prior, `clip_model`
    (the MineDojo tasks' shaping-reward model) None for a Crafter task."""

    low_level: EmbedConditionedPolicy
    codebook: Codebook
    prior: VPTPolicy | None
    clip_model: ClipRewardModel | None = None


def require_file(path: Path, what: str) -> Path:
    """`path` if it exists, else an error saying what it is and where such files come from: the
    `downloads.sh` line of an official file (`VPT.downloads`), the shipped or trained Crafter
    models otherwise."""
    try:
        return downloads.require_file(path, what)
    except downloads.MissingDownloadError as err:
        crafter_hint = "" if downloads.download_for(path) else _CRAFTER_HINT
        raise PretrainedModelError(f"{err}{crafter_hint}") from err


_CRAFTER_HINT = (
    f" The Crafter models ship in {SHIPPED}/ (restore them with `git checkout downloads/crafter`) "
    "or are trained by steve1/train_goal_conditioned_policy.sh, goal_prior/train_goal_prior.sh "
    "and goal_prior.generate_codebook; the Minecraft ones by the *_minecraft.sh versions of these "
    'scripts (README, "Minecraft").'
)


def load_pretrained(
    in_model: Path,
    in_weights: Path,
    codebook_path: Path,
    prior_model: Path | None = None,
    prior_weights: Path | None = None,
    device: str | torch.device = "cpu",
    mineclip: Path | None = None,
) -> PretrainedModels:
    """Load and cross-check the low level, the codebook and (when given) the goal prior.

    :param mineclip: MineCLIP checkpoint for a MineDojo task's shaping reward (None for Crafter);
        a missing official file names the `downloads.sh` line that fetches it.
    """
    clip_model = None
    if mineclip is not None:
        clip_model = MineCLIPShaping.load(mineclip, device)
        clip_model.model.requires_grad_(False)
    codebook = load_codebook(require_file(codebook_path, "codebook"))
    low_level = load_policy(
        require_file(in_model, "low-level .model"),
        require_file(in_weights, "low-level .weights"),
        policy_class=EmbedConditionedPolicy,
        device=device,
    ).eval()
    try:
        codebook.check_dim(low_level.goal_dim, f"the low-level policy {in_model}")
    except CodebookError as err:
        raise CodebookError(f"{codebook_path}: {err}") from None
    prior = None
    if prior_weights is not None:
        if prior_model is None:
            raise PretrainedModelError("--prior_weights needs the prior's .model file too")
        prior = load_policy(
            require_file(prior_model, "goal-prior .model"),
            require_file(prior_weights, "goal-prior .weights"),
            device=device,
        ).eval()
        if prior.action_space != codebook.N:
            raise CodebookError(
                f"the goal prior {prior_model} predicts {prior.action_space} codes but the "
                f"codebook {codebook_path} has {codebook.N}"
            )
    for model in (low_level, prior):
        if model is not None:
            model.requires_grad_(False)
    return PretrainedModels(low_level, codebook, prior, clip_model)
