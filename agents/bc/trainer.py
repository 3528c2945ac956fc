"""Behaviour cloning with action masks: a thin, seeded torch trainer.

Behaviour cloning (BC) fits a policy head to expert labels by minimizing the
masked cross-entropy

    L(theta) = -(1/N) sum_n sum_a y_n(a) log pi_theta(a | o_n, m_n),
    pi_theta(. | o, m) = softmax(logits_theta(o) with -inf on illegal actions),

where the label ``y_n`` is either the expert's action (one-hot) or the
expert's action distribution (soft label). This is the last step of every
MAIL algorithm of Viano, Freihaut et al. ("Multi-agent imitation learning with
function approximation: linear Markov games and beyond"): the exploration phase
decides *which* states get expert labels, BC turns the labels into a policy.

The loss and accuracy are pure functions (:func:`masked_cross_entropy`,
:func:`masked_accuracy`); :class:`BCTrainer` only wires them to Adam,
minibatches, a held-out split with early stopping and a progress bar.

Example:
    >>> import numpy as np
    >>> from agents.policies import MLPPolicy
    >>> obs = np.eye(8, dtype=np.float32)
    >>> masks = np.ones((8, 3), dtype=bool)
    >>> actions = np.arange(8) % 3
    >>> head = MLPPolicy(observation_shape=(8,), num_actions=3, seed=0)
    >>> trainer = BCTrainer(policy=head, rng=0, max_epochs=50, validation_fraction=0.0,
    ...                     progress_bar=False, optimizer_kwargs={"lr": 3e-2})
    >>> trainer.train(obs, masks, actions).train_accuracy
    1.0
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from stable_baselines3.common.logger import Logger
from tqdm.auto import tqdm

from agents.bc.checks import (
    check_finite_loss,
    check_finite_parameters,
    real,
    validate_dataset,
    validate_weights,
)
from agents.common import check_positive_int, fused_adam, resolve_device
from agents.policies import PolicyHead, TorchPolicy, apply_action_mask

__all__ = [
    "BCMetrics",
    "BCTrainer",
    "deduplicate",
    "label_distributions",
    "masked_accuracy",
    "masked_cross_entropy",
    "masked_nll",
]


def masked_nll(
    logits: torch.Tensor, action_masks: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """Per-row cross-entropy ``-sum_a y_b(a) log softmax(mask(logits_b))(a)``, shape ``(B,)``.

    Illegal actions get logit ``-inf`` (probability exactly 0); terms with
    ``y_b(a) = 0`` contribute exactly 0 (no ``0 * -inf`` NaN).

    Args:
        logits: ``(B, A)`` logits (raw or already masked).
        action_masks: ``(B, A)`` boolean legal-action masks.
        targets: ``(B,)`` integer expert actions (legal), or ``(B, A)`` float
            expert distributions with no mass on illegal actions.

    Returns:
        ``(B,)`` losses (differentiable).
    """
    masks = action_masks.bool()
    log_probs = torch.log_softmax(apply_action_mask(logits, masks), dim=1)
    if targets.dtype.is_floating_point:
        safe = torch.where(masks, log_probs, torch.zeros_like(log_probs))
        return -(targets.to(log_probs.dtype) * safe).sum(dim=1)
    return -log_probs.gather(1, targets.long()[:, None]).squeeze(1)


def masked_cross_entropy(
    logits: torch.Tensor,
    action_masks: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean cross-entropy between expert labels and the masked softmax policy.

    ``-(1/B) sum_b sum_a y_b(a) log softmax(mask(logits_b))(a)``, where illegal
    actions get logit ``-inf`` (probability exactly 0). Terms with ``y_b(a) = 0``
    contribute exactly 0 (no ``0 * -inf`` NaN). With ``weights`` the mean is
    weighted, ``sum_b w_b nll_b / sum_b w_b``: a row of weight ``k`` counts as
    ``k`` copies of itself (see :func:`deduplicate`).

    Args:
        logits: ``(B, A)`` logits (raw or already masked).
        action_masks: ``(B, A)`` boolean legal-action masks.
        targets: ``(B,)`` integer expert actions (legal), or ``(B, A)`` float
            expert distributions with no mass on illegal actions.
        weights: Optional ``(B,)`` non-negative row weights.

    Returns:
        The scalar (weighted) mean loss (differentiable).

    Example:
        >>> logits = torch.zeros(1, 3)
        >>> masks = torch.tensor([[True, True, False]])
        >>> round(masked_cross_entropy(logits, masks, torch.tensor([0])).item(), 6)
        0.693147
    """
    nll = masked_nll(logits, action_masks, targets)
    if weights is None:
        return nll.mean()
    weights = weights.to(nll.dtype)
    return (weights * nll).sum() / weights.sum()


