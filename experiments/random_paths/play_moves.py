"""How a play dataset's moves look: how often a move repeats the previous one, and how often a
move with water in view brings the player closer to it.

    PYTHONPATH=. python experiments/random_paths/play_moves.py data/crafter_play_seen \
        data/crafter_play_seen_rp --episodes 300

Over the played frames (no exploration noise) of the first `--episodes` episodes of each dataset:
per intention, the share of moves (after a move) that repeat it; and over the moves made with a
`collect_drink` intention and water in the 9x7 view, at least two cells away, the share that cut
the Manhattan distance to the nearest water cell in view (by that distance).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from steve1.data.episode_storage import EpisodeReader, list_episodes
from steve1.data.generation.navigation import MAT, MOVE_ACTION

STEP = {a: d for d, a in MOVE_ACTION.items()}
CENTER = (4, 3)  # the player's cell in the 9x7 local view


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--episodes", type=int, default=300)
    args = parser.parse_args(argv)
    for data_dir in args.data_dirs:
        episodes = [EpisodeReader(p) for p in list_episodes(data_dir)[: args.episodes]]
        names = episodes[0].metadata["intentions"]
        drink = names.index("collect_drink")
        repeats: dict[str, list[int]] = {}
        closer: dict[int, list[int]] = {}
        for ep in episodes:
            actions, states = ep.load_actions(), ep.load_states()
            played, intent = ~states["explore"], states["intention"]
            move = np.isin(actions, list(STEP))
            pair = move[1:] & move[:-1] & played[1:] & played[:-1]
            for k in np.unique(intent[1:][pair]):
                rows = pair & (intent[1:] == k)
                r = repeats.setdefault(names[k], [0, 0])
                r[0] += int((actions[1:][rows] == actions[:-1][rows]).sum())
                r[1] += int(rows.sum())
            for i in np.flatnonzero((intent == drink) & played & move):
                xs, ys = np.nonzero(states["local_view"][i] == MAT["water"])
                if not len(xs):
                    continue
                dist = np.abs(xs - CENTER[0]) + np.abs(ys - CENTER[1])
                if dist.min() < 2:
                    continue
                dx, dy = STEP[int(actions[i])]
                after = np.abs(xs - CENTER[0] - dx) + np.abs(ys - CENTER[1] - dy)
                c = closer.setdefault(int(dist.min()), [0, 0])
                c[0] += int(after.min() < dist.min())
                c[1] += 1
        top = sorted(repeats.items(), key=lambda kv: -kv[1][1])[:6]
        print(f"{data_dir} ({len(episodes)} episodes)")
        print(
            "  a move repeats the previous move: "
            + ", ".join(f"{name} {n / max(t, 1):.2f} ({t})" for name, (n, t) in top)
        )
        total = np.sum(list(closer.values()), axis=0)
        print(
            f"  drink intention, water 2+ cells away in view: the move is closer "
            f"{total[0] / total[1]:.3f} ({total[1]} moves); by distance: "
            + ", ".join(f"{d}: {n / t:.2f} ({t})" for d, (n, t) in sorted(closer.items()))
        )


if __name__ == "__main__":
    main()
