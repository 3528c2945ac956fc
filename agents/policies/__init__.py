"""Policies: torch heads with action masks, and their numpy batched-policy adapter.

See :mod:`agents.policies.heads` (the architectures) and
:mod:`agents.policies.torch_policy` (:class:`TorchPolicy`).
"""

from agents.policies.heads import (
    ARCHITECTURES,
    FeatureLinearPolicy,
    LinearPolicy,
    MLPPolicy,
    PolicyHead,
    ResidualSEPolicy,
    SmallCNNPolicy,
    apply_action_mask,
    build_policy_head,
)
from agents.policies.torch_policy import TorchPolicy

__all__ = [
    "ARCHITECTURES",
    "FeatureLinearPolicy",
    "LinearPolicy",
    "MLPPolicy",
    "PolicyHead",
    "ResidualSEPolicy",
    "SmallCNNPolicy",
    "TorchPolicy",
    "apply_action_mask",
    "build_policy_head",
]
