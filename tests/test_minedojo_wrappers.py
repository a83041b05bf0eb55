"""The MineDojo task wrappers, run against the MineDojo stand-in (no Minecraft, no torch)."""

from __future__ import annotations

import importlib.util
import shlex

import cv2
import numpy as np
import pytest

import tasks
from tasks.minedojo import (
    FROZEN_KEYS,
    MINERL_ACTION_KEYS,
    ClipShaping,
    MinecraftUnavailableError,
    filter_action,
    is_hard_reset,
    minedojo_kwargs,
    wrap_minedojo_task,
)
from tasks.minedojo.actions import actionable_noops
from tasks.minedojo.reset import (
    LEAVES_RETRIES,
    SemifastReset,
    command_slot,
    fast_reset_commands,
)
from tasks.minedojo.standin import StandInSim, StandInTask, standin_frame

MINECRAFT_TASKS = ("log_plains", "water_bucket", "cobblestone", "iron_ore", "spider")
NULL = {key: 0 for key in MINERL_ACTION_KEYS if key != "camera"} | {"camera": [0.0, 0.0]}
ATTACK = NULL | {"attack": 1}


class ScriptedClip:
    """A clip reward model: feature [t, 1] of the stand-in's frame t, logits from a script."""

    def __init__(self, logits=(), default=0.0):
        self.script, self.default = list(logits), default
        self.windows, self.prompts = [], []

    def image_features(self, frame):
        assert frame.shape == (3, 160, 256) and frame.dtype == np.uint8
        return np.array([frame[0, 0, 0], 1.0])

    def prompt_logits(self, window, prompts):
        self.windows.append(window.copy())
        self.prompts.append(list(prompts))
        logit = self.script.pop(0) if self.script else self.default
        return np.array([logit, 1000.0, -1000.0][: len(prompts)])  # only prompt 0 may count


def make_stack(name="log_plains", clip_model=None, sim=None, **overrides):
    """The full env of a task over a fresh stand-in; no shaping unless a clip model is given."""
    if clip_model is None:
        overrides.setdefault("clip_specs", {})
    spec = tasks.get_task_spec(name, **overrides)
    sim = sim if sim is not None else StandInSim()
    inventory = minedojo_kwargs(spec)[1]["initial_inventory"] or []
    env = wrap_minedojo_task(StandInTask(sim), spec, clip_model, inventory)
    return env, sim


def spread_args(command):
    """(centre x, centre z, spreadDistance, maxRange) of a spreadplayers command."""
    words = shlex.split(command.lstrip("/"))
    i = words.index("spreadplayers")
    return int(words[i + 1]), int(words[i + 2]), float(words[i + 3]), float(words[i + 4])


# ---------------------------------------------------------------- building without MineDojo
@pytest.mark.skipif(importlib.util.find_spec("minedojo") is not None, reason="minedojo installed")
@pytest.mark.parametrize("name", MINECRAFT_TASKS)
def test_make_without_minedojo_names_the_requirements(name):
    with pytest.raises(MinecraftUnavailableError, match="requirements-minecraft.txt") as info:
        tasks.make(name)
    assert isinstance(info.value, ImportError) and isinstance(info.value, NotImplementedError)
    assert "crafter_log" in str(info.value)


def test_minerl_keys_are_vpts():
    from VPT.actions import ACTION_KEYS

    assert MINERL_ACTION_KEYS == ACTION_KEYS


# ---------------------------------------------------------------- observations
def test_pov_is_the_resized_uint8_frame():
    env, _ = make_stack()
    obs, info = env.reset(seed=0)
    assert (
        obs.keys() == {"pov"} and obs["pov"].dtype == np.uint8 and obs["pov"].shape == (128, 128, 3)
    )
    assert env.observation_space.contains(obs)
    expected = cv2.resize(
        np.ascontiguousarray(standin_frame(0).transpose(1, 2, 0)), (128, 128), cv2.INTER_LINEAR
    )
    np.testing.assert_array_equal(obs["pov"], expected)
    obs = env.step(NULL)[0]
    frame = np.ascontiguousarray(standin_frame(1).transpose(1, 2, 0))
    np.testing.assert_array_equal(obs["pov"], cv2.resize(frame, (128, 128), cv2.INTER_LINEAR))
    # channel order survives the transpose: the stand-in's channels differ by 40
    assert int(obs["pov"][0, 0, 1]) - int(obs["pov"][0, 0, 0]) == 40
    assert info["success"] is False and info["steps"] == 0


