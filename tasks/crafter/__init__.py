"""Crafter (the embedded default world) as gymnasium environments for task specs."""

from tasks.crafter.env import ACTION_NAMES, N_ACTIONS, CrafterTaskEnv
from tasks.crafter.world import DeterministicCrafter

__all__ = ["ACTION_NAMES", "N_ACTIONS", "CrafterTaskEnv", "DeterministicCrafter"]
