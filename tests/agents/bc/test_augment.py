"""Tests of the board-symmetry augmentation (agents/bc/augment.py).

Independent check: the Tic-Tac-Toe minimax expert (mail_envs.tictactoe.expert)
is computed from the game tree, which is invariant under the 8 symmetries of
the square, so its optimal moves on an image board are the images of its
optimal moves: the augmented labels must be exactly its answers there.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.bc.augment import dihedral_augment
from agents.common import spawn_seeds
from agents.deep.explorers import PolicyExplorer
from agents.imitation import ImitationProblem, LearnerSession
from mail_envs.tictactoe import env as tictactoe_env
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.recorder import (
    ExpertLabelDataset,
    ExpertLabelRecorder,
    save_expert_labels,
)

EXPERT = TicTacToeMinimaxExpert(policy="uniform")
PROBLEM = ImitationProblem("mail/tictactoe-v0", tictactoe_env, (EXPERT, EXPERT))


def labels(player: int, explorer, num_games: int, seed: int) -> ExpertLabelDataset:
    session = LearnerSession(PROBLEM, player, spawn_seeds(seed, 2)[player])
    PolicyExplorer(explorer).explore(session, num_games)
    return session.dataset()


@pytest.mark.parametrize(
    ("player", "explorer"), [(0, EXPERT), (1, EXPERT), (0, uniform_policy)]
)
def test_dihedral_augment_gives_the_expert_labels_of_the_symmetric_boards(
    player, explorer, tmp_path
):
    data = labels(player, explorer, num_games=6, seed=5)
    aug = dihedral_augment(data)
    n = len(data)
    assert n > 0 and len(aug) == 8 * n and aug.metadata["num_rows"] == 8 * n
    assert aug.metadata["augmented"] == "dihedral"
    # The first N rows are the input.
    for key in ("observations", "action_masks", "expert_actions", "expert_probs"):
        np.testing.assert_array_equal(getattr(aug, key)[:n], getattr(data, key))
    for key in ("agents", "episodes", "steps"):
        np.testing.assert_array_equal(getattr(aug, key), np.tile(getattr(data, key), 8))
    # The minimax expert is symmetric: its answer on an image board is the
    # image of its answer (exact), and the transformed action stays legal
    # and optimal.
    np.testing.assert_array_equal(
        EXPERT(aug.observations, aug.action_masks), aug.expert_probs
    )
    empty = aug.observations.sum(axis=3).reshape(-1, 9) == 0
    np.testing.assert_array_equal(aug.action_masks, empty)
    assert np.all(aug.expert_probs[np.arange(8 * n), aug.expert_actions] > 0)
    # Each block of N rows is one symmetry of the boards: the number of marks
    # of each player is kept, and the 8 images are the 8 dihedral images.
    np.testing.assert_array_equal(
        aug.observations.reshape(8, n, 9, 2).sum(axis=2),
        np.broadcast_to(data.observations.reshape(n, 9, 2).sum(axis=1), (8, n, 2)),
    )
    boards = data.observations
    images = [np.rot90(boards, k, axes=(1, 2)) for k in range(4)]
    images += [np.rot90(boards.transpose(0, 2, 1, 3), k, axes=(1, 2)) for k in range(4)]
    np.testing.assert_array_equal(aug.observations, np.concatenate(images))
    # The augmented dataset is a valid dataset file.
    save_expert_labels(tmp_path / "aug", aug)


def test_rotations_keep_a_move_in_its_class():
    # The 4 rotations of the first label stay in its class: corners to
    # corners, edges to edges, the centre to itself.
    data = labels(0, EXPERT, num_games=6, seed=5)
    aug = dihedral_augment(data)
    classes = ({0, 2, 6, 8}, {1, 3, 5, 7}, {4})
    n = len(data)
    for row in range(n):
        (orbit,) = [c for c in classes if data.expert_actions[row] in c]
        assert set(aug.expert_actions[row::n].tolist()) == orbit


def test_a_corner_on_the_empty_board_maps_to_all_four_corners():
    rec = ExpertLabelRecorder(game_id="mail/tictactoe-v0", expert="demo")
    rec.add(
        observation=np.zeros((3, 3, 2), np.int8),
        action_mask=np.ones(9, bool),
        expert_action=2,
        expert_probs=np.eye(9)[2],
        agent="player_1",
        episode=0,
        step=0,
    )
    aug = dihedral_augment(rec.dataset())
    # rot90 turns the board counter-clockwise: the top-right corner (2) goes
    # to top-left (0), bottom-left (6), bottom-right (8); the transpose maps
    # it to bottom-left (6) first.
    assert aug.expert_actions.tolist() == [2, 0, 6, 8, 6, 8, 2, 0]
    np.testing.assert_array_equal(aug.expert_probs.argmax(axis=1), aug.expert_actions)


def _dataset(obs_shape, num_actions):
    return ExpertLabelDataset(
        observations=np.zeros((1, *obs_shape)),
        action_masks=np.ones((1, num_actions), bool),
        expert_actions=np.zeros(1, np.int64),
        expert_probs=np.full((1, num_actions), 1 / num_actions),
        agents=np.zeros(1, np.int64),
        episodes=np.zeros(1, np.int64),
        steps=np.zeros(1, np.int64),
    )


def test_non_square_boards_are_rejected():
    with pytest.raises(ValueError, match=r"square board.*\(1, 6, 7, 2\)"):
        dihedral_augment(_dataset((6, 7, 2), 7))  # Connect Four
    with pytest.raises(ValueError, match="square board"):
        dihedral_augment(_dataset((9,), 9))
    with pytest.raises(ValueError, match=r"one action per cell \(9\), got 7"):
        dihedral_augment(_dataset((3, 3, 2), 7))
