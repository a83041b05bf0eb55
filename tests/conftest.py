"""Test-wide settings: one torch thread (tiny models gain nothing from threads, and on a busy
machine every multi-threaded op waits for a free core)."""

import torch

torch.set_num_threads(1)