# ---------------------------------------------------------------- actions
def test_filter_action_keeps_the_sims_keys_and_drops_the_rest():
    noops = actionable_noops(StandInTask())
    action = NULL | {"hotbar.3": 1, "drop": 1, "attack": 1, "inventory": 1, "ESC": 1}
    action |= {"swapHands": 1, "pickItem": 1, "camera": np.array([1.5, -2.0])}
    out = filter_action(action, noops)
    assert set(out) == set(noops)  # inventory, ESC and swapHands are not MineDojo actionables
    assert out["hotbar.3"] == 1 and out["drop"] == 1 and out["attack"] == 1 and out["pickItem"] == 1
    assert out["camera"].dtype == np.float32 and out["camera"].tolist() == [1.5, -2.0]
    assert out["craft"] == "none" and out["swap_slot"] == {"source_slot": 0, "target_slot": 0}


def test_freeze_equipped_replaces_the_hand_changing_keys_by_noops():
    noops = actionable_noops(StandInTask())
    action = {key: 1 for key in MINERL_ACTION_KEYS if key != "camera"} | {"camera": [3.0, 4.0]}
    out = filter_action(action, noops, freeze_equipped=True)
    for key in FROZEN_KEYS:
        assert np.all(out[key] == noops[key]), key
    for key in ("attack", "use", "forward", "jump", "sneak"):
        assert out[key] == 1
    assert out["camera"].tolist() == [3.0, 4.0]


def test_bad_actions_are_refused():
    noops = actionable_noops(StandInTask())
    with pytest.raises(ValueError, match="unknown action key"):
        filter_action({"attak": 1}, noops)
    with pytest.raises(ValueError, match="one action, not a batch"):
        filter_action({"attack": np.array([1, 0])}, noops)
    with pytest.raises(ValueError, match="camera"):
        filter_action({"camera": [np.nan, 0.0]}, noops)


def test_the_env_takes_vpts_decoded_actions_and_freezes_the_hand():
    from VPT.actions import action_to_index, index_to_action

    env, sim = make_stack("cobblestone")  # freeze_equipped: true
    env.reset(seed=0)
    vpt = index_to_action(action_to_index({"hotbar.2": 1, "attack": 1, "camera": [0.0, 5.0]}))
    env.step(vpt)
    sent = sim.actions[-1]
    assert sent["attack"] == 1 and sent["hotbar.2"] == 0 and sent["camera"][1] > 0
    env, sim = make_stack("log_plains")  # not frozen
    env.reset(seed=0)
    env.step(vpt)
    assert sim.actions[-1]["hotbar.2"] == 1


# ---------------------------------------------------------------- episode end and step count
def test_success_terminates_with_the_task_reward():
    env, _ = make_stack(max_steps=10)
    env.reset(seed=0)
    for step in (1, 2):
        _, reward, terminated, truncated, info = env.step(ATTACK)
        assert (reward, terminated, truncated, info["success"], info["steps"]) == (
            0.0,
            False,
            False,
            False,
            step,
        )
    _, reward, terminated, truncated, info = env.step(ATTACK)  # the 3rd hit gives the log
    assert (reward, terminated, truncated, info["success"], info["steps"]) == (
        1.0,
        True,
        False,
        True,
        3,
    )
    assert info["inventory"] == {"log": 1} and info["task_reward"] == 1.0
    assert "minedojo" in info


def test_max_steps_truncates_and_reset_restarts_the_count():
    env, _ = make_stack(max_steps=4)
    env.reset(seed=0)
    ends = [env.step(NULL)[2:4] for _ in range(4)]
    assert ends == [(False, False)] * 3 + [(False, True)]
    _, info = env.reset()
    assert info["steps"] == 0
    assert env.step(NULL)[4]["steps"] == 1


