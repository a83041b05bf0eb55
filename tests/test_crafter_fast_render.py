"""The fast Crafter renderer against stock `crafter.Env.render` on crafted states, and its fallback.

Each comparison renders one state both ways from the same random-generator state and requires the
same bytes and the same generator state afterwards (the night noise is drawn from it).
"""

import warnings

import crafter
import numpy as np
import pytest
from crafter import objects
from PIL import Image, ImageEnhance

from tasks.crafter import lighting
from tasks.crafter.fast_render import FastRenderer
from tasks.crafter.world import DeterministicCrafter

DAYLIGHTS = (1.0, 0.8, 0.5, 0.49, 0.2, 0.0)


def assert_renders_like_stock(env: DeterministicCrafter, size=None) -> None:
    random = env._world.random
    state = random.get_state()
    reference = crafter.Env.render(env, size)
    after = random.get_state()
    random.set_state(state)
    image = env.render(size)
    assert np.array_equal(image, reference) and image.shape == reference.shape
    assert str(random.get_state()) == str(after)


def lit_variants(env: DeterministicCrafter, size=None) -> None:
    """Render under every daylight in DAYLIGHTS, awake and asleep."""
    for sleeping in (False, True):
        env._player.sleeping = sleeping
        for daylight in DAYLIGHTS:
            env._world.daylight = daylight
            assert_renders_like_stock(env, size)
    env._player.sleeping = False


@pytest.fixture(scope="module")
def env() -> DeterministicCrafter:
    env = DeterministicCrafter(seed=3)
    env.reset()
    return env


def test_every_object_texture_on_every_walkable_material(env):
    world, player = env._world, env._player
    around = [player.pos + (dx, dy) for dx in range(-4, 5) for dy in range(-3, 4) if dx or dy]
    for pos in around:
        if world[pos][1] is not None:
            world.remove(world[pos][1])
    for i, pos in enumerate(around):
        world[pos] = ("grass", "sand", "path", "water", "lava", "tree")[i % 6]
    kinds = [
        objects.Cow(world, around[0]),
        objects.Zombie(world, around[1], player),
        objects.Skeleton(world, around[2], player),
        objects.Fence(world, around[3]),
        objects.Plant(world, around[4]),
        objects.Plant(world, around[5]),
    ]
    directions = ((-1, 0), (1, 0), (0, -1), (0, 1))
    kinds += [objects.Arrow(world, around[6 + i], d) for i, d in enumerate(directions)]
    kinds[5].grown = 400  # ripe
    for obj in kinds:
        world.add(obj)
    for facing in directions:
        player.facing = facing
        lit_variants(env)


def test_inventories_of_every_amount(env):
    inventory = env._player.inventory
    for amount in (0, 1, 5, 9, 12):
        for i, item in enumerate(inventory):
            inventory[item] = (amount + i) % 13 if amount else 0
        assert_renders_like_stock(env)
        env._world.daylight = 0.3
        assert_renders_like_stock(env)


def test_edges_of_the_world_show_stock_grey(env):
    world, player = env._world, env._player
    for pos in ((0, 0), (1, 2), (63, 63), (62, 0), (0, 40), (30, 63)):
        if world[pos][1] is not None:
            world.remove(world[pos][1])
        world.move(player, pos)
        lit_variants(env)


@pytest.mark.parametrize("size", [(96, 96), (64, 32), (20, 20), (100, 70)])
def test_other_sizes_and_render_size_argument(size):
    env = DeterministicCrafter(size=size, seed=1)
    env.reset()
    lit_variants(env)
    lit_variants(env, size=(64, 64))  # render(size=...) too, as stock supports


def test_color_enhance_equals_pil_on_a_million_colours():
    """(Checked on all 2**24 colours when written; a random million keeps the test fast.)"""
    colors = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    for factor in (0.4, 0.0):
        reference = np.array(ImageEnhance.Color(Image.fromarray(colors)).enhance(factor))
        planar = lighting.color_enhance(colors.transpose(2, 0, 1), factor)
        assert np.array_equal(planar.transpose(1, 2, 0), reference)


@pytest.mark.parametrize("kwargs", [{"view": (9, 2)}, {"view": (4, 4)}])
def test_unsupported_view_warns_once_and_renders_stock(kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = DeterministicCrafter(seed=0, **kwargs)
        env.reset()
        env.step(0)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "using stock rendering" in messages[0] and "\n" not in messages[0]
    assert np.array_equal(env.render(), crafter.Env.render(env))


def test_pillow_mismatch_falls_back_to_stock(monkeypatch, env):
    monkeypatch.setattr(lighting, "matches_pil", lambda: False)
    env._world.daylight = 1.0  # no night noise: both renders below draw nothing
    renderer = FastRenderer(env)
    with pytest.warns(UserWarning, match="colour enhance differs"):
        assert not renderer.supports()
    assert np.array_equal(renderer(), crafter.Env.render(env))


def test_stock_crafter_on_request(monkeypatch):
    import tasks

    assert tasks.make("crafter_log").crafter._fast_render is not None  # the default
    monkeypatch.setenv("PTGM_STOCK_CRAFTER", "1")
    stock = tasks.make("crafter_log")
    assert stock.crafter._fast_render is None and not stock.crafter._fast_world
