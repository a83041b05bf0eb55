"""The fast Crafter (fast rendering, world generation and step) against stock, step for step.

Each test runs the same seed and actions through `DeterministicCrafter` twice: with its fast paths
(the default) and with stock Crafter's own `render`, `reset` and `step` (`fast_render=False,
fast_world=False`), and requires every frame, reward, info entry and the final world state
(materials, objects, random generator, chunk order) to be identical. Plain `crafter.Env` is not the
reference only because it is not reproducible (see `tasks.crafter.world`); its code is.
"""

import crafter
import numpy as np
import pytest
from crafter import objects, worldgen

from tasks.crafter import fast_worldgen
from tasks.crafter.env import CrafterTaskEnv
from tasks.crafter.world import DeterministicCrafter
from tasks.specs import get_task_spec

ACTION = {name: i for i, name in enumerate(crafter.constants.actions)}
STOCK = {"fast_render": False, "fast_world": False}
NIGHT_START = 140  # daylight drops below 0.5 (night noise) at step 148 of each 300-step day
BUILDER_ACTIONS = [
    "place_table", "make_wood_pickaxe", "make_stone_pickaxe", "place_furnace", "make_iron_pickaxe",
    "make_wood_sword", "make_stone_sword", "make_iron_sword", "place_plant", "place_stone", "do",
]  # fmt: skip


def world_state(env: crafter.Env) -> tuple:
    """Everything the rollout depends on: maps, objects, RNG state, chunk order, player state."""
    world, player = env._world, env._player
    objs = [
        (type(o).__name__, o.pos.tolist(), o.health, np.ravel(getattr(o, "facing", ())).tolist())
        for o in world._objects
        if o is not None
    ]
    name, keys, pos, has_gauss, gauss = world.random.get_state()
    rng = (keys.tobytes(), pos, has_gauss, gauss)
    stats = (player._hunger, player._thirst, player._fatigue, player._recover, player.sleeping)
    return (
        world._mat_map.tobytes(), world._obj_map.tobytes(), objs, rng, list(world._chunks),
        dict(player.inventory), dict(player.achievements), stats, env._step, world.daylight,
    )  # fmt: skip


def assert_same_step(fast_out: tuple, stock_out: tuple) -> None:
    (obs, reward, done, info), (ref_obs, ref_reward, ref_done, ref_info) = fast_out, stock_out
    assert np.array_equal(obs, ref_obs) and obs.dtype == ref_obs.dtype
    assert (reward, done) == (ref_reward, ref_done)
    assert info.keys() == ref_info.keys()
    for key, value in info.items():
        assert np.array_equal(value, ref_info[key]), key


def run_pair(seed, steps, policy, size=(64, 64), setup=None) -> dict[str, int]:
    """Roll both envs with `policy(t, rng, env) -> action`; returns coverage counts."""
    fast = DeterministicCrafter(size=size, length=None, seed=seed)
    stock = DeterministicCrafter(size=size, length=None, seed=seed, **STOCK)
    assert fast._fast_render.supports() and fast._fast_world  # else this compares stock to stock
    rng = np.random.default_rng(seed)
    seen = {"night": 0, "asleep": 0, "resets": 0, "item_kinds": 0}

    def reset() -> None:
        frames = [env.reset() for env in (fast, stock)]
        if setup is not None:
            frames = [setup(env) for env in (fast, stock)]
        assert np.array_equal(*frames)
        seen["resets"] += 1

    reset()
    for t in range(steps):
        action = policy(t, rng, fast)
        out = fast.step(action)
        assert_same_step(out, stock.step(action))
        seen["night"] += fast._world.daylight < 0.5
        seen["asleep"] += fast._player.sleeping
        kinds = sum(amount > 0 for amount in fast._player.inventory.values())
        seen["item_kinds"] = max(seen["item_kinds"], kinds)
        if out[2]:
            assert world_state(fast) == world_state(stock)
            reset()
    assert world_state(fast) == world_state(stock)
    return seen


def start_at_dusk(env: DeterministicCrafter) -> np.ndarray:
    env._step = NIGHT_START
    env._update_time()
    return env.render()


def builder_setup(env: DeterministicCrafter) -> np.ndarray:
    """Many item kinds and a tired player, so crafting, placing and sleeping all happen."""
    start = {"wood": 9, "stone": 9, "coal": 5, "iron": 5, "sapling": 9, "diamond": 1, "energy": 3}
    env._player.inventory.update(start)
    return start_at_dusk(env)


def random_policy(t, rng, env) -> int:
    return int(rng.integers(len(ACTION)))


def builder_policy(t, rng, env) -> int:
    """Crafting and placing, moves, and sleeps (a sleeper stays asleep until rested or hurt)."""
    roll = rng.random()
    if roll < 0.1:
        return ACTION["sleep"]
    if roll < 0.5:
        return ACTION[["move_left", "move_right", "move_up", "move_down"][rng.integers(4)]]
    return ACTION[BUILDER_ACTIONS[rng.integers(len(BUILDER_ACTIONS))]]


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_random_rollouts_match_stock_at_64(seed):
    """Seeds 1 and 3 start at dusk; a random player dies within ~200 steps, so resets are covered."""
    seen = run_pair(seed, 350, random_policy, setup=start_at_dusk if seed % 2 else None)
    assert seen["resets"] >= 2 and (seen["night"] >= 100 or not seed % 2), seen


@pytest.mark.parametrize("seed", [4, 5])
def test_scripted_rollouts_match_stock_through_night_and_sleep(seed):
    seen = run_pair(seed, 450, builder_policy, setup=builder_setup)
    assert seen["night"] >= 100 and seen["asleep"] >= 50 and seen["item_kinds"] >= 10, seen


@pytest.mark.parametrize("policy", [random_policy, builder_policy])
def test_rollouts_match_stock_at_96(policy):
    seen = run_pair(6, 300, policy, size=(96, 96), setup=builder_setup)
    assert seen["night"] >= 50, seen


def generated_world(generate, area, seed) -> crafter.engine.World:
    world = crafter.engine.World(area, crafter.constants.materials, (12, 12))
    world.reset(seed=seed)
    player = objects.Player(world, (area[0] // 2, area[1] // 2))
    world.add(player)
    generate(world, player)
    return world


def test_world_generation_matches_stock_for_many_seeds_and_another_area():
    for area, seeds in (((64, 64), range(12)), ((40, 72), range(2))):
        for seed in seeds:
            fast = generated_world(fast_worldgen.generate_world, area, seed)
            stock = generated_world(worldgen.generate_world, area, seed)
            assert np.array_equal(fast._mat_map, stock._mat_map), (area, seed)
            assert np.array_equal(fast._obj_map, stock._obj_map), (area, seed)
            kinds = [[(type(o), o.pos.tolist()) for o in w.objects] for w in (fast, stock)]
            assert kinds[0] == kinds[1] and list(fast._chunks) == list(stock._chunks)
            assert str(fast.random.get_state()) == str(stock.random.get_state())


def test_fast_paths_are_default_and_flags_choose_stock():
    fast = DeterministicCrafter()
    assert fast._fast_render is not None and fast._fast_world
    stock = DeterministicCrafter(**STOCK)
    assert stock._fast_render is None and not stock._fast_world
    assert type(stock._sem_view) is crafter.engine.SemanticView
    task_env = CrafterTaskEnv(get_task_spec("crafter_log"), **STOCK)
    assert task_env.crafter._fast_render is None and not task_env.crafter._fast_world
