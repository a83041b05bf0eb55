"""The play agent's `random_paths`: shortest paths drawn at random (they zigzag) instead of the
first one found (it turns once)."""

from __future__ import annotations

import numpy as np

from steve1.data.generation.generate_crafter_play import PlayConfig, main, play_episode
from steve1.data.generation.navigation import GridSearch


def open_field_paths(random_ties: bool, seeds: range) -> list[list[tuple[int, int]]]:
    """Paths across an open 12x12 field from (1, 1) to (7, 6), one per rng seed."""
    grid = GridSearch((12, 12))
    costs = [1] * grid.size
    goals = [False] * grid.size
    goals[grid.index((7, 6))] = True
    paths = []
    for seed in seeds:
        path = grid.search(
            costs, grid.index((1, 1)), goals, np.random.default_rng(seed), random_ties=random_ties
        )
        paths.append([grid.pos(i) for i in path])
    return paths


def turns(path: list[tuple[int, int]]) -> int:
    steps = [(b[0] - a[0], b[1] - a[1]) for a, b in zip([(1, 1)] + path, path, strict=False)]
    return sum(s != t for s, t in zip(steps, steps[1:], strict=False))


def test_random_ties_draw_different_shortest_paths():
    first = open_field_paths(False, range(6))
    drawn = open_field_paths(True, range(6))
    for path in first + drawn:
        assert len(path) == 11 and path[-1] == (7, 6)  # 6 + 5 moves: every path is shortest
        cells = [(1, 1)] + path
        assert all(
            abs(a[0] - b[0]) + abs(a[1] - b[1]) == 1 for a, b in zip(cells, cells[1:], strict=False)
        )
    assert all(p == first[0] for p in first)  # the first path found, whatever the rng
    assert turns(first[0]) == 1
    assert len({tuple(p) for p in drawn}) >= 4
    assert np.mean([turns(p) for p in drawn]) > 2


def test_random_paths_is_recorded_and_changes_the_play():
    plain = play_episode(PlayConfig(output_dir=None, max_steps=150, perception="seen"), 0)
    drawn = play_episode(
        PlayConfig(output_dir=None, max_steps=150, perception="seen", random_paths=True), 0
    )
    assert plain["metadata"]["generator"]["random_paths"] is False
    assert drawn["metadata"]["generator"]["random_paths"] is True
    assert not np.array_equal(plain["actions"], drawn["actions"])


def test_random_paths_flag_reaches_the_config(monkeypatch, tmp_path):
    seen = []
    monkeypatch.setattr(
        "steve1.data.generation.generate_crafter_play.generate",
        lambda cfg, *a: seen.append(cfg) or 0,
    )
    main(["--output_dir", str(tmp_path), "--no-stats"])
    main(["--output_dir", str(tmp_path), "--random_paths", "--no-stats"])
    assert [cfg.random_paths for cfg in seen] == [False, True]