def test_success_on_the_last_step_is_terminated_not_truncated():
    env, _ = make_stack(max_steps=3)
    env.reset(seed=0)
    results = [env.step(ATTACK) for _ in range(3)]
    assert results[-1][2:4] == (True, False) and results[-1][4]["success"]


def test_death_terminates():
    env, _ = make_stack(max_steps=10, sim=StandInSim(die_at=2))
    env.reset(seed=0)
    assert env.step(NULL)[2:4] == (False, False)
    _, _, terminated, truncated, info = env.step(NULL)
    assert (
        terminated and not truncated and info["dead"] and info["life"] == 0 and not info["success"]
    )


# ---------------------------------------------------------------- semi-fast reset
def test_counter_rule():
    hard = [i for i in range(1, 70) if is_hard_reset(i, 20)]
    assert hard == [1, 21, 42, 63]
    sim = StandInSim()
    wrapper = SemifastReset(sim, reset_freq=3, reset_commands=["/kill"], seed=0)
    worlds = []
    for _ in range(13):
        wrapper.reset()
        worlds.append(sim.worlds)
    made = [i + 1 for i in range(13) if worlds[i] != (worlds[i - 1] if i else 0)]
    assert made == [1, 4, 8, 12] == [i for i in range(1, 14) if is_hard_reset(i, 3)]
    assert all(is_hard_reset(i, 0) for i in range(1, 5))  # reset_freq 0: every reset is real


def test_fast_reset_commands_and_teleport_ranges():
    # fast_reset 20, only a diamond sword (slot 0), at night
    env, sim = make_stack("spider", sim=StandInSim(start_time=18000))
    env.reset(seed=3)
    assert sim.commands == [] and sim.worlds == 1  # the first reset makes a world
    spawn = sim.spawn
    distances = []
    for episode in range(1, 6):
        before = len(sim.commands)
        previous_start = sim.pos.copy()
        _, info = env.reset()
        commands = sim.commands[before:]
        assert commands[:5] == [
            "/kill",
            "/time set 18000",
            "/weather normal",
            "/replaceitem entity @p slot.hotbar.0 minecraft:diamond_sword 1 0",
            "/kill @e[type=!player]",
        ]
        assert commands[5] == "/kill @e[type=item]"
        rest = commands[6:]
        if episode > 1:  # back to where the last teleport landed first
            x, y, z = (float(v) for v in previous_start)
            assert rest[0] == f"/tp {x} {y} {z} ~ ~"
            rest = rest[1:]
        assert len(rest) == 1 + LEAVES_RETRIES
        cx, cz, distance, max_range = spread_args(rest[0])
        assert (cx, cz) == (int(spawn[0]), int(spawn[2]))
        assert 0.0 <= distance <= 200.0 and max_range == pytest.approx(distance + 1, abs=1e-3)
        assert all(
            cmd.startswith("/execute @p ~ ~ ~ detect ~ ~-1 ~ minecraft:leaves -1 ")
            for cmd in rest[1:]
        )
        assert all(spread_args(cmd) == (cx, cz, distance, max_range) for cmd in rest[1:])
        assert info["inventory"] == {"diamond_sword": 1}
        distances.append(distance)
    assert len(set(distances)) == 5

    def teleports(seed):
        env, sim = make_stack("spider", sim=StandInSim(start_time=18000))
        env.reset(seed=seed)
        for _ in range(4):
            env.reset()
        return [spread_args(c)[2] for c in sim.commands if c.startswith("/spreadplayers")]

    assert teleports(3) == teleports(3) == distances[:4]
    assert teleports(4) != teleports(3)


def test_a_real_reset_reanchors_the_teleports():
    env, sim = make_stack("cobblestone", fast_reset=2)  # worlds at resets 1, 3, 6, ...
    env.reset(seed=0)
    first_spawn = sim.spawn
    env.reset()  # fast
    env.reset()  # real: a new world
    assert sim.worlds == 2 and sim.spawn != first_spawn
    before = len(sim.commands)
    env.reset()
    commands = sim.commands[before:]
    assert not any(c.startswith("/tp ") for c in commands)  # no previous start in this world
    spread = next(c for c in commands if c.startswith("/spreadplayers"))
    assert spread_args(spread)[:2] == (int(sim.spawn[0]), int(sim.spawn[2]))


