"""Train PTGM's high-level policy with PPO over the codebook (stage 6 of the pipeline).

    python ppo_highlevel.py --config crafter_cobblestone

For a Crafter task every model path defaults to the shipped models in `downloads/crafter/`; see
`python ppo_highlevel.py --help` and `hierarchical/run_config.py` for the flags (upstream's names)
and their defaults. Re-running the same command resumes the run; `--load <run dir>` resumes any.
"""

from __future__ import annotations

import sys

from hierarchical.ppo_run import train_high_level
from hierarchical.run_config import build_parser, explicit_flags, prepare_run_dir, resolve


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    config = resolve(parser.parse_args(argv))
    run_dir, config = prepare_run_dir(config, explicit_flags(parser, argv))
    print(f"run directory: {run_dir}", flush=True)
    train_high_level(config, run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
