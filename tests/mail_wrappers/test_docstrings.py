"""The ``Example:`` sections of mail_wrappers' docstrings run and are right."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "mail_wrappers._policy",
    "mail_wrappers.elliptical",
    "mail_wrappers.elliptical_reward",
    "mail_wrappers.expert_query",
    "mail_wrappers.frozen_opponent",
    "mail_wrappers.recorder",
    "mail_wrappers.single_agent",
    "mail_wrappers.table_policy",
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS
    )
    assert result.failed == 0
