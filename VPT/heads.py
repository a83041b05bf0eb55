"""Action heads (categorical, or a dict of named categoricals) and the value head.

An action space is either an `int` n (one `Discrete(n)` head, checkpoint name `pi_head.linear_layer`)
or an ordered mapping name -> n (one head per name, `pi_head.<name>.linear_layer`; Minecraft is
`{"camera": 121, "buttons": 8641}`, in that order). Heads return log-probabilities of
`logits / temperature`; actions are int64 tensors (or dicts of them) shaped like the batch.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.nn import functional as F

from VPT.layers import fan_in_init_

ActionSpace = int | Mapping[str, int]
Logits = torch.Tensor | dict[str, torch.Tensor]
Action = torch.Tensor | dict[str, torch.Tensor]


class CategoricalHead(nn.Module):
    """Linear layer to `n` logits, divided by `temperature`, returned as log-probabilities."""

    def __init__(self, in_features: int, n: int, temperature: float = 1.0) -> None:
        super().__init__()
        self.linear_layer = nn.Linear(in_features, n)
        fan_in_init_(self.linear_layer, 0.01)  # near-uniform initial policy
        self.temperature = float(temperature)
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.linear_layer(x) / self.temperature, dim=-1)

    def log_prob(self, logits: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return logits.gather(-1, action.long().unsqueeze(-1)).squeeze(-1)

    def entropy(self, logits: torch.Tensor) -> torch.Tensor:
        return -(logits.exp() * logits).sum(-1)

    def kl_divergence(self, logits_q: torch.Tensor, logits_p: torch.Tensor) -> torch.Tensor:
        """KL(q || p) = sum_a q(a) (log q(a) - log p(a))."""
        return (logits_q.exp() * (logits_q - logits_p)).sum(-1)

    def sample(self, logits: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """Gumbel-max sample (argmax when deterministic); works on unnormalised logits too."""
        if deterministic:
            return logits.argmax(-1)
        u = torch.rand_like(logits).clamp_(1e-10, 1.0 - 1e-7)
        return (logits - torch.log(-torch.log(u))).argmax(-1)


class DictActionHead(nn.ModuleDict):
    """Independent categorical heads, one per named sub-action; joint quantities are summed."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        return {name: head(x) for name, head in self.items()}

    def log_prob(
        self, logits: dict[str, torch.Tensor], action: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        return sum(head.log_prob(logits[k], action[k]) for k, head in self.items())  # type: ignore[return-value]

    def entropy(self, logits: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(head.entropy(logits[k]) for k, head in self.items())  # type: ignore[return-value]

    def kl_divergence(
        self, logits_q: dict[str, torch.Tensor], logits_p: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        return sum(head.kl_divergence(logits_q[k], logits_p[k]) for k, head in self.items())  # type: ignore[return-value]

    def sample(
        self, logits: dict[str, torch.Tensor], deterministic: bool = False
    ) -> dict[str, torch.Tensor]:
        return {k: head.sample(logits[k], deterministic) for k, head in self.items()}

    @property
    def temperature(self) -> float:
        return next(iter(self.values())).temperature


def normalize_action_space(action_space: object) -> ActionSpace:
    """Accept an int, a mapping name -> int, or a gym(nasium) `Discrete` / `Dict` of `Discrete`."""
    if isinstance(action_space, bool):
        raise TypeError("action space must be an int or a mapping of ints, not a bool")
    if hasattr(action_space, "__index__"):  # int, numpy integer
        return int(action_space)  # type: ignore[call-overload]
    if hasattr(action_space, "n") and not isinstance(action_space, Mapping):
        return int(action_space.n)
    spaces = getattr(action_space, "spaces", action_space)
    if isinstance(spaces, Mapping) and spaces:
        return {str(k): int(normalize_action_space(v)) for k, v in spaces.items()}  # type: ignore[arg-type]
    raise TypeError(
        f"unsupported action space {action_space!r}: need Discrete(n) or a dict of them"
    )


def make_action_head(
    action_space: ActionSpace, in_features: int, temperature: float = 1.0
) -> CategoricalHead | DictActionHead:
    """`CategoricalHead` for an int, `DictActionHead` (in the mapping's order) for a mapping."""
    space = normalize_action_space(action_space)
    if isinstance(space, int):
        return CategoricalHead(in_features, space, temperature)
    return DictActionHead(
        {k: CategoricalHead(in_features, n, temperature) for k, n in space.items()}
    )


class NormalizeEwma(nn.Module):
    """Running (debiased, exponentially weighted) mean and variance of the value targets.

    The statistics are frozen `nn.Parameter`s, not buffers, because that is how the official
    checkpoints store them (`running_mean`, `running_mean_sq`, a 0-dim `debiasing_term`).
    """

    def __init__(self, size: int = 1, beta: float = 0.99999, epsilon: float = 1e-5) -> None:
        super().__init__()
        self.beta, self.epsilon = beta, epsilon
        self.running_mean = nn.Parameter(torch.zeros(size), requires_grad=False)
        self.running_mean_sq = nn.Parameter(torch.zeros(size), requires_grad=False)
        self.debiasing_term = nn.Parameter(torch.tensor(0.0), requires_grad=False)

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        debias = self.debiasing_term.clamp(min=self.epsilon)
        mean = self.running_mean / debias
        var = (self.running_mean_sq / debias - mean**2).clamp(min=1e-2)
        return mean, var

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        """Fold a batch of targets (..., size) into the statistics."""
        x = x.reshape(-1, self.running_mean.shape[0]).float()
        w = self.beta
        self.running_mean.mul_(w).add_(x.mean(0) * (1 - w))
        self.running_mean_sq.mul_(w).add_((x**2).mean(0) * (1 - w))
        self.debiasing_term.mul_(w).add_(1 - w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, var = self.mean_var()
        return (x - mean) / var.sqrt()

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, var = self.mean_var()
        return x * var.sqrt() + mean


class ScaledMSEHead(nn.Module):
    """Value head: `linear` predicts the *normalised* value; `normalizer` maps to and from it."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 1)
        fan_in_init_(self.linear, 1.0)
        self.normalizer = NormalizeEwma(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., in_features) -> (...) normalised value prediction."""
        return self.linear(x).squeeze(-1)

    def denormalize(self, vpred: torch.Tensor) -> torch.Tensor:
        return self.normalizer.denormalize(vpred.unsqueeze(-1)).squeeze(-1)

    def loss(self, vpred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Elementwise squared error in normalised units (VPT's scaled MSE)."""
        normalized = self.normalizer(target.unsqueeze(-1)).squeeze(-1)
        return (vpred - normalized) ** 2
