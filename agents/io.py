"""Save and load policy heads: safetensors weights plus a JSON config, no pickle.

A saved policy is two files side by side, ``<stem>.safetensors`` (the head's
``state_dict``, written with :func:`safetensors.torch.save_file`) and
``<stem>.json``::

    {
      "format": "mail-gym-policy",
      "format_version": 1,
      "architecture": "cnn",              # a key of agents.policies.ARCHITECTURES
      "config": {...},                    # head.config(): constructor keywords
      "observation_shape": [3, 3, 2],
      "num_actions": 9,
      "game_id": "mail/tictactoe-v0",     # or null
      "package_version": "0.1.0",
      "weights_sha256": "...",            # detects a truncated or swapped weights file
      "metadata": {...}                   # free-form, JSON only
    }

Both files are written atomically: each goes to a temporary file in the same
directory and is moved into place with :func:`os.replace`, so a crash never
leaves a half-written file under the final name. Loading rebuilds the head from
the config with :func:`~agents.policies.build_policy_head` and fills it with
:func:`safetensors.torch.load_file`; nothing is unpickled.

Example:
    >>> import tempfile, pathlib
    >>> from agents.policies import MLPPolicy
    >>> head = MLPPolicy(observation_shape=(4,), num_actions=2, seed=0)
    >>> stem = pathlib.Path(tempfile.mkdtemp()) / "bc_policy"
    >>> files = save_policy(head, stem, game_id="mail/gridworld-v0")
    >>> type(load_policy(stem, game_id="mail/gridworld-v0")).__name__
    'MLPPolicy'
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

import mail_envs
from agents.common import resolve_device
from agents.policies import PolicyHead, build_policy_head
from mail_envs.files import atomic_write

__all__ = ["FORMAT", "FORMAT_VERSION", "PolicyFiles", "load_policy", "save_policy"]

#: Value of the config's ``"format"`` field.
FORMAT = "mail-gym-policy"
#: Version of the on-disk layout; bumped on incompatible changes.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class PolicyFiles:
    """Paths of a saved policy."""

    weights: Path
    config: Path


def _package_version() -> str:
    try:
        return importlib_metadata.version("mail-gym")
    except importlib_metadata.PackageNotFoundError:  # pragma: no cover - not installed
        return str(mail_envs.__version__)


def _paths(path: str | os.PathLike[str]) -> PolicyFiles:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    if not p.name:
        raise ValueError(f"path must name a file stem, got {str(path)!r}")
    return PolicyFiles(
        weights=p.with_name(p.name + ".safetensors"),
        config=p.with_name(p.name + ".json"),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_finite_tensors(tensors: dict[str, torch.Tensor], where: str) -> None:
    """Raise ``ValueError`` naming the first floating tensor with a NaN or inf."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() or tensor.is_complex():
            finite = torch.isfinite(tensor)
            if not bool(finite.all()):
                count = int((~finite).sum())
                raise ValueError(
                    f"{where}: parameter tensor {name!r} has {count} non-finite "
                    f"(NaN or inf) entries of {tensor.numel()}; a head with "
                    "non-finite weights plays a meaningless policy"
                )


