"""The ``Example:`` sections of every docstring of the three packages run and are right.

One doctest test for ``mail_envs``, ``mail_wrappers`` and ``agents``: every
module is found by walking the packages, so a new module is collected too.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest
import torch

import agents
import mail_envs
import mail_wrappers

MODULES = sorted(
    info.name
    for package in (agents, mail_envs, mail_wrappers)
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
)


def test_every_module_is_collected():
    assert {"agents.bc.profile", "agents.pipeline.runner", "agents.imitation"} <= set(
        MODULES
    )
    assert {"mail_envs.chain", "mail_wrappers.recorder"} <= set(MODULES)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    torch.set_num_threads(1)
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0
