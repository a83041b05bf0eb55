"""High-level PPO over the codebook: the downstream stage of PTGM (not implemented yet).

This entry point keeps upstream's name and place. The high-level environment, policy and PPO arrive
with the high-level RL issue; until then it stops with a clear message instead of pretending to run.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print(
        "ppo_highlevel.py: high-level RL is not implemented yet in this version of the project. "
        "Available now: play-data generation (python -m steve1.data.generation.generate_crafter_play) "
        "and the Crafter task environments (tasks.make). See README.md.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