def save_policy(
    head: PolicyHead,
    path: str | os.PathLike[str],
    *,
    game_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> PolicyFiles:
    """Save a head as ``<path>.safetensors`` + ``<path>.json`` (atomically).

    Args:
        head: The policy head.
        path: File stem; a ``.safetensors``/``.json`` suffix is dropped. The
            parent directory is created if needed.
        game_id: Registered game id the head plays (``"mail/tictactoe-v0"``);
            :func:`load_policy` can insist on it.
        metadata: Extra JSON-serializable information (training metrics...).

    Returns:
        The :class:`PolicyFiles` written.

    Raises:
        TypeError: If ``head`` is not a PolicyHead, cannot be serialized (a
            ``feature_fn`` head), or ``metadata`` is not JSON-serializable.
        ValueError: If a parameter or buffer of ``head`` has a NaN or inf
            entry (the message names the tensor); nothing is written.
    """
    if not isinstance(head, PolicyHead):
        raise TypeError(f"head must be a PolicyHead, got {type(head).__name__}")
    files = _paths(path)
    config = head.config()
    tensors = {
        k: v.detach().to("cpu").contiguous().clone()
        for k, v in head.state_dict().items()
    }
    _check_finite_tensors(tensors, "refusing to save the policy")
    files.weights.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": head.architecture,
        "config": config,
        "observation_shape": list(head.observation_shape),
        "num_actions": head.num_actions,
        "game_id": game_id,
        "package_version": _package_version(),
        "weights_sha256": "",
        "metadata": metadata or {},
    }
    try:
        json.dumps(document)
    except TypeError as exc:
        raise TypeError(
            f"config and metadata must be JSON-serializable: {exc}"
        ) from exc

    atomic_write(
        files.weights, lambda tmp: safetensors.torch.save_file(tensors, str(tmp))
    )
    document["weights_sha256"] = _sha256(files.weights)

    def write_json(tmp: Path) -> None:
        tmp.write_text(
            json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    atomic_write(files.config, write_json)
    return files


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"policy config {str(path)!r} does not exist") from exc
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"policy config {str(path)!r} is not valid JSON: {exc}"
        ) from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(
            f"policy config {str(path)!r} is not a {FORMAT!r} file "
            f"(format={document.get('format') if isinstance(document, dict) else None!r})"
        )
    if document.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"policy config {str(path)!r} has format_version "
            f"{document.get('format_version')!r}; this version reads {FORMAT_VERSION}"
        )
    required = (
        "architecture",
        "config",
        "observation_shape",
        "num_actions",
        "game_id",
        "weights_sha256",
    )
    missing = [key for key in required if key not in document]
    if missing:
        raise ValueError(f"policy config {str(path)!r} lacks the fields {missing}")
    return document


def load_policy(
    path: str | os.PathLike[str],
    *,
    game_id: str | None = None,
    observation_shape: Sequence[int] | None = None,
    num_actions: int | None = None,
    device: str | torch.device = "auto",
) -> PolicyHead:
    """Load a head saved by :func:`save_policy`, checking it fits the caller.

    Args:
        path: The stem passed to :func:`save_policy` (or either file's path).
        game_id: If given, the saved ``game_id`` must equal it.
        observation_shape: If given, the saved observation shape must equal it.
        num_actions: If given, the saved action count must equal it.
        device: Where to put the head (``"auto"``: CUDA when available).

    Returns:
        The head with the saved weights, in eval mode.

    Raises:
        FileNotFoundError: If either file is missing.
        ValueError: If the config is not valid JSON or lacks fields, the
            weights file is corrupt or does not match the config's checksum or
            architecture, a saved tensor has a NaN or inf entry (the message
            names the tensor), or the saved game id / observation shape /
            action count differs from the expected one; the message names both
            values.
    """
    files = _paths(path)
    document = _read_config(files.config)
    saved_shape = tuple(document["observation_shape"])
    expectations = (
        ("game_id", game_id, document["game_id"]),
        (
            "observation_shape",
            None
            if observation_shape is None
            else tuple(int(s) for s in observation_shape),
            saved_shape,
        ),
        ("num_actions", num_actions, document["num_actions"]),
    )
    for name, expected, saved in expectations:
        if expected is not None and expected != saved:
            raise ValueError(
                f"saved policy {str(files.config)!r} has {name}={saved!r}, expected {expected!r}"
            )
    if not files.weights.exists():
        raise FileNotFoundError(f"policy weights {str(files.weights)!r} do not exist")
    digest = _sha256(files.weights)
    if digest != document["weights_sha256"]:
        raise ValueError(
            f"policy weights {str(files.weights)!r} do not match the config's checksum "
            f"(sha256 {digest[:12]}... != {str(document['weights_sha256'])[:12]}...): "
            "the file is corrupt or belongs to another policy"
        )
    try:
        tensors = safetensors.torch.load_file(str(files.weights), device="cpu")
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise ValueError(
            f"policy weights {str(files.weights)!r} are corrupt: {exc}"
        ) from exc
    _check_finite_tensors(tensors, f"policy weights {str(files.weights)!r}")

    head = build_policy_head(document["architecture"], document["config"])
    if (
        head.observation_shape != saved_shape
        or head.num_actions != document["num_actions"]
    ):
        raise ValueError(
            f"policy config {str(files.config)!r} is inconsistent: the "
            f"{document['architecture']!r} head has observation_shape="
            f"{head.observation_shape} and num_actions={head.num_actions}, the file says "
            f"{saved_shape} and {document['num_actions']}"
        )
    try:
        head.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise ValueError(
            f"policy weights {str(files.weights)!r} do not fit the "
            f"{document['architecture']!r} head of the config: {exc}"
        ) from exc
    return head.to(resolve_device(device)).eval()
