"""mail-gym games: rules, tabular models, PettingZoo envs and their registration.

Importing this package registers every game under PettingZoo's ``mail/``
namespace and has no other side effect.
"""

from __future__ import annotations

from mail_envs.core import BatchedPolicy, TabularMarkovGame, joint_action_index
from mail_envs.registration import GAMES, register_envs

__all__ = [
    "GAMES",
    "BatchedPolicy",
    "TabularMarkovGame",
    "joint_action_index",
    "register_envs",
]
__version__ = "0.1.0"

register_envs()