def test_reset_command_slots_and_positions():
    assert command_slot("mainhand") == "slot.weapon.mainhand"
    assert command_slot(3) == "slot.hotbar.3" and command_slot(12) == "slot.inventory.3"
    assert command_slot("feet") == "slot.armor.feet"
    with pytest.raises(ValueError):
        command_slot(36)
    commands = fast_reset_commands(
        None,
        "clear",
        [{"slot": "mainhand", "name": "bucket"}],
        {"x": 1, "y": 2, "z": 3, "yaw": 0, "pitch": 0},
    )
    assert commands == [
        "/kill",
        "/time set 0",
        "/weather clear",
        "/replaceitem entity @p slot.weapon.mainhand minecraft:bucket 1 0",
        "/tp @p 1 2 3 0 0",
        "/kill @e[type=!player]",
        "/kill @e[type=item]",
    ]


# ---------------------------------------------------------------- MineCLIP shaping
def test_clip_score_and_running_max_bonus():
    model = ScriptedClip([22, 24, 21, 25, 19, 30])
    full = ClipShaping(model, ["cut a tree"])
    full.reset()
    frame = standin_frame(1)
    bonuses = [full.step(frame) for _ in range(6)]
    # buffer means 22, 23, 22.33, 23, 22.2, 23.5 -> scores 0.5, 1, 0.67, 1, 0.6, 1.25
    assert bonuses == pytest.approx([0.005, 0.01, 0, 0, 0, 0.0125])
    assert full.score == pytest.approx(1.25) and full.best == pytest.approx(1.25)

    increment = ClipShaping(
        ScriptedClip([22, 24, 21, 25, 19, 30]), ["cut a tree"], bonus="increment"
    )
    bonuses = [increment.step(frame) for _ in range(6)]
    assert bonuses == pytest.approx([0.005, 0.005, 0, 0, 0, 0.0025])
    assert sum(bonuses) == pytest.approx(0.01 * 1.25)


def test_clip_buffer_keeps_the_last_50_logits():
    shaping = ClipShaping(ScriptedClip([21.0] * 50 + [121.0]), ["p"])
    frame = standin_frame(1)
    assert sum(shaping.step(frame) for _ in range(50)) == 0.0  # mean 21: score 0, no bonus
    # 49 x 21 + 121 over 50 = 23 exactly (over 51 it would be 22.96)
    assert shaping.step(frame) == pytest.approx(0.01) and shaping.score == pytest.approx(1.0)


def test_clip_below_the_floor_gives_nothing_and_reset_forgets():
    shaping = ClipShaping(ScriptedClip([15.0, 22.0, 22.0]), ["p"])
    frame = standin_frame(1)
    assert shaping.step(frame) == 0.0 and shaping.score == 0.0
    assert shaping.step(frame) == 0.0  # mean 18.5
    shaping.reset()
    assert shaping.step(frame) == pytest.approx(0.005)  # a fresh buffer and best


def test_clip_window_is_16_frames_with_zeros_at_the_start():
    model = ScriptedClip(default=0.0)
    env, _ = make_stack("log_plains", clip_model=model, max_steps=100)
    env.reset(seed=0)
    for _ in range(20):
        env.step(NULL)
    assert model.prompts[0] == ["cut a tree"]
    for t, window in enumerate(model.windows, start=1):  # the stand-in's frame t has value t
        assert window.shape == (16, 2)
        expected = [[s, 1.0] if s >= 1 else [0.0, 0.0] for s in range(t - 15, t + 1)]
        np.testing.assert_array_equal(window, expected)
    env.reset()
    env.step(NULL)
    np.testing.assert_array_equal(model.windows[-1][:15], 0.0)