def masked_accuracy(
    logits: torch.Tensor,
    action_masks: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Fraction of rows whose greedy legal action is an expert action.

    The greedy action is the argmax of the masked logits (lowest index on
    ties). With integer targets it must equal the target; with soft targets it
    must have the largest target probability (any optimal action counts).

    Args:
        logits: ``(B, A)`` logits.
        action_masks: ``(B, A)`` boolean legal-action masks.
        targets: ``(B,)`` integer actions or ``(B, A)`` distributions.
        weights: Optional ``(B,)`` non-negative row weights (a weighted fraction).

    Returns:
        Scalar tensor in ``[0, 1]``.

    Example:
        >>> masked_accuracy(torch.tensor([[2.0, 1.0]]), torch.tensor([[False, True]]),
        ...                 torch.tensor([1])).item()
        1.0
    """
    greedy = apply_action_mask(logits, action_masks.bool()).argmax(dim=1)
    if targets.dtype.is_floating_point:
        best = targets.max(dim=1).values
        hit = targets.gather(1, greedy[:, None]).squeeze(1) >= best
    else:
        hit = greedy == targets.long()
    if weights is None:
        return hit.double().mean()
    weights = weights.double()
    return (weights * hit.double()).sum() / weights.sum()


def deduplicate(
    observations: np.ndarray, action_masks: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical ``(observation, mask, target)`` rows; return them with their counts.

    Board-game datasets repeat the same labelled positions many times (every
    game starts from the same few boards). The weighted loss over the distinct
    rows, each weighted by its count, equals the plain loss over all rows
    (:func:`masked_cross_entropy` with ``weights``), so cloning on the distinct
    rows fits the same objective in far fewer minibatches.

    Args:
        observations: ``(N, *obs_shape)`` observations.
        action_masks: ``(N, A)`` legal-action masks.
        targets: ``(N,)`` actions or ``(N, A)`` distributions.

    Returns:
        ``(observations, action_masks, targets, counts)`` of the distinct rows in
        the order of their first occurrence; ``counts`` is ``(M,)`` int64 and
        sums to ``N``.

    Raises:
        ValueError: If the three arrays have different lengths.

    Example:
        >>> obs = np.array([[0, 1], [0, 1], [1, 0]])
        >>> masks = np.ones((3, 2), dtype=bool)
        >>> _, _, actions, counts = deduplicate(obs, masks, np.array([1, 1, 0]))
        >>> actions.tolist(), counts.tolist()
        ([1, 0], [2, 1])
    """
    arrays = [np.ascontiguousarray(a) for a in (observations, action_masks, targets)]
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(
            "observations, action_masks and targets must have the same length, got "
            f"{lengths}"
        )
    n = lengths[0]
    if n == 0:
        return (*arrays, np.zeros(0, dtype=np.int64))  # type: ignore[return-value]
    _, first, counts = np.unique(
        _row_keys(*arrays), return_index=True, return_counts=True
    )
    order = np.argsort(first, kind="stable")
    keep = first[order]
    return (
        arrays[0][keep],
        arrays[1][keep],
        arrays[2][keep],
        counts[order].astype(np.int64),
    )


def _row_keys(*arrays: np.ndarray) -> np.ndarray:
    """One hashable byte string per row of the concatenated arrays."""
    n = len(arrays[0])
    key = np.concatenate(
        [
            np.ascontiguousarray(a).reshape(n, -1).view(np.uint8).reshape(n, -1)
            for a in arrays
        ],
        axis=1,
    )
    return np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1]))).ravel()


