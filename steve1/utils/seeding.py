"""One seeding helper for python, numpy and torch."""

from __future__ import annotations

import random

import numpy as np


def set_seed(seed: int) -> None:
    """Seed python's `random`, numpy's global RNG and (if installed) torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(seed)
