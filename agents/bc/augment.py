"""Data augmentations for behaviour cloning: more rows, no extra expert query.

Example:
    >>> import numpy as np
    >>> from mail_wrappers.recorder import ExpertLabelRecorder
    >>> rec = ExpertLabelRecorder(game_id="mail/tictactoe-v0", expert="demo")
    >>> board = np.zeros((3, 3, 2), np.int8)
    >>> rec.add(observation=board, action_mask=np.ones(9, bool), expert_action=0,
    ...         expert_probs=np.eye(9)[0], agent="player_1", episode=0, step=0)
    >>> aug = dihedral_augment(rec.dataset())
    >>> len(aug), sorted(set(aug.expert_actions.tolist()))  # the four corners
    (8, [0, 2, 6, 8])
"""

from __future__ import annotations

import numpy as np

from mail_wrappers.recorder import ExpertLabelDataset

__all__ = ["dihedral_augment"]


def dihedral_augment(labels: ExpertLabelDataset) -> ExpertLabelDataset:
    """The 8 symmetries of a square board applied to a label dataset (8x the rows).

    For board games on an ``n x n`` grid whose action ``k`` marks cell
    ``(k // n, k % n)`` (Tic-Tac-Toe: PettingZoo's action index is the
    row-major cell of the observation planes), rotating or reflecting the
    board maps the expert's optimal moves to the optimal moves of the image
    board, so every label gives 8 (some coincide on symmetric boards).

    Args:
        labels: Observations ``(N, n, n, C)`` and ``n * n`` actions.

    Returns:
        A dataset with ``8 N`` rows: the 4 rotations of the boards, then the 4
        rotations of their transposes (the first ``N`` rows are the input);
        agents, episodes and steps repeat those of the input rows.

    Raises:
        ValueError: If the observations are not square boards whose cells are
            the actions.
    """
    obs = labels.observations
    if obs.ndim != 4 or obs.shape[1] != obs.shape[2]:
        raise ValueError(
            "dihedral_augment needs square board observations (N, n, n, C), got "
            f"shape {obs.shape}"
        )
    n = obs.shape[1]
    if labels.action_masks.shape[1] != n * n:
        raise ValueError(
            f"dihedral_augment needs one action per cell ({n * n}), got "
            f"{labels.action_masks.shape[1]} actions"
        )
    grids = (
        labels.action_masks.reshape(-1, n, n),
        labels.expert_probs.reshape(-1, n, n),
        np.eye(n * n, dtype=np.int8)[labels.expert_actions].reshape(-1, n, n),
    )
    out: list[list[np.ndarray]] = [[], [], [], []]
    for transpose in (False, True):
        arrays: tuple[np.ndarray, ...] = (obs, *grids)
        if transpose:
            arrays = (obs.transpose(0, 2, 1, 3), *(g.transpose(0, 2, 1) for g in grids))
        for k in range(4):
            for slot, array in enumerate(arrays):
                out[slot].append(np.rot90(array, k, axes=(1, 2)))
    observations, masks, probs, onehot = (np.concatenate(o) for o in out)
    return ExpertLabelDataset(
        observations=np.ascontiguousarray(observations),
        action_masks=masks.reshape(-1, n * n),
        expert_actions=onehot.reshape(-1, n * n).argmax(axis=1).astype(np.int64),
        expert_probs=probs.reshape(-1, n * n),
        agents=np.tile(labels.agents, 8),
        episodes=np.tile(labels.episodes, 8),
        steps=np.tile(labels.steps, 8),
        metadata={
            **labels.metadata,
            "num_rows": 8 * len(labels),
            "augmented": "dihedral",
        },
    )
