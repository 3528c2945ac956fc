"""The drop-in games declare the metadata and spaces of their PettingZoo twins.

``mail/tictactoe-v0`` stands in for ``pettingzoo.classic.tictactoe_v3`` and
``mail/connect4-v0`` for ``pettingzoo.classic.connect_four_v3`` (PettingZoo
1.27): code that reads ``metadata`` (``aec_to_parallel``, SuperSuit, renderers)
or the spaces must see the same thing from both.
"""

from __future__ import annotations

import re

import pettingzoo
import pytest
from pettingzoo import AECEnv
from pettingzoo.utils.conversions import aec_to_parallel

import mail_envs  # noqa: F401 - registers the mail/ ids

TWINS = {
    "mail/tictactoe-v0": "classic/tictactoe-v3",
    "mail/connect4-v0": "classic/connect_four-v3",
}

# Difference on purpose: ours also render as text ("ansi" returns the board as
# a string); "human" prints that text instead of opening a pygame window, and
# "rgb_array" is drawn with numpy, as each env's docstring says.
OURS_ONLY_RENDER_MODES = {"ansi"}
CLASSIC_ONLY_RENDER_MODES: set[str] = set()

NAME = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*_v\d+$")


def _pair(game_id: str) -> tuple[AECEnv, AECEnv]:
    return pettingzoo.make("aec", game_id), pettingzoo.make("aec", TWINS[game_id])


@pytest.mark.parametrize("game_id", sorted(TWINS))
def test_is_parallelizable_matches_the_classic_twin(game_id: str) -> None:
    ours, classic = _pair(game_id)
    assert ours.metadata["is_parallelizable"] is False
    assert ours.metadata["is_parallelizable"] == classic.metadata["is_parallelizable"]


@pytest.mark.parametrize("game_id", sorted(TWINS))
def test_aec_to_parallel_refuses_both(game_id: str) -> None:
    # Turn-based games go through turn_based_aec_to_parallel (what
    # pettingzoo.make("parallel", game_id) does), never through aec_to_parallel.
    for aec in _pair(game_id):
        with pytest.raises(AssertionError, match="is_parallelizable"):
            aec_to_parallel(aec)
    parallel = pettingzoo.make("parallel", game_id)
    assert parallel.metadata["is_parallelizable"] is False
    assert (
        parallel.possible_agents
        == pettingzoo.make("aec", TWINS[game_id]).possible_agents
    )


@pytest.mark.parametrize("game_id", sorted(TWINS))
def test_render_modes_match_but_for_the_text_renderer(game_id: str) -> None:
    ours, classic = _pair(game_id)
    ours_modes = set(ours.metadata["render_modes"])
    classic_modes = set(classic.metadata["render_modes"])
    assert ours_modes & classic_modes == {"human", "rgb_array"}
    assert ours_modes - classic_modes == OURS_ONLY_RENDER_MODES
    assert classic_modes - ours_modes == CLASSIC_ONLY_RENDER_MODES
    assert ours.metadata["render_fps"] == classic.metadata["render_fps"]


@pytest.mark.parametrize("game_id", sorted(TWINS))
def test_name_follows_the_pettingzoo_convention(game_id: str) -> None:
    ours, classic = _pair(game_id)
    # PettingZoo names an env "<game>_v<N>"; ours is the registered id's game
    # and version: "mail/connect4-v0" -> "connect4_v0".
    assert NAME.match(classic.metadata["name"])
    assert NAME.match(ours.metadata["name"])
    assert ours.metadata["name"] == game_id.removeprefix("mail/").replace("-", "_")


@pytest.mark.parametrize("game_id", sorted(TWINS))
def test_agents_and_spaces_match_the_classic_twin(game_id: str) -> None:
    ours, classic = _pair(game_id)
    assert ours.possible_agents == classic.possible_agents
    for agent in classic.possible_agents:
        assert ours.observation_space(agent) == classic.observation_space(agent)
        assert ours.action_space(agent) == classic.action_space(agent)
