"""Save and load policies and whole profiles: safetensors plus JSON, no pickle.

A saved policy is two files side by side, ``<stem>.safetensors`` (its tensors,
written with :func:`safetensors.torch.save_file`) and ``<stem>.json``::

    {
      "format": "mail-gym-policy",
      "format_version": 1,
      "kind": "head",                     # "head", "table" or "uniform"
      "architecture": "cnn",              # head: a key of agents.policies.ARCHITECTURES
      "config": {...},                    # head: head.config(), constructor keywords
      "observation_shape": [3, 3, 2],
      "num_actions": 9,
      "game_id": "mail/tictactoe-v0",     # or null
      "game_config": {...},               # or null: the full game configuration
      "package_version": "0.1.0",
      "weights_sha256": "...",            # detects a truncated or swapped weights file
      "metadata": {...}                   # free-form, JSON only
    }

Three kinds of policy are saved, the three a learned profile
(:attr:`agents.imitation.ImitationResult.policies`) holds:

* ``"head"``: a :class:`~agents.policies.PolicyHead` (its ``state_dict``), or a
  :class:`~agents.policies.TorchPolicy` around one (its ``mode`` and
  ``batch_size`` are recorded too); loaded back as a ``TorchPolicy``;
* ``"table"``: an ``(S, A_i)`` table of a tabular game (what the model-based
  methods return) or a :class:`~mail_wrappers.table_policy.TablePolicy`;
  tensor ``table`` holds the validated table (``game.policy_table``) and,
  when the game's observations are not its default one-hot vectors, tensor
  ``observations`` the observation of every state. Loading needs no game: a
  :class:`SavedTablePolicy` finds each observation's state as ``TablePolicy``
  does and returns the same rows;
* ``"uniform"``: :func:`~mail_wrappers.frozen_opponent.uniform_policy`, the
  policy of a player without labels (no tensors).

:func:`save_profile` writes one pair per agent plus ``profile.json``;
:func:`load_profile` and :func:`load_opponent` give back batched policies
(``(observations, masks) -> probs``) that the single-agent Gymnasium views and
:class:`~mail_wrappers.frozen_opponent.FrozenOpponentWrapper` take as
``opponent=``.

The game configuration (``game_config``, e.g. ``{"game": "gridworld",
"game_id": "mail/gridworld-v0", "options": {"size": 5}}``) is recorded, and a
loader given one refuses a file recorded for another: two variants of a game
may share observation shapes. Files written before ``game_config`` existed
read as ``game_config=None``.

Every file is written atomically (:func:`mail_envs.files.atomic_write`), so a
crash never leaves a half-written file under the final name; ``profile.json``
is written last. Loading rebuilds heads from their config with
:func:`~agents.policies.build_policy_head`, checks the weights' checksum and
finiteness and reads them with :func:`safetensors.torch.load_file`; nothing is
unpickled.

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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import safetensors.torch
import torch

import mail_envs
from agents.common import resolve_device
from agents.policies import PolicyHead, TorchPolicy, build_policy_head
from mail_envs.core import BatchedPolicy, TabularMarkovGame
from mail_envs.files import atomic_write
from mail_wrappers.frozen_opponent import uniform_policy
from mail_wrappers.table_policy import StateIndex, TablePolicy

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "PROFILE_FORMAT",
    "PolicyFiles",
    "SavedTablePolicy",
    "load_opponent",
    "load_policy",
    "load_profile",
    "save_policy",
    "save_profile",
]

#: Value of the config's ``"format"`` field.
FORMAT = "mail-gym-policy"
#: Version of the on-disk layout; bumped on incompatible changes.
FORMAT_VERSION = 1
#: Value of ``profile.json``'s ``"format"`` field.
PROFILE_FORMAT = "mail-gym-profile"
#: File of a profile folder that lists its agents.
PROFILE_FILE = "profile.json"

PolicyKind = Literal["head", "table", "uniform"]
_KINDS = ("head", "table", "uniform")
#: Fields every policy config has, then those of each kind.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "head": ("architecture", "config", "observation_shape", "num_actions"),
    "table": ("player", "num_states", "num_actions", "lookup"),
    "uniform": (),
}


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


def _normal_game_config(
    game_config: Mapping[str, Any] | None, name: str = "game_config"
) -> dict[str, Any] | None:
    """``game_config`` as plain JSON data (tuples become lists), or None.

    Raises:
        TypeError: If it is not a mapping or not JSON-serializable.
    """
    if game_config is None:
        return None
    if not isinstance(game_config, Mapping):
        raise TypeError(
            f"{name} must be a mapping, got {type(game_config).__name__} {game_config!r}"
        )
    try:
        normal = json.loads(json.dumps(dict(game_config), sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be JSON-serializable: {exc}") from exc
    assert isinstance(normal, dict)
    return normal


def _game_id(game_id: str | None, game_config: dict[str, Any] | None) -> str | None:
    """The game id to record: ``game_id``, else the config's ``"game_id"``."""
    configured = None if game_config is None else game_config.get("game_id")
    if game_id is not None and configured is not None and game_id != configured:
        raise ValueError(
            f"game_id={game_id!r} differs from game_config['game_id']={configured!r}"
        )
    return game_id if game_id is not None else configured


