"""A reproducible `crafter.Env`: same seed and actions, same rollout, in any process.

Stock Crafter 1.8.3 is not reproducible: when it thins out creatures in a chunk it picks the one to
remove by index into a list built from a Python `set`, whose order follows memory addresses. Two
runs with the same seed and actions drift apart after a few hundred steps. This subclass orders the
candidates by position before the pick. It draws the same random numbers in the same order as stock
(so the RNG stream and everything else is unchanged); only the arbitrary choice is made fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import crafter
import numpy as np


class DeterministicCrafter(crafter.Env):
    """`crafter.Env` with position-ordered creature balancing (see the module docstring)."""

    def _balance_object(
        self,
        chunk: tuple[int, int, int, int],
        objs: Any,
        cls: type,
        material: str,
        span_dist: float,
        despan_dist: float,
        spawn_prob: float,
        despawn_prob: float,
        ctor: Callable[[np.ndarray], Any],
        target_fn: Callable[[int, int], tuple[float, float]],
    ) -> None:
        xmin, xmax, ymin, ymax = chunk
        random = self._world.random
        creatures = sorted((o for o in objs if isinstance(o, cls)), key=lambda o: tuple(o.pos))
        mask = self._world.mask(*chunk, material)
        target_min, target_max = target_fn(len(creatures), mask.sum())
        if len(creatures) < int(target_min) and random.uniform() < spawn_prob:
            self._spawn_in(chunk, mask, span_dist, ctor)
        elif len(creatures) > int(target_max) and random.uniform() < despawn_prob:
            victim = creatures[random.randint(0, len(creatures))]
            if self._player.distance(victim.pos) >= despan_dist:
                self._world.remove(victim)

    def _spawn_in(
        self,
        chunk: tuple[int, int, int, int],
        mask: np.ndarray,
        span_dist: float,
        ctor: Callable[[np.ndarray], Any],
    ) -> None:
        """Stock spawning: a random cell of `mask` (row-major over the chunk), if free and far."""
        xmin, xmax, ymin, ymax = chunk
        xs, ys = np.nonzero(mask)
        i = self._world.random.randint(0, len(xs))
        pos = np.array((xs[i] + xmin, ys[i] + ymin))
        if self._world[pos][1] is None and self._player.distance(pos) >= span_dist:
            self._world.add(ctor(pos))