def test_clip_bonus_is_added_to_the_task_reward():
    model = ScriptedClip([22.0, 22.0, 24.0])
    env, _ = make_stack("log_plains", clip_model=model)
    env.reset(seed=0)
    rewards, infos = [], []
    for _ in range(3):
        _, reward, _, _, info = env.step(ATTACK)
        rewards.append(reward)
        infos.append(info)
    # step 3 gives the log (task reward 1); buffer mean 22.67 -> score 0.83 beats 0.5
    assert rewards == pytest.approx([0.005, 0.0, 1.0 + 0.01 * (5 / 6)])
    assert [i["task_reward"] for i in infos] == [0.0, 0.0, 1.0]
    assert infos[2]["clip_score"] == pytest.approx(5 / 6)


def test_clip_configuration_errors():
    spec = tasks.get_task_spec("log_plains")
    with pytest.raises(ValueError, match="clip_model"):
        wrap_minedojo_task(StandInTask(), spec, None)
    with pytest.raises(ValueError, match="unknown clip_specs"):
        ClipShaping.from_specs(ScriptedClip(), {"prompts": ["p"], "dense": 1})
    with pytest.raises(ValueError, match="bonus"):
        ClipShaping(ScriptedClip(), ["p"], bonus="delta")
    shaping = ClipShaping.from_specs(ScriptedClip(), spec.clip_specs)
    assert (shaping.dense_reward, shaping.clip_min, shaping.clip_target) == (0.01, 21.0, 23.0)
    assert shaping.logits.maxlen == 50 and shaping.bonus_mode == "full"


# ---------------------------------------------------------------- MineDojo keyword arguments
def test_minedojo_kwargs_of_the_five_tasks():
    forced = {"image_size": (160, 256), "fast_reset": False, "event_level_control": False}
    forced |= {"use_voxel": False, "use_lidar": False}
    specs = {name: tasks.get_task_spec(name) for name in MINECRAFT_TASKS}

    cls, kwargs = minedojo_kwargs(specs["water_bucket"])  # a meta task, no template
    assert cls == "harvest" and kwargs.items() >= forced.items()
    assert kwargs["target_names"] == "water_bucket" and kwargs["specified_biome"] == "plains"
    assert kwargs["initial_inventory"] == [{"slot": "mainhand", "name": "bucket", "quantity": 1}]

    template = {
        "__cls__": "harvest",
        "prompt": "obtain cobblestone",
        "target_names": "cobblestone",
        "image_size": (64, 64),
        "fast_reset": True,
        "initial_inventory": {"mainhand": {"name": "wooden_pickaxe"}},
    }
    cls, kwargs = minedojo_kwargs(specs["cobblestone"], template)
    assert cls == "harvest" and "prompt" not in kwargs and kwargs.items() >= forced.items()
    assert kwargs["specified_biome"] == "plains"
    assert kwargs["initial_inventory"] == [
        {"slot": "mainhand", "name": "wooden_pickaxe", "quantity": 1}
    ]
    assert template["initial_inventory"] == {"mainhand": {"name": "wooden_pickaxe"}}  # untouched

    armour = {"head": {"name": "diamond_helmet"}, "offhand": {"name": "shield"}}
    spider_template = {"__cls__": "combat", "start_at_night": True, "initial_inventory": armour}
    cls, kwargs = minedojo_kwargs(specs["spider"], spider_template)
    assert cls == "combat" and kwargs["start_at_night"] is True
    assert kwargs["initial_inventory"] == [{"slot": 0, "name": "diamond_sword", "quantity": 1}]

    cls, kwargs = minedojo_kwargs(specs["log_plains"], {"__cls__": "harvest"})
    assert kwargs["initial_inventory"] is None and "lidar_rays" not in kwargs
    lidar = tasks.get_task_spec("log_plains", sim_specs={"use_lidar": True})
    assert len(minedojo_kwargs(lidar)[1]["lidar_rays"]) == 12 * 18


def test_render_and_close_reach_the_task():
    spec = tasks.get_task_spec("log_plains", clip_specs={})
    task = StandInTask()
    env = wrap_minedojo_task(task, spec, render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (160, 256, 3)
    env.close()
    assert task.closed


def test_clip_model_is_for_minedojo_tasks_only():
    with pytest.raises(TypeError, match="MineDojo tasks only"):
        tasks.make("crafter_log", clip_model=ScriptedClip())
