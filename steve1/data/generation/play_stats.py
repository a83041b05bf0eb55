"""Statistics of a play dataset: the share of episodes unlocking each achievement, and more.

python -m steve1.data.generation.play_stats --data_dir data/crafter_play
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import crafter
import numpy as np

from steve1.data.episode_storage import EpisodeReader, list_episodes, open_episodes
from steve1.data.generation.crafter_state import ACHIEVEMENTS, ITEMS

FULL = crafter.constants.items["drink"]["max"]


def play_stats(data_dir: Path | str) -> dict[str, Any]:
    """Per-achievement episode fraction and mean count, frames, lengths and deaths."""
    readers = open_episodes(list_episodes(data_dir))
    if not readers:
        raise SystemExit(f"error: no readable episodes in {data_dir}")
    metas = [r.metadata for r in readers]
    names = sorted(metas[0]["achievements"])
    counts = np.array([[m["achievements"][n] for n in names] for m in metas], dtype=np.float64)
    lengths = np.array([m["length"] for m in metas])
    states = [r.load_states() for r in readers]
    drinks = np.array([drinks_at_full(r, s) for r, s in zip(readers, states, strict=True)])
    driven = np.array([driven_frames(r, s) for r, s in zip(readers, states, strict=True)])
    drinks, driven = drinks.sum(axis=0), driven.sum(axis=0)
    return {
        "episodes": len(metas),
        "frames": int(lengths.sum()),
        "mean_length": float(lengths.mean()),
        "died": float(np.mean([m.get("died", False) for m in metas])),
        "drinks": int(drinks[0]),
        "drinks_at_full": int(drinks[1]),
        "driven": int(driven[0]),
        "driven_differs": int(driven[1]),
        "achievements": {
            n: {
                "episodes": float((counts[:, j] > 0).mean()),
                "mean_count": float(counts[:, j].mean()),
            }
            for j, n in enumerate(names)
        },
    }


def drinks_at_full(
    reader: EpisodeReader, states: dict[str, np.ndarray] | None = None
) -> tuple[int, int]:
    """(drinks, drinks taken with a full drink bar) in one episode, from its recorded states
    (`states`: the reader's, if already loaded).

    States are recorded before each action, so the bar is read at the frame before the drink (a
    drink on the episode's very last action is not seen)."""
    states = reader.load_states() if states is None else states
    if "achievements" not in states or "inventory" not in states:
        raise SystemExit(
            f"error: {reader.path} has no recorded achievements/inventory (states.npz); "
            "regenerate it with steve1.data.generation.generate_crafter_play"
        )
    drunk = np.flatnonzero(np.diff(states["achievements"][:, ACHIEVEMENTS.index("collect_drink")]))
    bar = states["inventory"][drunk, ITEMS.index("drink")]
    return len(drunk), int((bar >= FULL).sum())


def driven_frames(
    reader: EpisodeReader, states: dict[str, np.ndarray] | None = None
) -> tuple[int, int]:
    """(frames in which a driver acted, those whose label differs from the driver's action) in
    one episode of on-policy data (`hierarchical.dagger_play`); (0, 0) for play data."""
    states = reader.load_states() if states is None else states
    if "driven" not in states:
        return 0, 0
    took = states["driven"].astype(bool)
    differs = states["executed"][took] != reader.load_actions()[took]
    return int(took.sum()), int(differs.sum())


def print_play_stats(data_dir: Path | str) -> dict[str, Any]:
    """Print the achievement table of a dataset (markdown) and return the statistics."""
    stats = play_stats(data_dir)
    print(
        f"{data_dir}: {stats['episodes']} episodes, {stats['frames']} frames, mean length "
        f"{stats['mean_length']:.0f}, died in {stats['died']:.0%} of episodes; "
        f"{stats['drinks_at_full']} of {stats['drinks']} drinks taken with a full drink bar"
    )
    if stats["driven"]:
        print(
            f"a driver acted in {stats['driven'] / stats['frames']:.0%} of the frames; the play "
            f"agent's label differs from its action in {stats['driven_differs'] / stats['driven']:.0%} "
            "of those"
        )
    print("| achievement | share of episodes | mean count per episode |")
    print("|---|---|---|")
    for name, row in stats["achievements"].items():
        print(f"| {name} | {row['episodes']:.2f} | {row['mean_count']:.2f} |")
    return stats


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, default=Path("data/crafter_play"))
    args = parser.parse_args(argv)
    print_play_stats(args.data_dir)


if __name__ == "__main__":
    main()
