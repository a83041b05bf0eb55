"""VPTPPO: memory across rollouts, first-epoch ratios, truncation bootstrap, frozen parameters,
the reward-shaping hook, Dict observations and save -> load -> continue."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter, Logger

from sb3_vpt import VPTPPO, CheckpointMismatchError, load_checkpoint, save_checkpoint
from tests.test_sb3_vpt_envs import params_snapshot, tiny_kwargs, vec_env


def make_model(env: Any, trainable: Any = None, seed: int = 0, **kwargs: Any) -> VPTPPO:
    policy_kwargs: dict[str, Any] = {"vpt_kwargs": tiny_kwargs()}
    if trainable is not None:
        policy_kwargs["trainable"] = trainable
    kwargs = {"n_steps": 5, "batch_size": 5, "learning_rate": 1e-3, **kwargs}
    return VPTPPO("VPTPolicy", env, policy_kwargs=policy_kwargs, device="cpu", seed=seed, **kwargs)


class Recorder(BaseCallback):
    """Keeps every step's env rewards and infos, and calls `at_rollout_end(model)`."""

    def __init__(self, at_rollout_end: Any = None) -> None:
        super().__init__()
        self.at_rollout_end = at_rollout_end
        self.rewards: list[np.ndarray] = []
        self.infos: list[list[dict]] = []

    def _on_step(self) -> bool:
        self.rewards.append(np.array(self.locals["rewards"]))
        self.infos.append([dict(info) for info in self.locals["infos"]])
        return True

    def _on_rollout_end(self) -> None:
        if self.at_rollout_end is not None:
            self.at_rollout_end(self.model)


class CapturedLogs(KVWriter):
    """An SB3 logger output that keeps every dumped row."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def write(self, key_values: dict[str, Any], key_excluded: Any, step: int = 0) -> None:
        self.rows.append(dict(key_values))


def replay(model: VPTPPO, state0: Any) -> Any:
    """Re-run every env's whole rollout from `state0` through the full network."""
    buffer = model.rollout_buffer
    with torch.no_grad():
        return model.policy.evaluate_sequences(
            torch.as_tensor(buffer.frames.swapaxes(0, 1)),
            torch.as_tensor(buffer.actions.swapaxes(0, 1)),
            torch.as_tensor(buffer.episode_starts.swapaxes(0, 1)),
            state0,
        )


def test_replaying_sequences_from_the_start_state_equals_acting() -> None:
    """Across rollout boundaries and episode starts; zero-padded context (upstream) differs."""
    diffs, padded_diffs = [], []

    def check(model: VPTPPO) -> None:
        buffer = model.rollout_buffer
        out = replay(model, buffer.start_state)
        diffs.append(np.abs(out.log_probs.numpy().T - buffer.log_probs).max())
        diffs.append(np.abs(out.values.numpy().T - buffer.values).max())
        padded = replay(model, model.policy.initial_state(model.n_envs))
        carried_over = ~buffer.episode_starts[0]  # envs whose episode began in a past rollout
        padded_diffs.append(
            np.abs(padded.values.numpy().T - buffer.values)[:, carried_over].max(initial=0.0)
        )

    env = vec_env(3, n_colors=3, length=(2, 9))
    model = make_model(env, trainable="all")
    model.learn(3 * 5 * 4, callback=Recorder(check))
    assert max(diffs) < 1e-5
    assert max(padded_diffs[1:]) > 1e-3


@pytest.mark.parametrize("trainable", [None, "all"])
def test_first_epoch_ratios_are_one(trainable: Any) -> None:
    model = make_model(vec_env(3, length=(2, 9)), trainable, n_steps=6, batch_size=18, n_epochs=1)
    model.learn(18)
    logged = model.logger.name_to_value
    assert logged["train/approx_kl"] < 1e-10 and logged["train/clip_fraction"] == 0.0


@pytest.mark.parametrize("end", ["truncated", "terminated"])
def test_truncated_episodes_bootstrap_the_terminal_value(end: str) -> None:
    recorder = Recorder()
    model = make_model(vec_env(1, length=3, end=end, random_colors=False), trainable="all")
    model.n_epochs = 0
    model.learn(5, callback=recorder)
    terminal_values = model.rollout_buffer.terminal_values[:, 0]
    if end == "terminated":
        assert not terminal_values.any()
        return
    assert recorder.infos[2][0]["TimeLimit.truncated"]
    last = recorder.infos[2][0]["terminal_observation"]
    chunk = np.concatenate([model.rollout_buffer.frames[:3, 0], last[None]])[None]
    first = torch.tensor([[True, False, False, False]])
    with torch.no_grad():
        _, values, _ = model.policy(torch.as_tensor(chunk), model.policy.initial_state(1), first)
    assert terminal_values[2] == pytest.approx(values[0, 3].item(), abs=1e-5)
    assert terminal_values[[0, 1, 3, 4]].tolist() == [0, 0, 0, 0]


