"""Test-wide settings: one torch thread (tiny models run faster, and no oversubscription)."""

import torch

torch.set_num_threads(1)
