"""Tests that the Gridworld, chain and random games are made through PettingZoo's registry."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import pettingzoo
import pytest
from pettingzoo.test import api_test, parallel_api_test

import mail_envs
from mail_envs.chain import ChainAECEnv
from mail_envs.gridworld import GridworldParallelEnv
from mail_envs.random_games import RandomZeroSumAECEnv, RandomZeroSumParallelEnv


def _checker_warnings():
    warnings.simplefilter("error")
    warnings.filterwarnings(
        "ignore", message="Observation space for each agent probably"
    )
    warnings.filterwarnings("ignore", message="Observation is not a NumPy array")


def test_make_parallel_gridworld_passes_the_checker():
    env = pettingzoo.make("parallel", "mail/gridworld-v0")
    assert isinstance(env, GridworldParallelEnv)
    assert env.game.num_states == 72
    with warnings.catch_warnings():
        _checker_warnings()
        parallel_api_test(env, num_cycles=60)


def test_make_aec_chain_with_kwargs_passes_the_checker():
    env = pettingzoo.make("aec", "mail/chain-v0", length=5)
    assert isinstance(env.unwrapped, ChainAECEnv)
    assert env.unwrapped.layout.length == 5
    with warnings.catch_warnings():
        _checker_warnings()
        api_test(env, num_cycles=60)


def test_make_random_zero_sum_both_kinds_and_max_cycles():
    aec = pettingzoo.make("aec", "mail/random-zero-sum-v0", num_states=4, max_cycles=9)
    assert isinstance(aec.unwrapped, RandomZeroSumAECEnv)
    assert aec.unwrapped.max_cycles == 9
    par = pettingzoo.make("parallel", "mail/random-zero-sum-v0", seed=3)
    assert isinstance(par, RandomZeroSumParallelEnv)
    with warnings.catch_warnings():
        _checker_warnings()
        api_test(aec, num_cycles=30)
        parallel_api_test(par, num_cycles=30)


@pytest.mark.parametrize(
    "game_id", ["mail/gridworld-v0", "mail/chain-v0", "mail/random-zero-sum-v0"]
)
def test_registered_in_both_registries(game_id):
    assert game_id in [info.id for info in mail_envs.GAMES]
    assert pettingzoo.spec("aec", game_id).entry_point.endswith(":env")
    assert pettingzoo.spec("parallel", game_id).entry_point.endswith(":parallel_env")


def test_import_only_registers():
    """Importing mail_envs loads no game module and adds only mail/ ids."""
    code = textwrap.dedent(
        """
        import sys
        from pettingzoo.env_registry.registration import aec_registry, parallel_registry
        before = (set(aec_registry), set(parallel_registry))
        import mail_envs
        new_aec = set(aec_registry) - before[0]
        new_par = set(parallel_registry) - before[1]
        assert new_aec and all(i.startswith("mail/") for i in new_aec), new_aec
        assert all(i.startswith("mail/") for i in new_par), new_par
        assert {"mail/gridworld-v0", "mail/chain-v0", "mail/random-zero-sum-v0"} <= new_par
        loaded = [m for m in ("mail_envs.gridworld", "mail_envs.chain",
                              "mail_envs.random_games", "mail_envs.tabular_env")
                  if m in sys.modules]
        assert not loaded, loaded
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