def label_distributions(
    observations: np.ndarray, action_masks: np.ndarray, targets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct ``(observation, mask)`` once, with the mean of its labels.

    An expert that randomizes (the minimax Tic-Tac-Toe expert picks uniformly
    among its optimal moves) labels the same board with different actions;
    this turns the rows of one board into one row whose soft target is the
    empirical distribution of its labels (the mean of their one-hot actions,
    or of their distributions) and whose count is the number of rows. The
    cross-entropy is linear in the target, so the count-weighted loss over
    these rows equals the plain loss over all rows
    (:func:`masked_cross_entropy`).

    Args:
        observations: ``(N, *obs_shape)`` observations.
        action_masks: ``(N, A)`` legal-action masks.
        targets: ``(N,)`` integer actions or ``(N, A)`` distributions.

    Returns:
        ``(observations, action_masks, distributions, counts)`` of the distinct
        rows in the order of their first occurrence: ``(M, A)`` float32
        distributions and ``(M,)`` int64 counts summing to ``N``.

    Raises:
        ValueError: If the arrays have different lengths, or an integer
            target is not an action index.

    Example:
        >>> obs = np.array([[0, 1], [0, 1], [1, 0]])
        >>> masks = np.ones((3, 2), dtype=bool)
        >>> _, _, probs, counts = label_distributions(obs, masks, np.array([1, 0, 0]))
        >>> probs.tolist(), counts.tolist()
        ([[0.5, 0.5], [1.0, 0.0]], [2, 1])
    """
    lengths = [len(a) for a in (observations, action_masks, targets)]
    if len(set(lengths)) != 1:
        raise ValueError(
            "observations, action_masks and targets must have the same length, got "
            f"{lengths}"
        )
    masks = np.asarray(action_masks)
    num_actions = masks.shape[1]
    targets = np.asarray(targets)
    if targets.ndim == 1:
        if len(targets) and (targets.min() < 0 or targets.max() >= num_actions):
            bad = int(targets[(targets < 0) | (targets >= num_actions)][0])
            raise ValueError(
                f"targets must be action indices in [0, {num_actions}), got {bad!r}"
            )
        targets = np.eye(num_actions, dtype=np.float64)[targets]
    n = lengths[0]
    if n == 0:
        return (
            np.asarray(observations),
            masks,
            targets.astype(np.float32),
            np.zeros(0, dtype=np.int64),
        )
    _, first, inverse, counts = np.unique(
        _row_keys(np.asarray(observations), masks),
        return_index=True,
        return_inverse=True,
        return_counts=True,
    )
    sums = np.zeros((len(first), num_actions))
    np.add.at(sums, inverse.ravel(), targets)
    order = np.argsort(first, kind="stable")
    keep = first[order]
    probs = sums[order] / counts[order][:, None]
    return (
        np.asarray(observations)[keep],
        masks[keep],
        probs.astype(np.float32),
        counts[order].astype(np.int64),
    )


@dataclass(frozen=True)
class BCMetrics:
    """Outcome of :meth:`BCTrainer.train`.

    Losses and accuracies are those of the returned (restored best) weights,
    evaluated on the full split in eval mode. Histories hold one entry per
    epoch: the running mean minibatch loss (train) and the held-out loss.

    Attributes:
        epochs_run: Epochs trained before stopping.
        best_epoch: 1-based epoch whose weights were kept (the last epoch when
            there is no validation split).
        stopped_early: Whether early stopping ended training.
        train_loss: Masked cross-entropy on the training split.
        train_accuracy: Greedy accuracy on the training split.
        val_loss: Masked cross-entropy on the held-out split (None without one).
        val_accuracy: Greedy accuracy on the held-out split (None without one).
        num_train: Training examples.
        num_val: Held-out examples.
        wall_time_s: Wall-clock seconds of :meth:`BCTrainer.train`.
        train_loss_history: Per-epoch running training loss.
        val_loss_history: Per-epoch held-out loss (empty without a split).
    """

    epochs_run: int
    best_epoch: int
    stopped_early: bool
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    num_train: int
    num_val: int
    wall_time_s: float
    train_loss_history: tuple[float, ...]
    val_loss_history: tuple[float, ...]


class BCTrainer:
    """Behaviour cloning of a policy head on (observation, mask, label) data.

    Minimizes :func:`masked_cross_entropy` with Adam over shuffled minibatches.
    A ``validation_fraction`` of the data is held out (a seeded random split);
    after every epoch the held-out loss is measured, and training stops when it
    has not improved by more than ``min_delta`` for ``patience`` epochs; the
    best weights are restored. Everything random comes from ``rng`` (split and
    shuffling); seed the head as well (``seed=`` of the head constructors) and
    the same seeds give bit-identical weights on CPU.

    Args:
        policy: The head to train (moved to ``device``).
        rng: A ``numpy.random.Generator`` or an integer seed.
        batch_size: Minibatch size.
        max_epochs: Upper bound on passes over the training split.
        validation_fraction: Fraction held out for early stopping, in
            ``[0, 1)``; 0 trains for ``max_epochs`` and keeps the last weights.
        patience: Epochs without held-out improvement before stopping.
        min_delta: Improvement of the held-out loss that resets the patience.
        optimizer_kwargs: Keywords of ``torch.optim.Adam`` (default
            ``lr=1e-3``); ``fused="auto"`` takes the fused kernel where the
            device has it (:func:`agents.common.fused_adam`).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...
        progress_bar: Show a tqdm bar over epochs.
        logger: An SB3 logger (e.g. :meth:`agents.monitor.RunMonitor.logger`)
            that gets, after every epoch, ``bc/epoch``, ``bc/train_loss``,
            ``bc/val_loss`` (with a held-out split) and ``bc/seconds`` (since
            the start of :meth:`train`), dumped with ``step=epoch``. Logging
            reads numbers training computes anyway: the weights are the same
            with and without it.
        progress: Called as ``progress(epoch, max_epochs)`` after every epoch,
            and ``progress(max_epochs, max_epochs)`` once when early stopping
            ends training sooner.
        stop_when_fit: End training after the first epoch at which every
            training row's greedy legal action is one of its labels (its
            action, or an action of positive probability of its soft target):
            the data is fit, and further epochs only sharpen the logits. With
            a held-out split it ends at such an epoch that also improves the
            held-out loss (those weights are kept).
        min_epochs: ``stop_when_fit`` ends training no sooner than this
            epoch (a fit reached earlier is trained on until then).

    Raises:
        TypeError: If ``policy`` is not a :class:`~agents.policies.PolicyHead`,
            ``rng`` is neither a Generator nor an int, or a numeric argument is
            not a number.
        ValueError: If a numeric argument is out of range or not finite
            (including ``optimizer_kwargs`` ``lr``/``weight_decay``/``eps``).

    Example:
        >>> from agents.policies import LinearPolicy
        >>> trainer = BCTrainer(policy=LinearPolicy((4,), 2, seed=0), rng=0,
        ...                     progress_bar=False)
        >>> trainer.device
        device(type='cpu')
    """

    def __init__(
        self,
        *,
        policy: PolicyHead,
        rng: np.random.Generator | int,
        batch_size: int = 64,
        max_epochs: int = 100,
        validation_fraction: float = 0.1,
        patience: int = 10,
        min_delta: float = 0.0,
        optimizer_kwargs: dict[str, Any] | None = None,
        device: str | torch.device = "auto",
        progress_bar: bool = True,
        logger: Logger | None = None,
        progress: Callable[[int, int], None] | None = None,
        stop_when_fit: bool = False,
        min_epochs: int = 1,
    ) -> None:
        if not isinstance(policy, PolicyHead):
            raise TypeError(f"policy must be a PolicyHead, got {type(policy).__name__}")
        if isinstance(rng, np.random.Generator):
            self.rng = rng
        elif isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
            self.rng = np.random.default_rng(int(rng))
        else:
            raise TypeError(
                f"rng must be a numpy.random.Generator or an int seed, got {rng!r}"
            )
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.max_epochs = check_positive_int("max_epochs", max_epochs)
        self.patience = check_positive_int("patience", patience)
        self.validation_fraction = real("validation_fraction", validation_fraction)
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {validation_fraction!r}"
            )
        self.min_delta = real("min_delta", min_delta)
        if not self.min_delta >= 0.0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.device = resolve_device(device)
        self.optimizer_kwargs = {"lr": 1e-3, **(optimizer_kwargs or {})}
        if self.optimizer_kwargs.get("fused") == "auto":
            self.optimizer_kwargs["fused"] = fused_adam(self.device)
        for key in ("lr", "weight_decay", "eps"):
            if key in self.optimizer_kwargs:
                value = self.optimizer_kwargs[key]
                if isinstance(value, torch.Tensor) and value.numel() == 1:
                    value = value.item()
                real(f"optimizer_kwargs[{key!r}]", value)
        self.policy = policy.to(self.device)
        try:
            self.optimizer = torch.optim.Adam(
                self.policy.parameters(), **self.optimizer_kwargs
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"invalid optimizer_kwargs {self.optimizer_kwargs!r}: {exc}"
            ) from exc
        self.progress_bar = bool(progress_bar)
        if logger is not None and not isinstance(logger, Logger):
            raise TypeError(
                f"logger must be a stable_baselines3 Logger, got {type(logger).__name__}"
            )
        self.logger = logger
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be callable, got {progress!r}")
        self.progress = progress
        if not isinstance(stop_when_fit, (bool, np.bool_)):
            raise TypeError(f"stop_when_fit must be a bool, got {stop_when_fit!r}")
        self.stop_when_fit = bool(stop_when_fit)
        self.min_epochs = check_positive_int("min_epochs", min_epochs)

    def as_policy(
        self, mode: Literal["stochastic", "greedy"] = "greedy"
    ) -> TorchPolicy:
        """The trained head as a numpy batched policy (see :class:`TorchPolicy`)."""
        return TorchPolicy(self.policy, mode=mode, device=self.device)

    def _evaluate(
        self,
        obs: torch.Tensor,
        masks: torch.Tensor,
        targets: torch.Tensor,
        weights: torch.Tensor,
    ) -> tuple[float, float]:
        """Weighted mean loss and accuracy over a split, in eval mode, in chunks."""
        self.policy.eval()
        total_loss, total_hits = 0.0, 0.0
        chunk = max(self.batch_size, 4096)
        with torch.no_grad():
            for start in range(0, len(obs), chunk):
                sl = slice(start, start + chunk)
                logits = self.policy(obs[sl], masks[sl])
                w = weights[sl]
                size = w.sum().item()
                total_loss += (
                    masked_cross_entropy(logits, masks[sl], targets[sl], w).item()
                    * size
                )
                total_hits += (
                    masked_accuracy(logits, masks[sl], targets[sl], w).item() * size
                )
        total = weights.sum().item()
        return total_loss / total, total_hits / total

    def _fits(
        self, obs: torch.Tensor, masks: torch.Tensor, targets: torch.Tensor
    ) -> bool:
        """Whether every row's greedy legal action is one of its labels.

        A label is the row's action, or any action of positive probability in
        a soft target (e.g. a :func:`label_distributions` row).
        """
        self.policy.eval()
        chunk = max(self.batch_size, 4096)
        with torch.no_grad():
            for start in range(0, len(obs), chunk):
                sl = slice(start, start + chunk)
                greedy = apply_action_mask(
                    self.policy(obs[sl], masks[sl]), masks[sl].bool()
                ).argmax(dim=1)
                if targets.dtype.is_floating_point:
                    hit = targets[sl].gather(1, greedy[:, None]).squeeze(1) > 0
                else:
                    hit = greedy == targets[sl].long()
                if not bool(hit.all()):
                    return False
        return True

    def _log_epoch(
        self, epoch: int, train_loss: float, val_loss: float | None, start: float
    ) -> None:
        """Record one epoch's numbers in the logger; report progress."""
        if self.logger is not None:
            self.logger.record("bc/epoch", epoch)
            self.logger.record("bc/train_loss", train_loss)
            if val_loss is not None:
                self.logger.record("bc/val_loss", val_loss)
            self.logger.record("bc/seconds", time.perf_counter() - start)
            self.logger.dump(step=epoch)
        if self.progress is not None:
            self.progress(epoch, self.max_epochs)

    def train(
        self,
        observations: np.ndarray,
        action_masks: np.ndarray,
        targets: np.ndarray,
        sample_weights: np.ndarray | None = None,
    ) -> BCMetrics:
        """Fit the head to the labelled data.

        Args:
            observations: ``(N, *obs_shape)`` observations.
            action_masks: ``(N, A)`` boolean legal-action masks.
            targets: ``(N,)`` integer expert actions, or ``(N, A)`` expert
                action distributions (soft labels).
            sample_weights: Optional ``(N,)`` positive row weights, e.g. the
                counts of :func:`deduplicate`: a row of weight ``k`` counts as
                ``k`` copies. Minibatches draw rows with probability
                proportional to their weights (with replacement), so a
                minibatch is distributed as one drawn from the repeated rows
                and its gradient is an unbiased estimate of theirs; a training
                split that fits in one minibatch is used whole, with the exact
                weighted loss (drawing
                rows uniformly and scaling each loss by its weight is unbiased
                too, but its variance grows with the spread of the counts:
                the opening position of a board game repeats a thousand times
                more than a leaf, and such noisy steps were why an earlier
                trial of deduplicated BC cloned worse). The reported losses and
                accuracies are weighted means. The held-out split and
                ``num_train``/``num_val`` count rows, and an epoch is
                ``ceil(num_train / batch_size)`` steps: set the number of
                updates with ``max_epochs``.

        Returns:
            The :class:`BCMetrics` of the kept (best) weights.

        Raises:
            ValueError: If the dataset is empty, lengths or shapes disagree, a
                mask row has no legal action, an observation, soft target or
                sample weight is NaN or inf, or a target is illegal or not a
                distribution; the message names the array, the row and value.
            TypeError: If targets of shape ``(N,)`` are not integers.
            FloatingPointError: If the training or held-out loss, or a weight,
                becomes NaN or inf (training diverged, e.g. a learning rate
                far too large); the message names the epoch.
        """
        start_time = time.perf_counter()
        obs_np, masks_np, targets_np = validate_dataset(
            self.policy, observations, action_masks, targets
        )
        n = len(obs_np)
        weighted = sample_weights is not None
        weights_np = validate_weights(sample_weights, n)
        num_val = round(self.validation_fraction * n) if self.validation_fraction else 0
        num_val = min(max(num_val, 1 if self.validation_fraction else 0), n - 1)
        order = self.rng.permutation(n)
        val_idx, train_idx = np.sort(order[:num_val]), np.sort(order[num_val:])

        def to_device(idx: np.ndarray) -> tuple[torch.Tensor, ...]:
            return (
                torch.as_tensor(obs_np[idx], device=self.device).float(),
                torch.as_tensor(masks_np[idx], device=self.device),
                torch.as_tensor(targets_np[idx], device=self.device),
                torch.as_tensor(weights_np[idx], device=self.device),
            )

        train_data, val_data = to_device(train_idx), to_device(val_idx)
        num_train = len(train_idx)
        # Weighted rows are drawn in proportion to their weights (with
        # replacement): a minibatch is distributed exactly as one drawn from
        # the repeated rows, so E[minibatch loss] = the weighted loss.
        # One minibatch holding every row is the exact weighted loss instead.
        exact = weighted and num_train <= self.batch_size
        sampled = weighted and not exact
        row_probs = weights_np[train_idx] / weights_np[train_idx].sum()

        best_val, best_epoch, bad_epochs = float("inf"), 0, 0
        best_state: dict[str, torch.Tensor] | None = None
        train_history: list[float] = []
        val_history: list[float] = []
        stopped_early = False
        bar = tqdm(
            range(1, self.max_epochs + 1), desc="BC", disable=not self.progress_bar
        )
        for epoch in bar:
            self.policy.train()
            perm = torch.as_tensor(
                self.rng.choice(num_train, size=num_train, p=row_probs)
                if sampled
                else self.rng.permutation(num_train),
                device=self.device,
            )
            running = torch.zeros((), device=self.device)  # no per-step device sync
            for start in range(0, num_train, self.batch_size):
                idx = perm[start : start + self.batch_size]
                obs_b, masks_b, targets_b, weights_b = (t[idx] for t in train_data)
                logits = self.policy(obs_b, masks_b)
                loss = masked_cross_entropy(
                    logits, masks_b, targets_b, weights_b if exact else None
                )
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                running += loss.detach() * len(idx)
            train_history.append(running.item() / num_train)
            check_finite_loss("training loss", train_history[-1], epoch, self)
            fitted = (
                self.stop_when_fit
                and epoch >= self.min_epochs
                and self._fits(*train_data[:3])
            )
            if num_val == 0:
                best_epoch = epoch
                bar.set_postfix(train_loss=f"{train_history[-1]:.4f}")
                self._log_epoch(epoch, train_history[-1], None, start_time)
                if fitted:
                    stopped_early = True
                    break
                continue
            val_loss, _ = self._evaluate(*val_data)
            check_finite_loss("held-out loss", val_loss, epoch, self)
            val_history.append(val_loss)
            self._log_epoch(epoch, train_history[-1], val_loss, start_time)
            bar.set_postfix(
                train_loss=f"{train_history[-1]:.4f}", val_loss=f"{val_loss:.4f}"
            )
            if val_loss < best_val - self.min_delta:
                best_val, best_epoch, bad_epochs = val_loss, epoch, 0
                best_state = copy.deepcopy(self.policy.state_dict())
                if fitted:
                    stopped_early = True
                    break
            else:
                bad_epochs += 1
                if bad_epochs >= self.patience:
                    stopped_early = True
                    break
        bar.close()
        if stopped_early and self.progress is not None:
            self.progress(self.max_epochs, self.max_epochs)
        if best_state is not None:
            self.policy.load_state_dict(best_state)

        check_finite_parameters(self.policy, len(train_history))
        train_loss, train_accuracy = self._evaluate(*train_data)
        check_finite_loss("training loss", train_loss, len(train_history), self)
        val_loss_final: float | None = None
        val_accuracy: float | None = None
        if num_val:
            val_loss_final, val_accuracy = self._evaluate(*val_data)
        self.policy.eval()
        return BCMetrics(
            epochs_run=len(train_history),
            best_epoch=best_epoch,
            stopped_early=stopped_early,
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            val_loss=val_loss_final,
            val_accuracy=val_accuracy,
            num_train=num_train,
            num_val=num_val,
            wall_time_s=time.perf_counter() - start_time,
            train_loss_history=tuple(train_history),
            val_loss_history=tuple(val_history),
        )
