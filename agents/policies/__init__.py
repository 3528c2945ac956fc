"""Policies: torch heads with action masks, and their numpy batched-policy adapter.

See :mod:`agents.policies.heads` (the architectures) and
:mod:`agents.policies.torch_policy` (:class:`TorchPolicy`).
"""

from agents.policies import heads, torch_policy
from agents.policies.heads import *  # noqa: F403
from agents.policies.torch_policy import *  # noqa: F403

__all__ = [*heads.__all__, *torch_policy.__all__]
