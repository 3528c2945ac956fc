"""The recipes of ``docs/recipes`` run as written; ``docs/conventions.md`` stays true.

Each recipe page holds one ``python`` block. It runs in a fresh interpreter
(libraries such as Ray keep global state) in a scratch directory, and must
exit 0, print its check line, and never make an illegal move (PettingZoo logs
each one). A page is skipped, with the reason, when its library is not
importable here.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import mail_envs  # noqa: F401  (registers the ids)
from mail_envs.tictactoe.expert import TicTacToeMinimaxExpert

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ROOT / "docs" / "recipes"
CONVENTIONS = ROOT / "docs" / "conventions.md"
PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", flags=re.DOTALL)
NUMBER = r"([-+]?\d+(?:\.\d+)?)"
#: Seconds one recipe may take (they take a few to ~30 s on a 2-core CPU).
TIMEOUT_S = 300
ILLEGAL_MOVE = "Illegal move made"


@dataclass(frozen=True)
class Recipe:
    """One page: the modules it needs and the lines its run must print."""

    page: str
    modules: tuple[str, ...]
    checks: tuple[str, ...]


RECIPE_PAGES = (
    Recipe(
        "sb3.md",
        ("stable_baselines3", "sb3_contrib"),
        (
            rf"MaskablePPO: exact NashConv of \(learner, expert\) = {NUMBER}",
            rf"MaskedDQN: exact NashConv of \(learner, expert\) = {NUMBER}",
        ),
    ),
    Recipe(
        "supersuit.md",
        ("supersuit", "stable_baselines3"),
        (
            r"6 agent-slots share one PPO network",
            rf"exact NashConv = {NUMBER}",
        ),
    ),
    Recipe(
        "tianshou.md",
        ("tianshou",),
        (
            rf"mean return of X against the expert over 20 games: {NUMBER}",
            rf"exact NashConv of \(Tianshou DQN, expert\) = {NUMBER}",
        ),
    ),
    Recipe(
        "rllib.md",
        ("ray.rllib", "ray.rllib.examples.rl_modules.classes.action_masking_rlm"),
        (
            rf"episodes played in training: {NUMBER}",
            rf"exact NashConv of the shared RLlib PPO policy \(self-play\) = {NUMBER}",
        ),
    ),
    Recipe(
        "torchrl.md",
        ("torchrl", "tensordict"),
        (
            r"X \(masked MLP actor\) against the expert over 20 games: "
            r"\{'win': (\d+), 'draw': (\d+), 'loss': (\d+)\}",
            rf"exact NashConv of \(TorchRL actor, expert\) = {NUMBER}",
        ),
    ),
)


def python_blocks(path: Path) -> list[str]:
    """The ``python`` code blocks of a markdown page."""
    return PYTHON_BLOCK.findall(path.read_text())


def require_modules(modules: tuple[str, ...]) -> None:
    """Skip the test, with the reason, unless every module imports here."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # an optional library may fail in many ways
            pytest.skip(
                f"{name} is not importable here: {type(error).__name__}: {error}"
            )


