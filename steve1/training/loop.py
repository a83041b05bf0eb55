"""The one training loop of the low-level policy and the goal prior (spec section 4.2).

Batches of B chunks of T frames are processed in slices of `trunc_t` frames (truncated BPTT): the
transformer memory is carried from slice to slice and detached, and masked at every chunk start.
The loss of a slice is upstream's: minus the batch mean of the log-likelihood summed over the
slice's frames. Gradients accumulate over `gradient_accumulation_steps` slices; AdamW with
upstream's weight-decay split, gradient clipping, linear warmup then cosine decay on frames.
Validation runs at upstream's schedule and the best weights are kept. Checkpoints are written at
batch boundaries; re-running the same command resumes from the newest one and reaches the same
weights as an uninterrupted run.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm import tqdm

from steve1.data.goal_dataset import Chunk, HindsightGoalChunks
from steve1.training.accelerator import make_accelerator
from steve1.training.checkpoint import (
    load_latest_checkpoint,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)
from steve1.training.optim import make_optimizer
from steve1.training.schedule import lr_at
from steve1.utils.io import atomic_write_text
from VPT.checkpoint import save_model_file, save_weights
from VPT.policy import VPTPolicy, map_state


@dataclass
class TrainConfig:
    """Loop settings (upstream's flag names)."""

    out_weights: Path
    checkpoint_dir: Path
    seed: int = 42
    batch_size: int = 16
    gradient_accumulation_steps: int = 1
    T: int = 64  # noqa: N815 (upstream's name)
    trunc_t: int = 32
    learning_rate: float = 3e-4
    weight_decay: float = 0.039428
    max_grad_norm: float = 5.0
    n_frames: int = 1_000_000
    warmup_frames: int = 50_000
    log_freq: int = 50
    save_freq: int = 200
    val_freq: int = 1000
    val_freq_begin: int = 100
    val_freq_switch_steps: int = 500
    val_every_nth: int = 1
    snapshot_every_n_frames: int = 0
    keep_checkpoints: int = 2
    device: str = "auto"
    accelerate: bool | None = None  # None: HF accelerate when installed
    mixed_precision: str = "no"  # no | fp16 | bf16 (accelerate only)


class Objective(Protocol):
    """What a trainer supervises: a policy, how chunks become tensors, and validation variants."""

    model: VPTPolicy
    obs_keys: tuple[str, ...]

    def collate(self, chunks: list[Chunk], device: torch.device) -> dict[str, Any]: ...

    def val_variants(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]: ...


def resolve_device(name: str) -> torch.device:
    """`auto`: CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def weights_path(out_weights: Path, tag: str) -> Path:
    """`x/trained.weights` -> `x/trained_<tag>.weights` (upstream never writes the bare name)."""
    return out_weights.with_name(f"{out_weights.stem}_{tag}{out_weights.suffix}")


class Trainer:
    """Runs (or resumes) one training; see the module docstring."""

    def __init__(
        self,
        objective: Objective,
        train_data: HindsightGoalChunks,
        val_data: HindsightGoalChunks | None,
        cfg: TrainConfig,
    ) -> None:
        if cfg.T % cfg.trunc_t:
            raise ValueError(f"T={cfg.T} must be a multiple of trunc_t={cfg.trunc_t}")
        self.obj, self.train_data, self.val_data, self.cfg = objective, train_data, val_data, cfg
        self.acc = make_accelerator(resolve_device(cfg.device), cfg.accelerate, cfg.mixed_precision)
        self.device = self.acc.device
        # `policy` is the plain module (heads, state, saving); `model` may be wrapped (DDP).
        self.policy = objective.model.to(self.device)
        optimizer = make_optimizer(self.policy, cfg.learning_rate, cfg.weight_decay)
        self.model, self.optimizer = self.acc.prepare(self.policy, optimizer)
        # Each process draws its own batches.
        self.rng = np.random.default_rng([cfg.seed, self.acc.process_index])
        self.step = 0  # slices processed (upstream's n_steps)
        self.best_val = math.inf
        self.last_snapshot = 0
        self.last_save = 0
        self._model_file_written = False
        self.slices_per_batch = cfg.T // cfg.trunc_t
        self.frames_per_slice = cfg.batch_size * cfg.trunc_t

    @functools.cached_property
    def writer(self) -> Any:
        """TensorBoard's writer (None without tensorboard), made at the first log, so that
        validating alone writes nothing."""
        return _summary_writer(self.cfg.out_weights.parent / "tb")

    @property
    def frames(self) -> int:
        return self.step * self.frames_per_slice

    def run(self) -> dict[str, Any]:
        """Train until `n_frames`; returns the last validation metrics."""
        self._resume()
        self.model.train()
        cfg, metrics = self.cfg, {}
        total = self.total_slices()
        bar = tqdm(
            total=total, initial=self.step, desc="train slices", disable=not sys.stderr.isatty()
        )
        state = self.policy.initial_state(cfg.batch_size)
        while self.step < total:
            batch = self.obj.collate(self._sample_batch(), self.device)
            for s in range(self.slices_per_batch):
                state = self._train_slice(batch, s, state)
                bar.update()
                metrics = self._after_slice(metrics) or metrics
            if self._at_boundary() and self.step - self.last_save >= cfg.save_freq:
                self._save()
        bar.close()
        if self.val_data is not None:
            metrics = self._validate_and_track()
        self._save()
        return metrics

    def total_slices(self) -> int:
        """Slices to reach `n_frames`, rounded up to a batch and update boundary, so that the run
        ends where its state can be saved exactly."""
        unit = math.lcm(self.slices_per_batch, self.cfg.gradient_accumulation_steps)
        return unit * math.ceil(self.cfg.n_frames / self.frames_per_slice / unit)

    def _sample_batch(self) -> list[Chunk]:
        idx = self.rng.integers(len(self.train_data), size=self.cfg.batch_size)
        return [self.train_data.get(int(i), self.rng) for i in idx]

    def _train_slice(self, batch: dict[str, Any], s: int, state: list) -> list:
        cfg = self.cfg
        sl = slice(s * cfg.trunc_t, (s + 1) * cfg.trunc_t)
        loss, _, state = self._slice_loss(batch, sl, state, s == 0)
        self.acc.backward(loss / cfg.gradient_accumulation_steps)
        self.step += 1
        if self.step % cfg.gradient_accumulation_steps == 0:
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(self.frames, cfg.learning_rate, cfg.warmup_frames, cfg.n_frames)
            norm = self.acc.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            if self.step % cfg.log_freq < cfg.gradient_accumulation_steps:
                self._log(
                    {
                        "train/loss": loss.item(),
                        "train/grad_norm": float(norm),
                        "train/lr": self.optimizer.param_groups[0]["lr"],
                    }
                )
        return map_state(torch.Tensor.detach, state)

    def _slice_loss(
        self, batch: dict[str, Any], sl: slice, state: list, chunk_start: bool
    ) -> tuple[torch.Tensor, dict[str, float], list]:
        """(upstream loss, summed NLL / correct / counted frames, new state) of one slice.

        Frames with a zero `mask` (actions without effect) add nothing to loss or metrics.
        """
        obs = {k: batch[k][:, sl] for k in self.obj.obs_keys}
        first = torch.zeros(obs["img"].shape[:2], dtype=torch.bool, device=self.device)
        first[:, 0] = chunk_start
        with self.acc.autocast():
            out, state = self.model(obs, state, first)
        target = _time_slice(batch["target"], sl)
        mask = batch["mask"][:, sl]
        logp = self.policy.pi_head.log_prob(out.pi_logits, target).float() * mask
        loss = -logp.sum(dim=1).mean()
        sums = {
            "nll": float(-logp.detach().sum()),
            "correct": _correct(out.pi_logits, target, mask),
            "frames": float(mask.sum()),
        }
        return loss, sums, state

    def _after_slice(self, metrics: dict[str, Any]) -> dict[str, Any] | None:
        cfg = self.cfg
        if (
            cfg.snapshot_every_n_frames
            and self.frames - self.last_snapshot >= cfg.snapshot_every_n_frames
        ):
            self.last_snapshot = self.frames
            if self.acc.is_main_process:
                save_weights(self.policy, weights_path(cfg.out_weights, f"snapshot_{self.frames}"))
        if self.val_data is None or not self._val_due():
            return None
        return self._validate_and_track()

    def _validate_and_track(self) -> dict[str, float]:
        """Validate, log, and keep the weights if they are the best so far."""
        cfg = self.cfg
        metrics = self.validate()
        self._log({f"val/{k}": v for k, v in metrics.items()})
        shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        print(
            f"[val] slice {self.step}, {self.frames} frames: {shown}", file=sys.stderr, flush=True
        )
        key = next(iter(self.obj.val_variants()))
        if metrics[f"{key}_nll"] < self.best_val:
            self.best_val = metrics[f"{key}_nll"]
            if not self.acc.is_main_process:
                return metrics
            save_weights(self.policy, weights_path(cfg.out_weights, "best"))
            atomic_write_text(
                weights_path(cfg.out_weights, "best").with_suffix(".json"),
                json.dumps({"step": self.step, "frames": self.frames, **metrics}),
            )
        return metrics

    def _val_due(self) -> bool:
        cfg = self.cfg
        if self.step == 1:
            return True
        freq = cfg.val_freq_begin if self.step <= cfg.val_freq_switch_steps else cfg.val_freq
        return self.step % freq == 0

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Per-frame NLL and argmax accuracy on the validation chunks, for every variant.

        Goals are drawn from a fixed seed, so that successive validations are comparable.
        """
        self.model.eval()
        cfg, data = self.cfg, self.val_data
        rng = np.random.default_rng(cfg.seed + 1)
        chunks = [data.get(i, rng) for i in range(0, len(data), cfg.val_every_nth)]
        totals = {
            name: {"nll": 0.0, "correct": 0.0, "frames": 0.0} for name in self.obj.val_variants()
        }
        for start in range(0, len(chunks), cfg.batch_size):
            batch = self.obj.collate(chunks[start : start + cfg.batch_size], self.device)
            for name, variant in self.obj.val_variants().items():
                vbatch = variant(batch)
                state = self.policy.initial_state(len(vbatch["img"]))
                for s in range(self.slices_per_batch):
                    sl = slice(s * cfg.trunc_t, (s + 1) * cfg.trunc_t)
                    _, sums, state = self._slice_loss(vbatch, sl, state, s == 0)
                    for key, value in sums.items():
                        totals[name][key] += value
        self.model.train()
        metrics = {}
        for name, t in totals.items():
            metrics[f"{name}_nll"] = t["nll"] / max(t["frames"], 1)
            metrics[f"{name}_acc"] = t["correct"] / max(t["frames"], 1)
        return metrics

    def _at_boundary(self) -> bool:
        return (
            self.step % self.slices_per_batch == 0
            and self.step % self.cfg.gradient_accumulation_steps == 0
        )

    def _save(self) -> None:
        if not self._at_boundary():
            return
        self.last_save = self.step
        self.acc.wait_for_everyone()
        if not self.acc.is_main_process:
            return
        cfg = self.cfg
        cfg.out_weights.parent.mkdir(parents=True, exist_ok=True)
        save_weights(self.policy, weights_path(cfg.out_weights, "latest"))
        model_file = cfg.out_weights.with_suffix(".model")
        if not self._model_file_written:  # rewritten once per run: never a stale pairing
            self._model_file_written = True
            save_model_file(
                model_file,
                self.policy.policy_kwargs,
                self.policy.pi_head_kwargs,
                self.policy.action_space,
            )
        payload = {
            "model": self.policy.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "best_val": self.best_val,
            "last_snapshot": self.last_snapshot,
            "rng": rng_states(self.rng),
            "config": _jsonable(asdict(cfg)),
            "model_spec": _model_spec(self.policy),
        }
        save_checkpoint(cfg.checkpoint_dir, self.step, payload, cfg.keep_checkpoints)

    def _resume(self) -> None:
        payload = load_latest_checkpoint(self.cfg.checkpoint_dir)
        if payload is None:
            return
        saved, current = payload.get("model_spec"), _model_spec(self.policy)
        if saved is not None and saved != current:
            changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
            raise SystemExit(
                f"error: the checkpoint in {self.cfg.checkpoint_dir} belongs to a different model "
                f"({', '.join(changed)} differ: checkpoint {[saved.get(k) for k in changed]}, "
                f"now {[current.get(k) for k in changed]}); restore the original settings or use "
                "a new --checkpoint_dir"
            )
        _check_loop_config(payload.get("config", {}), asdict(self.cfg), self.cfg.checkpoint_dir)
        self.policy.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.step, self.best_val = payload["step"], payload["best_val"]
        self.last_snapshot = payload["last_snapshot"]
        self.last_save = self.step
        restore_rng_states(payload["rng"], self.rng)
        print(
            f"resumed from {self.cfg.checkpoint_dir} at slice {self.step} ({self.frames} frames)",
            file=sys.stderr,
        )

    def _log(self, values: dict[str, float]) -> None:
        if self.writer is not None:
            for key, value in values.items():
                self.writer.add_scalar(key, value, self.frames)


# Settings that define what a step is; a checkpoint only resumes with the same values.
_RESUME_KEYS = ("batch_size", "T", "trunc_t", "gradient_accumulation_steps", "seed")


def _check_loop_config(saved: dict[str, Any], current: dict[str, Any], where: Path) -> None:
    changed = [k for k in _RESUME_KEYS if k in saved and saved[k] != current[k]]
    if changed:
        raise SystemExit(
            f"error: the checkpoint in {where} was trained with other loop settings ("
            + ", ".join(f"{k} {saved[k]} -> {current[k]}" for k in changed)
            + "); restore them or use a new --checkpoint_dir"
        )


def _model_spec(model: VPTPolicy) -> dict[str, Any]:
    """What must match for a checkpoint to resume: the `.model` kwargs and the action space."""
    return _jsonable(
        {**model.policy_kwargs, "pi_head": model.pi_head_kwargs, "action_space": model.action_space}
    )


def _time_slice(x: Any, sl: slice) -> Any:
    """x[:, sl] for a tensor or a dict of tensors (Minecraft's named action heads)."""
    return {k: v[:, sl] for k, v in x.items()} if isinstance(x, dict) else x[:, sl]


def _correct(logits: Any, target: Any, mask: torch.Tensor) -> float:
    """Masked count of frames whose argmax action matches (averaged over named heads)."""
    if isinstance(logits, dict):
        hits = sum(((logits[k].argmax(-1) == target[k]).float() * mask).sum() for k in logits)
        return float(hits / len(logits))
    return float(((logits.argmax(-1) == target).float() * mask).sum())


def _summary_writer(path: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(path))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
