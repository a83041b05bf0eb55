"""Hindsight-goal relabelling and chunking of episodes (spec section 4.1), for both trainers.

Every episode of length L is cut into chunks of T frames starting at 15, 15+T, ... (a chunk running
past L is shifted back to [L-T, L)). Each time a chunk is loaded, goal timesteps are drawn over the
whole episode: from g = 0, add an integer uniform in [min_btwn_goals, max_btwn_goals); if
L - g < min_btwn_goals, jump to L-1; stop at L-1. Frames 0..g0+1 get goal
g0, frames g0+2..g1+1 get g1, and so on (the switch happens one frame after the goal frame, as
upstream). The goal vector is the embedding at g (window g-15..g); goals earlier than frame 15 are
moved to 15, the first frame with an embedding (only possible when min_btwn_goals < 15).
`goal_lead` (beyond upstream, 0 by default) takes the embedding `goal_lead` frames after the goal
frame instead (clipped to the last frame): with 15 the goal window starts at the goal frame, which
is at most one frame before the current one (the switch lags one frame), so a goal describes what
is still to come rather than what the policy is doing now.
`event_gap` (beyond upstream, 0 by default) anchors goals at events: whenever the next frame at
which an achievement counter rose lies `min_btwn_goals`..`event_gap` frames after the current goal,
that event (its window ending 0-7 frames after it) is the next goal, so the whole walk to a tree or
to water, from the decision on, is conditioned on what it was for.
With probability p_uncond the whole chunk's goal is zeroed (classifier-free guidance).
`change_weight` (beyond upstream, 1 by default) multiplies the loss weight of the frames whose
action differs from the previous frame's (a turn toward water, a `do` after a walk): the decisions,
which are few among the frames that continue a walk (keyframe-focused imitation, Wen et al. 2021).
`event_weight` (beyond upstream, 1 by default) multiplies the loss weight of the `event_window`
frames whose actions lead up to an event (an achievement, Crafter): the walk to the water and the
drink.

Frames whose action has no effect (Crafter: the player is asleep, so the game ignores the action)
get a zero loss weight, and chunks with fewer than `min_active` of such effective frames are left
out: they teach nothing about acting (upstream drops Minecraft's null actions for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from steve1.data.episode_storage import EMBED_OFFSET, EpisodeReader, open_episodes
from steve1.data.generation.crafter_state import ACHIEVEMENTS, ITEMS

ENERGY_MAX = 9
EVENT_SPREAD = 8  # an event goal's window ends 0..7 frames after the event


def chunk_starts(length: int, T: int, first: int = EMBED_OFFSET) -> list[int]:  # noqa: N803
    """Start frames of the T-frame chunks of an episode of `length` frames, from frame `first`
    (upstream: 15, the first goal embedding's frame)."""
    if length < T + EMBED_OFFSET:
        return []
    starts = []
    for start in range(first, length, T):
        starts.append(min(start, length - T))
        if start + T >= length:
            break
    return starts


def sample_goal_steps(
    length: int,
    min_btwn: int,
    max_btwn: int,
    rng: np.random.Generator,
    events: np.ndarray | None = None,
    event_gap: int = 0,
) -> np.ndarray:
    """Goal timesteps over an episode by upstream's rule; the last is always L-1.

    With `event_gap` > 0 (beyond upstream), the next goal is the next event's frame (plus 0-7
    frames, so that its window holds the event) whenever that lies between `min_btwn` and
    `event_gap` frames after the current goal; otherwise upstream's step is taken."""
    goals, g = [], 0
    anchors = np.empty(0, np.int64)
    if event_gap > 0 and events is not None and len(events):
        anchors = np.minimum(events + rng.integers(0, EVENT_SPREAD, len(events)), length - 1)
    while g < length - 1:
        later = anchors[anchors >= g + min_btwn] if len(anchors) else anchors
        if len(later) and later.min() - g <= event_gap:
            g = int(later.min())
        else:
            g += int(rng.integers(min_btwn, max_btwn))
        if length - g < min_btwn:
            g = length - 1
        goals.append(g)
    return np.maximum(np.array(goals, np.int64), EMBED_OFFSET)


def goal_index_per_frame(length: int, goal_steps: np.ndarray) -> np.ndarray:
    """For every frame t, the goal step it is conditioned on (the switch lags one frame)."""
    frames = np.arange(length)
    slot = np.searchsorted(goal_steps + 1, frames, side="left")
    return goal_steps[np.minimum(slot, len(goal_steps) - 1)]


@dataclass
class Chunk:
    """One training item: T consecutive frames with their actions and goals."""

    frames: np.ndarray  # uint8 (T, H, W, 3)
    actions: np.ndarray  # (T, ...)
    goals: np.ndarray  # float32 (T, D)
    goal_steps: np.ndarray  # (T,) the frame each goal embeds up to (for goal-prior labels)
    conditioned: bool  # False when the chunk's goal was dropped (p_uncond)
    loss_mask: np.ndarray  # float32 (T,): 0 where the action had no effect


class EpisodeCache:
    """Episodes held in memory (frames, actions, embeddings): Crafter data fits in RAM."""

    def __init__(self, readers: list[EpisodeReader]) -> None:
        if not readers:
            raise ValueError("no readable episodes to train on")
        self.paths = [r.path for r in readers]
        self.metadata = [r.metadata for r in readers]
        self.frames = [r.load_frames() for r in readers]
        self.actions = [r.load_actions() for r in readers]
        self.embeds = [r.load_embeds() for r in readers]
        states = [r.load_states() for r in readers]
        self.inert = [inert_frames(s, len(r)) for s, r in zip(states, readers, strict=True)]
        self.events = [event_frames(s) for s in states]

    @classmethod
    def from_paths(cls, paths: list) -> EpisodeCache:
        return cls(open_episodes(paths))

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def world(self) -> str:
        """`crafter` or `minecraft` (episodes without the field are Minecraft's)."""
        return self.metadata[0].get("world", "minecraft")


def event_frames(states: dict[str, np.ndarray], event: str | None = None) -> np.ndarray:
    """Frames at which an achievement counter rose (Crafter), each the first frame after the
    achieving action; only `event`'s counter if given. None without `achievements`."""
    if "achievements" not in states:
        return np.empty(0, np.int64)
    counts = states["achievements"].astype(np.int64)
    if event is not None:
        if event not in ACHIEVEMENTS:
            raise ValueError(f"unknown achievement {event!r}; one of {', '.join(ACHIEVEMENTS)}")
        counts = counts[:, [ACHIEVEMENTS.index(event)]]
    rose = np.any(np.diff(counts, axis=0) > 0, axis=1)
    return np.flatnonzero(rose).astype(np.int64) + 1


def lead_up_frames(events: np.ndarray, length: int, window: int) -> np.ndarray:
    """Bool (length,): the `window` frames before each event frame, whose actions lead to it (the
    last one, at `event - 1`, is the action that made it)."""
    mask = np.zeros(length, bool)
    for event in events:
        mask[max(int(event) - window, 0) : int(event)] = True
    return mask


def inert_frames(states: dict[str, np.ndarray], length: int) -> np.ndarray:
    """Bool (L,): frames whose action teaches nothing, so they carry no loss; none for Minecraft.

    Crafter ignores the action of a sleeping player whose energy is below the maximum (at full
    energy it wakes the player and executes that frame's action). The play agent's exploration
    noise (`states["explore"]`, recorded by newer play data) is random, not play: imitating it
    makes the low level wander, so it is masked as upstream drops Minecraft's null actions.
    """
    if "sleeping" not in states:
        return np.zeros(length, bool)
    energy = states["inventory"][:, ITEMS.index("energy")]
    inert = states["sleeping"].astype(bool) & (energy < ENERGY_MAX)
    if "explore" in states:
        inert |= states["explore"].astype(bool)
    return inert


class HindsightGoalChunks:
    """All chunks of a set of episodes, relabelled with fresh hindsight goals on every access."""

    def __init__(
        self,
        cache: EpisodeCache,
        T: int,
        min_btwn_goals: int,  # noqa: N803
        max_btwn_goals: int,
        p_uncond: float = 0.0,
        min_active: float = 0.25,
        goal_lead: int = 0,
        event_gap: int = 0,
        change_weight: float = 1.0,
        event_weight: float = 1.0,
        event_window: int = 8,
        first_frame: int = EMBED_OFFSET,
    ) -> None:
        if not min_btwn_goals < max_btwn_goals:
            raise ValueError("need min_btwn_goals < max_btwn_goals")
        if not 0 <= first_frame <= EMBED_OFFSET:
            raise ValueError(f"first_frame must be in 0..{EMBED_OFFSET}, got {first_frame}")
        if goal_lead < 0:
            raise ValueError(f"goal_lead must be >= 0, got {goal_lead}")
        if event_gap < 0 or 0 < event_gap < min_btwn_goals:
            raise ValueError(
                f"event_gap must be 0 (off) or at least min_btwn_goals={min_btwn_goals}, "
                f"got {event_gap}"
            )
        if not (change_weight > 0 and event_weight > 0 and event_window >= 1):
            raise ValueError(
                f"change_weight and event_weight must be > 0 and event_window >= 1, got "
                f"{change_weight}, {event_weight}, {event_window}"
            )
        self.event_gap, self.change_weight = event_gap, float(change_weight)
        self.event_weight = float(event_weight)
        self.lead_up = (  # only needed to weigh: the default leaves start-up as it was
            [
                lead_up_frames(events, len(actions), event_window)
                for events, actions in zip(cache.events, cache.actions, strict=True)
            ]
            if self.event_weight != 1.0
            else None
        )
        self.cache, self.T, self.p_uncond, self.goal_lead = cache, T, p_uncond, goal_lead
        self.min_btwn, self.max_btwn = min_btwn_goals, max_btwn_goals
        self.index = [
            (e, s)
            for e in range(len(cache))
            for s in chunk_starts(len(cache.actions[e]), T, first_frame)
            if 1 - cache.inert[e][s : s + T].mean() >= min_active
        ]
        if not self.index:
            long_enough = any(len(a) >= T + EMBED_OFFSET for a in cache.actions)
            raise ValueError(
                f"every chunk of T={T} frames has fewer than {min_active:.0%} frames whose "
                "action has an effect (the player sleeps); use more data"
                if long_enough
                else f"no episode has the {T + EMBED_OFFSET} frames a chunk of T={T} needs; "
                "lower T or use longer episodes"
            )

    def __len__(self) -> int:
        return len(self.index)

    def get(self, i: int, rng: np.random.Generator) -> Chunk:
        """Chunk `i` with goals drawn from `rng`."""
        episode, start = self.index[i]
        length = len(self.cache.actions[episode])
        steps = sample_goal_steps(
            length, self.min_btwn, self.max_btwn, rng, self.cache.events[episode], self.event_gap
        )
        per_frame = goal_index_per_frame(length, steps)[start : start + self.T]
        per_frame = np.minimum(per_frame + self.goal_lead, length - 1)
        goals = self.cache.embeds[episode][per_frame]
        conditioned = not rng.random() < self.p_uncond
        if not conditioned:
            goals = np.zeros_like(goals)
        return Chunk(
            frames=self.cache.frames[episode][start : start + self.T],
            actions=self.cache.actions[episode][start : start + self.T],
            goals=goals.astype(np.float32),
            goal_steps=per_frame,
            conditioned=conditioned,
            loss_mask=self._loss_weights(episode, start),
        )

    def _loss_weights(self, episode: int, start: int) -> np.ndarray:
        """float32 (T,): 0 on inert frames, else the product of `change_weight` where the action
        changed and `event_weight` where it leads up to an event (1 where neither). An episode's
        first frame counts as unchanged."""
        chunk = slice(start, start + self.T)
        weights = 1 - self.cache.inert[episode][chunk].astype(np.float32)
        if self.lead_up is not None:
            weights *= np.where(self.lead_up[episode][chunk], self.event_weight, 1.0)
        if self.change_weight != 1.0:
            actions = self.cache.actions[episode]
            before = np.concatenate([actions[:1], actions[:-1]])  # the previous frame's action
            now = actions[chunk]
            changed = (now != before[chunk]).reshape(len(now), -1).any(axis=1)
            weights *= np.where(changed, self.change_weight, 1.0)
        return weights.astype(np.float32)