def test_train_changes_only_trainable_parameters() -> None:
    model = make_model(vec_env(2, length=(2, 9)), n_epochs=2)
    before = params_snapshot(model.policy.vpt)
    model.learn(10)
    trained = set(model.policy.trainable_names)
    for name, param in model.policy.vpt.named_parameters():
        changed = not torch.equal(param, before[name])
        assert changed == (name in trained), name


def test_reward_shaper_sees_pi_at_s_t_and_reaches_the_rewards() -> None:
    seen: list[np.ndarray] = []

    def shaper(log_pi: np.ndarray, env: Any) -> np.ndarray:
        seen.append(log_pi.copy())
        return -np.exp(log_pi).max(-1) + np.arange(env.num_envs)

    recorder = Recorder()
    model = make_model(vec_env(3, length=(2, 9)), reward_shaper=shaper, n_epochs=0)
    logs = CapturedLogs()
    model.set_logger(Logger(None, [logs]))
    model.learn(15, callback=recorder)
    buffer = model.rollout_buffer
    shaping = np.stack([-np.exp(p).max(-1) + np.arange(3) for p in seen])
    np.testing.assert_allclose(buffer.shaping, shaping, rtol=1e-6)
    np.testing.assert_allclose(buffer.rewards, np.stack(recorder.rewards) + shaping, rtol=1e-6)
    taken = np.take_along_axis(np.stack(seen), buffer.actions[..., None], -1)[..., 0]
    np.testing.assert_allclose(taken, buffer.log_probs, rtol=1e-6)
    assert [[i["shaping"] for i in infos] for infos in recorder.infos] == pytest.approx(shaping)
    assert model.last_shaping is buffer.shaping
    assert logs.rows[0]["rollout/shaping_mean"] == pytest.approx(shaping.mean())

    model.reward_shaper = lambda log_pi, env: np.zeros(env.num_envs + 1)
    with pytest.raises(ValueError, match=r"one value per env, shape \(3,\)"):
        model.learn(5)


def test_dict_observations_with_pov() -> None:
    model = make_model(vec_env(2, dict_obs=True), n_epochs=1)
    model.learn(10)
    assert model.rollout_buffer.frames.shape == (5, 2, 16, 16, 3)


def resume_setup(trainable: Any, seed: int = 0, n_colors: int = 3) -> VPTPPO:
    # Episodes of 5 steps = one rollout: a resumed run's fresh episodes are the ones the
    # uninterrupted run would play next.
    env = vec_env(2, n_colors=n_colors, length=5, random_colors=False)
    return make_model(env, trainable, seed=seed, batch_size=5, n_epochs=2)


@pytest.mark.parametrize("trainable", [None, "all"])
def test_save_load_continue_equals_an_uninterrupted_run(tmp_path, trainable: Any) -> None:
    straight = resume_setup(trainable)
    straight.learn(30)
    first = resume_setup(trainable)
    first.learn(10)
    save_checkpoint(first, tmp_path / "ckpt.pt", extra={"note": "half way"})
    first.learn(10, reset_num_timesteps=False)  # moves the RNG and weights on; load rewinds
    resumed = resume_setup(trainable)
    assert load_checkpoint(resumed, tmp_path / "ckpt.pt") == {"note": "half way"}
    assert resumed.num_timesteps == 10 and resumed._n_updates == 2
    resumed.learn(20, reset_num_timesteps=False)
    assert resumed.num_timesteps == straight.num_timesteps == 30
    assert resumed._n_updates == straight._n_updates
    for name, param in straight.policy.named_parameters():
        assert torch.equal(param, dict(resumed.policy.named_parameters())[name]), name
    ours, theirs = resumed.policy.optimizer.state_dict(), straight.policy.optimizer.state_dict()
    for key, state in theirs["state"].items():
        for field, value in state.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(ours["state"][key][field]))
    assert not list(tmp_path.glob("*.tmp*"))


def test_load_refuses_a_differently_built_model(tmp_path) -> None:
    model = resume_setup(None)
    save_checkpoint(model, tmp_path / "ckpt.pt")
    with pytest.raises(CheckpointMismatchError, match="action_space"):
        load_checkpoint(resume_setup(None, n_colors=4), tmp_path / "ckpt.pt")
    with pytest.raises(CheckpointMismatchError, match="trainable_names"):
        load_checkpoint(resume_setup("all"), tmp_path / "ckpt.pt")
    with pytest.raises(CheckpointMismatchError, match="frozen"):
        load_checkpoint(resume_setup(None, seed=1), tmp_path / "ckpt.pt")


def test_batch_size_must_hold_whole_sequences() -> None:
    with pytest.raises(ValueError, match="multiple of n_steps"):
        make_model(vec_env(2), n_steps=5, batch_size=8)
