"""Can one frame plus the intention, learnt over all intentions, make the turns to water?

    PYTHONPATH=. python experiments/approach_underfit/conditioned_probe.py \
        --data_dir data/crafter_play_seen --in_model results/mem/init_hide_k8.model

`perception_probe.py --target action` learns the drink-pursuit frames alone, so its intention is
fixed by the data. Here a fresh encoder of the low level's size learns the data's action on every
played frame (not noise) with water 1-4 cells away, whatever the agent's intention, and is told
the intention: a one-hot of it, through a linear layer, added to the image features (as the low
level adds its goal), then a hidden layer and a head over the 17 actions. No memory. Held out, on
the drink-pursuit frames only, it prints what `perception_probe.py --target action` prints, and
the same with the intention zeroed. If it turns toward the water as the drink-only encoder does,
single-frame conditioning on a mixed dataset is not what fails the low level; if it goes straight
on like the low level, it is.

`--train_frames played` trains on every played frame instead, water in view or not, as the low
level learns (section 10 of the README). `--gated` gives each intention its own head (the
intention picks the head, as well as being added to the features); "intention zeroed" then uses
the head of `explore`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from perception_probe import (  # same directory
    labelled_frames,
    load_low_level,
    minibatches,
    played_mask,
    predict,
)

from steve1.data.episode_storage import EpisodeReader
from steve1.data.generation.play_agent import INTENTIONS


def played_frames(episodes: list[Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every played frame (not exploration noise, from frame 1 on) of `episodes`, water in view or
    not: the frames, the data's actions and the agent's intentions."""
    frames, acts, intents = [], [], []
    for path in episodes:
        reader = EpisodeReader(path)
        states = reader.load_states()
        rows = np.flatnonzero(played_mask(states))
        frames.append(reader.load_frames()[rows])
        acts.append(reader.load_actions()[rows])
        intents.append(states["intention"][rows])
    acts_all, intents_all = np.concatenate(acts), np.concatenate(intents)
    return np.concatenate(frames), acts_all.astype(int), intents_all.astype(int)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", type=Path, required=True)
    parser.add_argument("--in_model", type=Path, required=True)
    parser.add_argument("--train_episodes", type=int, default=400)
    parser.add_argument("--test_episodes", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument(
        "--train_frames",
        choices=("water", "played"),
        default="water",
        help="train on the played frames with water 1-4 cells away (default) or on every played "
        "frame, as the low level does",
    )
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_threads", type=int, default=1)
    parser.add_argument("--gated", action="store_true", help="one head per intention")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.num_threads)
    episodes = sorted(p for p in args.data_dir.iterdir() if p.is_dir())
    test_eps = episodes[: args.test_episodes]
    train_eps = episodes[args.test_episodes : args.test_episodes + args.train_episodes]
    if args.train_frames == "water":
        x_tr, _, _, a_tr, _, i_tr = labelled_frames(train_eps, 4, keep="played")
    else:
        x_tr, a_tr, i_tr = played_frames(train_eps)
    x_te, y_te, d_te, a_te, p_te, i_te = labelled_frames(test_eps, 4, keep="played")
    policy = load_low_level(args.in_model, None)
    net, hid = policy.net, policy.policy_kwargs["hidsize"]
    goal = torch.nn.Linear(len(INTENTIONS), hid)
    body = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(hid, hid), torch.nn.ReLU())
    heads = len(INTENTIONS) if args.gated else 1
    head = torch.nn.Linear(hid, 17 * heads)
    modules = (net.img_process, goal, body, head)
    opt = torch.optim.Adam([p for m in modules for p in m.parameters()], lr=args.lr)
    eye = torch.eye(len(INTENTIONS))

    def logits(frames: np.ndarray, intents: np.ndarray, told: bool = True) -> torch.Tensor:
        feats = net.encode_images(torch.as_tensor(frames)[:, None])[:, 0]
        onehot = eye[torch.as_tensor(intents)] * float(told)
        out = head(body(feats + goal(onehot))).view(len(frames), heads, 17)
        pick = torch.as_tensor(intents) * int(told) if args.gated else torch.zeros(len(frames))
        return out[torch.arange(len(frames)), pick.long()]

    start = time.time()
    for idx in minibatches(len(x_tr), args.batch_size, args.epochs, args.seed):
        loss = torch.nn.functional.cross_entropy(
            logits(x_tr[idx], i_tr[idx]), torch.as_tensor(a_tr[idx])
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    drink = i_te == INTENTIONS.index("collect_drink")
    print(
        f"{len(x_tr)} train frames ({args.train_frames}, all intentions), {drink.sum()} held-out "
        f"drink-pursuit frames, {args.epochs} epochs, {time.time() - start:.0f} s"
    )
    x, y, d, a, p, i = x_te[drink], y_te[drink], d_te[drink], a_te[drink], p_te[drink], i_te[drink]
    for told in (True, False):
        top = predict(lambda xs, js, told=told: logits(xs, js, told), x, i)
        same, far, cont = top == a, d >= 2, a == p
        closer = y[np.arange(len(top)), top]
        turns = far & ~cont & y[np.arange(len(a)), a]
        print(
            f"  {'told the intention' if told else 'intention zeroed  '}: most likely = the data's "
            f"{same.mean():.2f}; water 2-4 cells away ({far.sum()} frames): a closer move "
            f"{closer[far].mean():.2f} (the data's {y[np.arange(len(a)), a][far].mean():.2f}); at "
            f"the turns toward the water ({turns.sum()}) = the data's {same[turns].mean():.2f}, "
            f"goes straight on {(top == p)[turns].mean():.2f}"
        )


if __name__ == "__main__":
    main()
