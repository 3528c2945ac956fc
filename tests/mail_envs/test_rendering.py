"""``render_mode="rgb_array"``: every registered game draws an (H, W, 3) uint8 picture."""

from __future__ import annotations

import numpy as np
import pettingzoo
import pytest

import mail_envs  # noqa: F401 - registers the mail/ ids
from mail_envs.registration import GAMES
from mail_envs.rendering import (
    chain_image,
    connect4_image,
    grid_image,
    gridworld_image,
    shape_mask,
    state_index_image,
    tictactoe_image,
)

KINDS = [
    (game.id, kind)
    for game in GAMES
    for kind in ("aec", "parallel")
    if kind == "aec" or game.parallel
]


def _assert_picture(frame: object) -> None:
    assert isinstance(frame, np.ndarray)
    assert frame.dtype == np.uint8
    assert frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[0] > 0 and frame.shape[1] > 0


def _legal(space, mask) -> int:
    return int(space.sample(np.asarray(mask, dtype=np.int8)))


def _step_aec(env) -> None:
    agent = env.agent_selection
    obs, *_ = env.last()
    env.step(_legal(env.action_space(agent), obs["action_mask"]))


def _step_parallel(env, observations) -> None:
    env.step(
        {
            a: _legal(env.action_space(a), observations[a]["action_mask"])
            for a in env.agents
        }
    )


@pytest.mark.parametrize(("game_id", "kind"), KINDS)
def test_rgb_array_after_reset_and_a_step(game_id: str, kind: str) -> None:
    env = pettingzoo.make(kind, game_id, render_mode="rgb_array")
    assert "rgb_array" in env.metadata["render_modes"]
    assert env.metadata["render_fps"] > 0
    if kind == "aec":
        env.reset(seed=0)
        _assert_picture(env.render())
        _step_aec(env)
    else:
        observations, _ = env.reset(seed=0)
        _assert_picture(env.render())
        _step_parallel(env, observations)
    _assert_picture(env.render())
    env.close()


@pytest.mark.parametrize("game_id", ["mail/tictactoe-v0", "mail/connect4-v0"])
def test_picture_changes_after_a_move(game_id: str) -> None:
    env = pettingzoo.make("aec", game_id, render_mode="rgb_array")
    env.reset(seed=0)
    before = env.render()
    env.step(3)
    after = env.render()
    assert before.shape == after.shape
    assert not np.array_equal(before, after)


@pytest.mark.parametrize("game_id", ["mail/gridworld-v0", "mail/chain-v0"])
def test_ansi_and_human_still_work(
    game_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ansi = pettingzoo.make("parallel", game_id, render_mode="ansi")
    ansi.reset(seed=0)
    assert isinstance(ansi.render(), str)
    human = pettingzoo.make("parallel", game_id, render_mode="human")
    human.reset(seed=0)
    assert human.render() is None
    assert capsys.readouterr().out


def test_tictactoe_marks_are_drawn_in_their_cells() -> None:
    empty = tictactoe_image(np.zeros(9, dtype=np.int8))
    x_centre = tictactoe_image(np.array([0, 0, 0, 0, 1, 0, 0, 0, 0]))
    o_centre = tictactoe_image(np.array([0, 0, 0, 0, 2, 0, 0, 0, 0]))
    changed = np.argwhere((x_centre != empty).any(axis=2))
    # every changed pixel lies in the centre cell (rows/cols 64..128)
    assert changed.min() >= 64 and changed.max() < 2 * 64 + 4
    assert not np.array_equal(x_centre, o_centre)


def test_connect4_image_is_drawn_top_row_first() -> None:
    cells = np.zeros((6, 7), dtype=np.int64)
    cells[5, 0] = 1  # bottom-left stone of the first player
    frame = connect4_image(cells, cell_px=40)
    assert frame.shape == (6 * 40 + 2, 7 * 40 + 2, 3)
    centre = frame[5 * 40 + 21, 21]
    assert tuple(centre) != tuple(
        connect4_image(np.zeros((6, 7), int))[5 * 40 + 21, 21]
    )


def test_gridworld_and_chain_pictures_follow_the_state() -> None:
    a = gridworld_image(3, (0, 2), [(2, 2), (0, 0)])
    b = gridworld_image(3, (0, 2), [(2, 1), (0, 0)])
    assert a.shape == b.shape == (3 * 48 + 2, 3 * 48 + 2, 3)
    assert not np.array_equal(a, b)
    assert chain_image(4, 0).shape == (48 + 2, 6 * 48 + 2, 3)
    assert not np.array_equal(chain_image(4, 0), chain_image(4, 4))


def test_state_index_image_marks_the_state() -> None:
    assert not np.array_equal(state_index_image(10, 0), state_index_image(10, 9))
    big = state_index_image(5478, 17)
    assert big.shape[0] <= 1000 and big.shape[1] <= 1000


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="got 'star'"):
        shape_mask("star", 10)
    with pytest.raises(ValueError, match="size must be >= 4"):
        shape_mask("disc", 2)
    with pytest.raises(ValueError, match=r"codes must lie in \[0, 1\)"):
        grid_image(np.array([[0, 1]]), [[]])
    with pytest.raises(ValueError, match="2-D"):
        grid_image(np.array([0, 1]), [[], []])
