"""The ``Example:`` sections of every agents and mail_envs docstring run and are right.

(mail_wrappers has its own list in tests/mail_wrappers/test_docstrings.py.)
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import torch

import agents
import mail_envs

MODULES = sorted(
    info.name
    for package in (agents, mail_envs)
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
)


def test_every_module_is_collected():
    assert {"agents.bc.profile", "agents.pipeline.runner", "agents.imitation"} <= set(
        MODULES
    )
    assert "mail_envs.chain" in MODULES


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    torch.set_num_threads(1)
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0