def run_block(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter, single-threaded, in ``cwd``."""
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        # Tianshou's numba kernels take ~20 s to compile; a smoke run needs none.
        NUMBA_DISABLE_JIT="1",
        SDL_VIDEODRIVER="dummy",
        PYTHONWARNINGS="ignore::DeprecationWarning",
        RAY_DEDUP_LOGS="0",
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_index_lists_every_recipe() -> None:
    index = (RECIPES / "index.md").read_text()
    pages = sorted(p.name for p in RECIPES.glob("*.md") if p.name != "index.md")
    assert pages == sorted(r.page for r in RECIPE_PAGES)
    for page in pages:
        assert f"]({page})" in index, f"index.md does not link {page}"


@pytest.mark.parametrize("recipe", RECIPE_PAGES, ids=lambda r: r.page)
def test_recipe_runs(recipe: Recipe, tmp_path: Path) -> None:
    blocks = python_blocks(RECIPES / recipe.page)
    assert len(blocks) == 1, f"{recipe.page} must hold exactly one python block"
    require_modules(recipe.modules)
    result = run_block(blocks[0], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{recipe.page} failed:\n{output[-4000:]}"
    assert ILLEGAL_MOVE not in output, f"{recipe.page} played an illegal move"
    for check in recipe.checks:
        match = re.search(check, result.stdout)
        assert match, f"{recipe.page} did not print {check!r}:\n{result.stdout}"
        values = [float(v) for v in match.groups()]
        assert all(math.isfinite(v) for v in values)
        if "NashConv" in check:
            # A Tic-Tac-Toe or public-goods gain is at most 2 per player.
            assert 0.0 <= values[0] <= 2.0 * 3 + 1e-9
    if recipe.page == "torchrl.md":
        counts = re.search(recipe.checks[0], result.stdout)
        assert counts is not None and sum(map(int, counts.groups())) == 20
    if recipe.page == "supersuit.md":
        # "always keep" is strictly dominant; the shared PPO finds it here.
        assert re.search(r"exact NashConv = 0\.0000", result.stdout)


# ------------------------------------------------------------ conventions.md
def test_conventions_example_runs(tmp_path: Path) -> None:
    (block,) = python_blocks(CONVENTIONS)
    result = run_block(block, tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().endswith("[ True] [[0 0 0 0 0 0 0 0 0]]")


def _play_draw(envs: gym.vector.VectorEnv) -> tuple:
    """X plays the deterministic expert against the expert: five moves, a draw."""
    expert = TicTacToeMinimaxExpert(policy="deterministic")
    obs, _ = envs.reset(seed=0)
    for _ in range(5):
        action = expert(obs["observation"], obs["action_mask"]).argmax(axis=1)
        obs, reward, terminated, truncated, info = envs.step(action)
    return obs, reward, terminated, truncated, info


@pytest.mark.parametrize("mode", ["vector_entry_point", "sync"])
def test_next_step_autoreset_gives_a_drawn_game_an_empty_mask(mode) -> None:
    envs = gym.make_vec(
        "mail_envs/TicTacToe-vs-expert-v0", num_envs=1, vectorization_mode=mode
    )
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, reward, terminated, _, _ = _play_draw(envs)
    assert terminated.tolist() == [True] and reward.tolist() == [0.0]
    assert not obs["action_mask"].any()  # the terminal observation: no legal move
    # The next step resets; its action is ignored, even an "illegal" one.
    obs, reward, terminated, _, _ = envs.step(np.array([4]))
    assert obs["action_mask"].all() and not terminated.any()


@pytest.mark.parametrize(
    "kwargs",
    [
        # mail-gym's batch VectorEnv (the id's vector entry point, the default)
        {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        # Gymnasium's own SyncVectorEnv
        {
            "vectorization_mode": "sync",
            "vector_kwargs": {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        },
    ],
    ids=["batch", "sync"],
)
def test_same_step_autoreset_moves_the_terminal_observation_to_info(kwargs) -> None:
    envs = gym.make_vec("mail_envs/TicTacToe-vs-expert-v0", num_envs=1, **kwargs)
    obs, _, terminated, _, info = _play_draw(envs)
    assert terminated.tolist() == [True]
    assert obs["action_mask"].all()  # already the new game
    assert not info["final_obs"][0]["action_mask"].any()


def test_sb3_vec_env_resets_in_the_same_step() -> None:
    from stable_baselines3.common.env_util import make_vec_env

    envs = make_vec_env("mail_envs/TicTacToe-vs-expert-v0", n_envs=1, seed=0)
    expert = TicTacToeMinimaxExpert(policy="deterministic")
    obs = envs.reset()
    for _ in range(5):
        obs, _, dones, infos = envs.step(
            expert(obs["observation"], obs["action_mask"]).argmax(axis=1)
        )
    assert dones.tolist() == [True]
    assert obs["action_mask"].all()
    assert not infos[0]["terminal_observation"]["action_mask"].any()


@pytest.mark.parametrize("source", ["mail", "pettingzoo"])
def test_a_lost_game_leaves_the_empty_cells_in_the_terminal_mask(source: str) -> None:
    import pettingzoo

    from mail_wrappers.frozen_opponent import FrozenOpponentWrapper

    env_id = "mail/tictactoe-v0" if source == "mail" else "classic/tictactoe-v3"
    game = pettingzoo.make("aec", env_id)
    view = FrozenOpponentWrapper(game, "player_1", TicTacToeMinimaxExpert())
    obs, _ = view.reset(seed=0)
    terminated, reward = False, 0.0
    while not terminated:  # X takes the lowest free cell: the expert wins
        obs, reward, terminated, _, _ = view.step(int(np.argmax(obs["action_mask"])))
    assert reward == -1.0
    assert obs["action_mask"].any()


def test_board_observations_are_int8_like_pettingzoo_classic() -> None:
    import pettingzoo

    pairs = [
        ("mail/tictactoe-v0", "classic/tictactoe-v3"),
        ("mail/connect4-v0", "classic/connect_four-v3"),
    ]
    for env_id, classic_id in pairs:
        ours, theirs = (
            pettingzoo.make("aec", env_id),
            pettingzoo.make("aec", classic_id),
        )
        for agent in ours.possible_agents:
            space = ours.observation_space(agent)
            assert space == theirs.observation_space(agent)
            assert space["observation"].dtype == np.int8
            assert space["action_mask"].dtype == np.int8
