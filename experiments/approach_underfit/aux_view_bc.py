"""Behaviour cloning with an auxiliary loss that keeps the whole view in the image encoder.

    python experiments/approach_underfit/aux_view_bc.py --aux_weight 1 <steve1.train flags>

The low-level trainer (`steve1.train`, every flag of it) with one more loss on every training frame:
a linear head on the image encoder's features predicts the 63 cell ids of the 9x7 view, the
facing and the 16 inventory counts (capped at 9), from `states.npz` (as `view_pretrain.py`),
cross-entropy averaged over those 80 labels and the frames, times `--aux_weight` and the slice's
length (the cloning loss sums over a slice's frames), added to the cloning loss of each training
slice. The head has its own optimizer group (no weight decay) and is left out of the gradient
clipping; it is trained with the policy and thrown away: the written weights are the low level's
only. Validation stays the cloning NLL, so `_best` tracks it alone: evaluate `_latest`. The head is
not checkpointed, so the script refuses a `--checkpoint_dir` that already holds checkpoints.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from view_pretrain import N_IDS, VIEW_CELLS, view_labels  # same directory

from steve1 import train as steve1_train
from steve1.data import goal_dataset
from steve1.data.episode_storage import EpisodeReader
from steve1.training import loop
from steve1.training.checkpoint import list_checkpoints

N_LABELS = VIEW_CELLS + 1 + 16  # the view's cells, the facing, the inventory counts


def episode_labels(path: Path) -> np.ndarray:
    """(L, 80) int64: the view's 63 cell ids, the facing, the 16 capped inventory counts."""
    return view_labels(EpisodeReader(path).load_states(), with_player=True)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    aux_weight = 1.0
    if "--aux_weight" in argv:
        i = argv.index("--aux_weight")
        aux_weight = float(argv[i + 1])
        del argv[i : i + 2]

    labels: dict[int, list[np.ndarray]] = {}
    orig_cache_init = goal_dataset.EpisodeCache.__init__

    def cache_init(self, readers):  # type: ignore[no-untyped-def]
        orig_cache_init(self, readers)
        labels[id(self)] = [episode_labels(p) for p in self.paths]

    goal_dataset.EpisodeCache.__init__ = cache_init
    orig_get = goal_dataset.HindsightGoalChunks.get

    def get(self, i, rng):  # type: ignore[no-untyped-def]
        chunk = orig_get(self, i, rng)
        episode, start = self.index[i]
        chunk.aux = labels[id(self.cache)][episode][start : start + self.T]
        return chunk

    goal_dataset.HindsightGoalChunks.get = get

    orig_trainer_init = loop.Trainer.__init__

    def trainer_init(self, objective, train_data, val_data, cfg):  # type: ignore[no-untyped-def]
        orig_trainer_init(self, objective, train_data, val_data, cfg)
        hidsize = self.policy.policy_kwargs["hidsize"]
        self.aux_head = torch.nn.Linear(hidsize, N_LABELS * N_IDS).to(self.device)
        self.optimizer.add_param_group(
            {"params": list(self.aux_head.parameters()), "weight_decay": 0.0}
        )
        self.aux_feats = None

        def hook(_module, _inp, out):  # type: ignore[no-untyped-def]
            self.aux_feats = out

        self.policy.net.img_process.register_forward_hook(hook)
        orig_collate = objective.collate

        def collate(chunks, device):  # type: ignore[no-untyped-def]
            batch = orig_collate(chunks, device)
            if all(hasattr(c, "aux") for c in chunks):
                batch["aux"] = torch.from_numpy(np.stack([c.aux for c in chunks])).to(device)
            return batch

        objective.collate = collate

    loop.Trainer.__init__ = trainer_init
    orig_slice_loss = loop.Trainer._slice_loss

    def slice_loss(self, batch, sl, state, chunk_start):  # type: ignore[no-untyped-def]
        loss, sums, state = orig_slice_loss(self, batch, sl, state, chunk_start)
        if self.model.training and "aux" in batch:
            feats = self.aux_feats  # (B, t, hidsize)
            logits = self.aux_head(torch.relu(feats)).view(*feats.shape[:2], N_LABELS, N_IDS)
            target = batch["aux"][:, sl]
            aux = torch.nn.functional.cross_entropy(logits.reshape(-1, N_IDS), target.reshape(-1))
            # the cloning loss sums over the slice's frames: scale the mean likewise
            loss = loss + aux_weight * aux * target.shape[1]
            if self.step % self.cfg.log_freq == 0:
                acc = (logits.argmax(-1) == target).float().mean().item()
                print(
                    f"[aux] slice {self.step}: ce {aux.item():.3f}, acc {acc:.3f}", file=sys.stderr
                )
        return loss, sums, state

    loop.Trainer._slice_loss = slice_loss
    args = steve1_train.parse_args(argv)
    if list_checkpoints(args.checkpoint_dir):
        raise SystemExit(
            f"error: {args.checkpoint_dir} holds checkpoints; this script cannot resume (its "
            "head is not saved): use a new --checkpoint_dir"
        )
    steve1_train.main(argv)


if __name__ == "__main__":
    main()