def _write_pair(
    files: PolicyFiles, tensors: dict[str, torch.Tensor], document: dict[str, Any]
) -> PolicyFiles:
    """Write the tensors, then the JSON config with their checksum (both atomic)."""
    try:
        json.dumps(document)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"config and metadata must be JSON-serializable: {exc}"
        ) from exc
    files.weights.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(
        files.weights, lambda tmp: safetensors.torch.save_file(tensors, str(tmp))
    )
    document = {**document, "weights_sha256": _sha256(files.weights)}

    def write_json(tmp: Path) -> None:
        tmp.write_text(
            json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )

    atomic_write(files.config, write_json)
    return files


def _document(
    kind: PolicyKind,
    game_id: str | None,
    game_config: dict[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        **fields,
        "game_id": game_id,
        "game_config": game_config,
        "package_version": _package_version(),
        "weights_sha256": "",
        "metadata": dict(metadata or {}),
    }


def _save_head(
    head: PolicyHead,
    files: PolicyFiles,
    *,
    game_id: str | None,
    game_config: dict[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    policy: Mapping[str, Any] | None = None,
) -> PolicyFiles:
    config = head.config()
    tensors = {
        k: v.detach().to("cpu").contiguous().clone()
        for k, v in head.state_dict().items()
    }
    _check_finite_tensors(tensors, "refusing to save the policy")
    extra = {} if policy is None else {"policy": dict(policy)}
    document = _document(
        "head",
        game_id,
        game_config,
        metadata,
        architecture=head.architecture,
        config=config,
        observation_shape=list(head.observation_shape),
        num_actions=head.num_actions,
        **extra,
    )
    return _write_pair(files, tensors, document)


def save_policy(
    head: PolicyHead,
    path: str | os.PathLike[str],
    *,
    game_id: str | None = None,
    game_config: Mapping[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> PolicyFiles:
    """Save a head as ``<path>.safetensors`` + ``<path>.json`` (atomically).

    Args:
        head: The policy head.
        path: File stem; a ``.safetensors``/``.json`` suffix is dropped. The
            parent directory is created if needed.
        game_id: Registered game id the head plays (``"mail/tictactoe-v0"``);
            :func:`load_policy` can insist on it. Default: ``game_config``'s
            ``"game_id"``.
        game_config: The full game configuration, JSON data (``{"game":
            "gridworld", "game_id": "mail/gridworld-v0", "options": {"size":
            5}}``); :func:`load_policy` can insist on it.
        metadata: Extra JSON-serializable information (training metrics...).

    Returns:
        The :class:`PolicyFiles` written.

    Raises:
        TypeError: If ``head`` is not a PolicyHead, cannot be serialized (a
            ``feature_fn`` head), or ``metadata``/``game_config`` is not
            JSON-serializable.
        ValueError: If a parameter or buffer of ``head`` has a NaN or inf
            entry (the message names the tensor), or ``game_id`` differs from
            ``game_config["game_id"]``; nothing is written.
    """
    if not isinstance(head, PolicyHead):
        raise TypeError(f"head must be a PolicyHead, got {type(head).__name__}")
    config = _normal_game_config(game_config)
    return _save_head(
        head,
        _paths(path),
        game_id=_game_id(game_id, config),
        game_config=config,
        metadata=metadata,
    )


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
    kind = document.setdefault("kind", "head")  # files older than kinds: heads
    if kind not in _KINDS:
        raise ValueError(
            f"policy config {str(path)!r} has kind {kind!r}; known: {list(_KINDS)}"
        )
    document.setdefault("game_config", None)  # files older than game_config
    required = ("game_id", "weights_sha256", *_REQUIRED[kind])
    missing = [key for key in required if key not in document]
    if missing:
        raise ValueError(f"policy config {str(path)!r} lacks the fields {missing}")
    return document


def _check_expected(
    config_path: Path,
    document: dict[str, Any],
    game_id: str | None,
    game_config: Mapping[str, Any] | None,
) -> None:
    """Refuse a file saved for another game id or game configuration."""
    if game_id is not None and game_id != document["game_id"]:
        raise ValueError(
            f"saved policy {str(config_path)!r} has game_id={document['game_id']!r}, "
            f"expected {game_id!r}"
        )
    expected = _normal_game_config(game_config)
    if expected is not None and expected != document["game_config"]:
        raise ValueError(
            f"saved policy {str(config_path)!r} was saved for game_config="
            f"{document['game_config']!r}, expected game_config={expected!r}"
        )


def _load_tensors(
    files: PolicyFiles, document: dict[str, Any]
) -> dict[str, torch.Tensor]:
    """The weights file's tensors, after checking existence, checksum, finiteness."""
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
    return tensors


def _build_head(
    files: PolicyFiles, document: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> PolicyHead:
    saved_shape = tuple(document["observation_shape"])
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
    return head


def load_policy(
    path: str | os.PathLike[str],
    *,
    game_id: str | None = None,
    game_config: Mapping[str, Any] | None = None,
    observation_shape: Sequence[int] | None = None,
    num_actions: int | None = None,
    device: str | torch.device = "auto",
) -> PolicyHead:
    """Load a head saved by :func:`save_policy`, checking it fits the caller.

    Args:
        path: The stem passed to :func:`save_policy` (or either file's path).
        game_id: If given, the saved ``game_id`` must equal it.
        game_config: If given, the saved ``game_config`` must equal it (as
            JSON data; a file that recorded none is refused).
        observation_shape: If given, the saved observation shape must equal it.
        num_actions: If given, the saved action count must equal it.
        device: Where to put the head (``"auto"``: CUDA when available).

    Returns:
        The head with the saved weights, in eval mode.

    Raises:
        FileNotFoundError: If either file is missing.
        ValueError: If the config is not valid JSON or lacks fields, is not a
            head (a table or uniform policy: use :func:`load_opponent`), the
            weights file is corrupt or does not match the config's checksum or
            architecture, a saved tensor has a NaN or inf entry (the message
            names the tensor), or the saved game id / game configuration /
            observation shape / action count differs from the expected one;
            the message names both values.
    """
    files = _paths(path)
    document = _read_config(files.config)
    if document["kind"] != "head":
        raise ValueError(
            f"saved policy {str(files.config)!r} is a {document['kind']!r} policy, "
            "not a head; load it with agents.io.load_opponent"
        )
    _check_expected(files.config, document, game_id, game_config)
    saved_shape = tuple(document["observation_shape"])
    expectations = (
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
    tensors = _load_tensors(files, document)
    head = _build_head(files, document, tensors)
    return head.to(resolve_device(device)).eval()


class SavedTablePolicy:
    """A saved ``(S, A_i)`` table as a batched policy on env observations.

    It finds each observation's state as
    :class:`~mail_wrappers.table_policy.TablePolicy` does (``argmax`` of the
    game's default one-hot observations, else an exact lookup among every
    state's observation, the first state on a tie) and returns that state's
    row: the same probabilities, without the game.

    Args:
        table: ``(S, A)`` validated table (``game.policy_table``).
        observations: ``(S, D)`` flattened observation of every state, or None
            for one-hot observations.

    Raises:
        ValueError: If the shapes disagree.

    Example:
        >>> policy = SavedTablePolicy(np.array([[1.0, 0.0], [0.5, 0.5]]))
        >>> policy(np.eye(2, dtype=np.float32)[[1]], np.ones((1, 2), bool)).tolist()
        [[0.5, 0.5]]
    """

    def __init__(
        self, table: np.ndarray, observations: np.ndarray | None = None
    ) -> None:
        table = np.array(table, dtype=np.float64)
        if table.ndim != 2:
            raise ValueError(f"table must be (S, A), got shape {table.shape}")
        table.setflags(write=False)
        self.table = table
        if observations is not None:
            observations = np.asarray(observations, dtype=np.float64)
            if observations.ndim != 2:
                raise ValueError(
                    f"observations must be (S={table.shape[0]}, D), got shape "
                    f"{observations.shape}"
                )
        self.index = StateIndex(table.shape[0], observations)

    @property
    def num_states(self) -> int:
        """Number of states ``S``."""
        return int(self.table.shape[0])

    def states(self, observations: np.ndarray) -> np.ndarray:
        """State index of each observation in a batch (see
        :class:`~mail_wrappers.table_policy.StateIndex`)."""
        return self.index.states(observations)

    def __call__(
        self, observations: np.ndarray, action_masks: np.ndarray
    ) -> np.ndarray:
        """Table rows of the observed states, ``(B, A)``."""
        return self.table[self.states(observations)]

    def __repr__(self) -> str:
        return f"SavedTablePolicy(num_states={self.num_states}, num_actions={self.table.shape[1]})"


def _game_from_config(
    game_config: dict[str, Any],
) -> tuple[TabularMarkovGame, dict[str, Any]]:
    """The tabular game of a configuration and the env keywords that built it.

    The registered env ``game_config["game_id"]`` is built with the keywords
    ``game_config["env_kwargs"]``, else ``game_config["options"]``; an option
    the env refuses as an unexpected keyword (a pipeline option such as
    ``policy_class``) is left out, since the env that played cannot have taken
    it either.
    """
    import pettingzoo

    game_id = game_config.get("game_id")
    kwargs = game_config.get("env_kwargs", game_config.get("options", {})) or {}
    hint = (
        "pass the game itself (save_profile(..., game=problem.model)) or the env's "
        "keywords as game_config['env_kwargs']"
    )
    if not isinstance(game_id, str) or not isinstance(kwargs, dict):
        raise ValueError(
            f"a table policy needs its tabular game; game_config={game_config!r} does "
            f"not name one (game_id and env keywords); {hint}"
        )
    kwargs = dict(kwargs)
    while True:
        try:
            env = pettingzoo.make("aec", game_id, **kwargs)
            break
        except TypeError as exc:
            match = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
            if match is None or match.group(1) not in kwargs:
                raise ValueError(
                    f"cannot build the game {game_id!r} with keywords {kwargs!r} "
                    f"to save a table policy ({exc}); {hint}"
                ) from exc
            del kwargs[match.group(1)]
        except Exception as exc:
            raise ValueError(
                f"cannot build the game {game_id!r} with keywords {kwargs!r} "
                f"to save a table policy ({exc}); {hint}"
            ) from exc
    game = getattr(env.unwrapped, "game", None)
    if not isinstance(game, TabularMarkovGame):
        raise ValueError(
            f"the env {game_id!r} has no tabular model (env.unwrapped.game); {hint}"
        )
    return game, kwargs


def _save_table(
    policy: TablePolicy | np.ndarray,
    player: int,
    files: PolicyFiles,
    *,
    game: TabularMarkovGame | None,
    game_id: str | None,
    game_config: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> PolicyFiles:
    if isinstance(policy, TablePolicy):
        if policy.layers.shape[0] != 1 or policy.step_source is not None:
            raise ValueError(
                f"cannot save the non-stationary table policy of player {player} "
                f"(layers {policy.layers.shape}): only (S, A) tables are saved"
            )
        if policy.player != player:
            raise ValueError(
                f"the table policy at seat {player} is player {policy.player}'s"
            )
        game, raw, validated = policy.game, policy.table, True
        env_kwargs = None
    else:
        validated, env_kwargs = False, None
        raw = np.asarray(policy, dtype=np.float64)
        if raw.ndim != 2:
            raise ValueError(
                f"the table of player {player} must be (S, A), got shape {raw.shape}"
            )
        if game is None:
            game, env_kwargs = _game_from_config(game_config)
    if not 0 <= player < game.num_players:
        raise ValueError(
            f"seat {player} is not a player of the game ({game.num_players} players)"
        )
    shape = (game.num_states, game.num_actions[player])
    if raw.shape != shape:
        raise ValueError(
            f"the table of player {player} has shape {raw.shape}, the game's "
            f"(num_states, num_actions) is {shape}: it belongs to another game"
        )
    # What TablePolicy(game, player, raw) plays: the validated table (validating
    # renormalizes, so a TablePolicy's own table is not validated twice).
    table = np.ascontiguousarray(
        raw if validated else game.policy_table(player, raw), dtype=np.float64
    )
    tensors = {"table": torch.from_numpy(table.copy())}
    lookup = "one_hot"
    observation_shape: list[int] = [game.num_states]
    if game.observations is not None:
        obs = np.asarray(game.all_observations(player), dtype=np.float64)
        observation_shape = list(obs.shape[1:])
        tensors["observations"] = torch.from_numpy(
            np.ascontiguousarray(obs.reshape(obs.shape[0], -1))
        )
        lookup = "observation"
        # The same refusal as TablePolicy: the policy must be a function of the observation.
        TablePolicy(game, player, table)
    _check_finite_tensors(tensors, "refusing to save the policy")
    document = _document(
        "table",
        game_id,
        game_config,
        metadata,
        player=int(player),
        num_states=int(game.num_states),
        num_actions=int(shape[1]),
        observation_shape=observation_shape,
        lookup=lookup,
        env_kwargs=env_kwargs,
    )
    return _write_pair(files, tensors, document)


def _save_any(
    policy: Any,
    player: int,
    files: PolicyFiles,
    *,
    game: TabularMarkovGame | None,
    game_id: str | None,
    game_config: dict[str, Any],
    metadata: Mapping[str, Any] | None,
) -> tuple[PolicyKind, PolicyFiles]:
    """Save one policy of a profile under its kind."""
    if isinstance(policy, TorchPolicy):
        return "head", _save_head(
            policy.head,
            files,
            game_id=game_id,
            game_config=game_config,
            metadata=metadata,
            policy={"mode": policy.mode, "batch_size": policy.batch_size},
        )
    if isinstance(policy, PolicyHead):
        return "head", _save_head(
            policy, files, game_id=game_id, game_config=game_config, metadata=metadata
        )
    if isinstance(policy, (TablePolicy, np.ndarray)):
        return "table", _save_table(
            policy,
            player,
            files,
            game=game,
            game_id=game_id,
            game_config=game_config,
            metadata=metadata,
        )
    if policy is uniform_policy:
        document = _document("uniform", game_id, game_config, metadata)
        return "uniform", _write_pair(files, {}, document)
    raise TypeError(
        f"cannot save the policy of seat {player}: unknown policy type "
        f"{type(policy).__module__}.{type(policy).__qualname__} (saved are TorchPolicy, "
        "PolicyHead, TablePolicy, (S, A) numpy tables and uniform_policy)"
    )


def _check_agent_name(agent: Any) -> str:
    if (
        not isinstance(agent, str)
        or not agent
        or agent.startswith(".")
        or any(c in agent for c in "/\\")
        or agent == Path(PROFILE_FILE).stem
    ):
        raise ValueError(
            f"agent names must be plain file names (no '/', '\\\\', leading '.', "
            f"nor {Path(PROFILE_FILE).stem!r}), got {agent!r}"
        )
    return agent


def save_profile(
    policies: Sequence[BatchedPolicy],
    folder: str | os.PathLike[str],
    *,
    agents: Sequence[str],
    game_config: Mapping[str, Any],
    game: TabularMarkovGame | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Save a learned profile: one file pair per agent, then ``profile.json``.

    ``<folder>/<agent>.safetensors`` + ``<folder>/<agent>.json`` per agent (see
    the module docstring for the kinds), and ``<folder>/profile.json`` listing
    the agents, their kinds and files, ``game_config`` and ``metadata``.

    Args:
        policies: One policy per agent: :class:`~agents.policies.TorchPolicy`
            (or a bare head), ``(S, A_i)`` table or
            :class:`~mail_wrappers.table_policy.TablePolicy`, or
            :func:`~mail_wrappers.frozen_opponent.uniform_policy`.
        folder: The profile's folder (created if needed).
        agents: The agents' names, in seat order (the file stems).
        game_config: The full game configuration (JSON data); its
            ``"game_id"``, if any, is recorded as each file's ``game_id``.
        game: The tabular game of bare ``(S, A_i)`` tables (e.g.
            ``problem.model``). Without it such a table's game is built from
            ``game_config["game_id"]`` with the keywords
            ``game_config["env_kwargs"]`` (else ``game_config["options"]``,
            less those the env refuses as unexpected keywords); the table's
            JSON records the keywords used as ``env_kwargs``. The game is
            needed to validate the table and, for games whose observations are
            not one-hot, to record every state's observation; loading never
            needs it.
        metadata: Extra JSON-serializable information (method, budget...).

    Returns:
        The files written, ``profile.json`` last.

    Raises:
        TypeError: If a policy's type cannot be saved (the message names the
            type) or ``game_config``/``metadata`` is not JSON data.
        ValueError: If ``agents`` and ``policies`` differ in length, an agent
            name is not a plain file name or repeats, a table does not fit its
            game, or a head has a non-finite weight.

    Example:
        >>> import tempfile, pathlib
        >>> from mail_wrappers.frozen_opponent import uniform_policy
        >>> folder = pathlib.Path(tempfile.mkdtemp()) / "profile"
        >>> files = save_profile([uniform_policy, uniform_policy], folder,
        ...                      agents=["player_0", "player_1"],
        ...                      game_config={"game_id": "mail/gridworld-v0"})
        >>> [f.name for f in files][-1]
        'profile.json'
        >>> load_profile(folder)[1] is uniform_policy
        True
    """
    config = _normal_game_config(game_config)
    if config is None:
        raise TypeError("game_config must be a mapping, got None")
    names = [_check_agent_name(a) for a in agents]
    if len(set(names)) != len(names):
        raise ValueError(f"agents must be distinct, got {names!r}")
    if len(names) != len(policies):
        raise ValueError(
            f"need one policy per agent {names!r}, got {len(policies)} policies"
        )
    game_id = _game_id(None, config)
    root = Path(folder)
    written: list[Path] = []
    entries = []
    for seat, (name, policy) in enumerate(zip(names, policies, strict=True)):
        kind, files = _save_any(
            policy,
            seat,
            _paths(root / name),
            game=game,
            game_id=game_id,
            game_config=config,
            metadata={**(metadata or {}), "agent": name, "seat": seat},
        )
        written += [files.weights, files.config]
        entries.append(
            {
                "agent": name,
                "kind": kind,
                "files": [files.weights.name, files.config.name],
            }
        )
    document = {
        "format": PROFILE_FORMAT,
        "format_version": FORMAT_VERSION,
        "agents": names,
        "game_config": config,
        "policies": entries,
        "package_version": _package_version(),
        "metadata": dict(metadata or {}),
    }
    try:
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serializable: {exc}") from exc
    profile = root / PROFILE_FILE
    atomic_write(profile, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    written.append(profile)
    return written


def load_opponent(
    stem_or_file: str | os.PathLike[str],
    *,
    game_id: str | None = None,
    game_config: Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
) -> BatchedPolicy:
    """Load one saved policy of any kind as a batched policy (an opponent).

    The result plays as ``opponent=`` of
    :class:`~mail_wrappers.frozen_opponent.FrozenOpponentWrapper` and of the
    single-agent Gymnasium views (``gymnasium.make(...,
    opponent=load_opponent(stem))``).

    Args:
        stem_or_file: A file stem (``<folder>/player_0``) or either file's path.
        game_id: If given, the saved ``game_id`` must equal it.
        game_config: If given, the saved ``game_config`` must equal it.
        device: Torch device of a head.

    Returns:
        A :class:`~agents.policies.TorchPolicy` (heads; the saved ``mode``,
        stochastic for a bare head), a :class:`SavedTablePolicy` (tables) or
        :func:`~mail_wrappers.frozen_opponent.uniform_policy`.

    Raises:
        FileNotFoundError: If a file is missing.
        ValueError: If a file is corrupt, fails its checksum, or was saved
            for another game id or configuration (the message names both).
    """
    files = _paths(stem_or_file)
    document = _read_config(files.config)
    _check_expected(files.config, document, game_id, game_config)
    tensors = _load_tensors(files, document)
    kind = document["kind"]
    if kind == "uniform":
        return uniform_policy
    if kind == "table":
        if "table" not in tensors:
            raise ValueError(
                f"policy weights {str(files.weights)!r} lack the tensor 'table'"
            )
        table = tensors["table"].numpy()
        if table.shape != (document["num_states"], document["num_actions"]):
            raise ValueError(
                f"policy weights {str(files.weights)!r} hold a table of shape "
                f"{tuple(table.shape)}, the config says "
                f"({document['num_states']}, {document['num_actions']})"
            )
        observations = None
        if document["lookup"] == "observation":
            if "observations" not in tensors:
                raise ValueError(
                    f"policy weights {str(files.weights)!r} lack the tensor 'observations'"
                )
            observations = tensors["observations"].numpy()
        return SavedTablePolicy(table, observations)
    head = _build_head(files, document, tensors)
    policy = document.get("policy") or {}
    return TorchPolicy(
        head,
        mode=policy.get("mode", "stochastic"),
        device=device,
        batch_size=policy.get("batch_size", 8192),
    )


def _read_profile(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"profile file {str(path)!r} does not exist (not a saved profile, or "
            "its saving did not finish)"
        ) from exc
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"profile file {str(path)!r} is not valid JSON: {exc}"
        ) from exc
    if not isinstance(document, dict) or document.get("format") != PROFILE_FORMAT:
        raise ValueError(f"profile file {str(path)!r} is not a {PROFILE_FORMAT!r} file")
    if document.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"profile file {str(path)!r} has format_version "
            f"{document.get('format_version')!r}; this version reads {FORMAT_VERSION}"
        )
    missing = [k for k in ("agents", "game_config") if k not in document]
    if missing:
        raise ValueError(f"profile file {str(path)!r} lacks the fields {missing}")
    return document


def load_profile(
    folder: str | os.PathLike[str],
    *,
    game_config: Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
) -> tuple[BatchedPolicy, ...]:
    """Load a profile saved by :func:`save_profile`: one batched policy per agent.

    Args:
        folder: The profile's folder (with ``profile.json``).
        game_config: If given, the recorded ``game_config`` must equal it.
        device: Torch device of the heads.

    Returns:
        The policies in the saved agents' order (see :func:`load_opponent`).

    Raises:
        FileNotFoundError: If ``profile.json`` or a policy file is missing.
        ValueError: If a file is corrupt or fails its checksum, or the profile
            (or one of its files) was saved for another game configuration
            (the message names both).
    """
    root = Path(folder)
    document = _read_profile(root / PROFILE_FILE)
    recorded = document["game_config"]
    expected = _normal_game_config(game_config)
    if expected is not None and expected != recorded:
        raise ValueError(
            f"profile {str(root)!r} was saved for game_config={recorded!r}, "
            f"expected game_config={expected!r}"
        )
    return tuple(
        load_opponent(
            root / _check_agent_name(agent), game_config=recorded, device=device
        )
        for agent in document["agents"]
    )
