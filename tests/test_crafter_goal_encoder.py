"""The Crafter goal encoder: window alignment, each feature group, determinism."""

import numpy as np

from steve1.data.episode_storage import EMBED_OFFSET
from steve1.data.generation.crafter_state import ACHIEVEMENTS, ITEMS
from steve1.goal_encoders import crafter as enc


def still_states(length=60):
    """A player standing on grass facing a tree, nothing happening."""
    view = np.full((length, 9, 7), 2, np.uint8)  # grass
    view[:, 4, 3] = 13  # the player
    view[:, 4, 4] = 6  # a tree below the player
    return {
        "inventory": np.zeros((length, len(ITEMS)), np.uint8),
        "achievements": np.zeros((length, len(ACHIEVEMENTS)), np.uint16),
        "local_view": view,
        "pos": np.full((length, 2), 32, np.int16),
        "facing": np.tile(np.array([0, 1], np.int8), (length, 1)),
        "sleeping": np.zeros(length, bool),
    }


def column(name):
    return enc.feature_names().index(name)


def test_shape_nan_prefix_and_determinism():
    states = still_states()
    out = enc.encode_episode(states)
    assert out.shape == (60, enc.EMBED_DIM) and out.dtype == np.float32
    assert np.isnan(out[:EMBED_OFFSET]).all() and not np.isnan(out[EMBED_OFFSET:]).any()
    assert np.array_equal(out[EMBED_OFFSET:], enc.encode_episode(states)[EMBED_OFFSET:])
    assert len(enc.feature_names()) == enc.EMBED_DIM == enc.describe()["dim"]


def test_event_and_inventory_change_only_in_windows_that_contain_them():
    states = still_states()
    wood = ACHIEVEMENTS.index("collect_wood")
    states["achievements"][30:, wood] = 1  # the wood was collected by the action at frame 29
    states["inventory"][30:, ITEMS.index("wood")] = 1
    out = enc.encode_episode(states)
    event = out[:, column("event:collect_wood")]
    inside = np.arange(30, 45)  # windows t-15..t that contain frames 29 and 30
    assert (event[inside] == 1).all()
    assert event[EMBED_OFFSET:30].sum() == 0 and event[45:].sum() == 0
    assert (out[inside, column("inventory:wood")] == 0.5).all()
    assert out[EMBED_OFFSET:, column("event:collect_stone")].sum() == 0


def test_view_facing_motion_and_sleep():
    states = still_states()
    states["pos"][40:, 0] = 36  # moved 4 cells right between frames 39 and 40
    states["sleeping"][20:28] = True
    out = enc.encode_episode(states)
    assert np.isclose(out[50, column("view:tree")], np.sqrt(1 / 63))
    assert out[50, column("facing:tree")] == 1 and out[50, column("facing:grass")] == 0
    assert np.isclose(out[45, column("motion:moved")], 1 / 15)
    assert out[39, column("motion:moved")] == 0 and out[56, column("motion:moved")] == 0
    assert not any(name.startswith("motion:d") for name in enc.feature_names())  # no direction
    assert np.isclose(out[27, column("sleep")], 8 / 16)


def test_short_episode_has_no_embeddings():
    assert np.isnan(enc.encode_episode(still_states(10))).all()
