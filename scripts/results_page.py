"""Write the results page, ``docs/results/README.md``, from the committed result files.

One section per figure or table of Viano, Freihaut et al., "Multi-agent
imitation learning with function approximation: linear Markov games and
beyond" (figures 1a, 1b, 1c, 2a, 2b and tables 1/2), one for our test of
LSVI-UCB-ZERO's optimism and one for Bergerault, Cevher, Mehr, "Matching
Multiple Experts". Each section gives

* the paper's claim (quoted or paraphrased from the paper's text: the only
  hand-typed prose on the page);
* the command that regenerates its files, rebuilt from the configuration
  recorded in the JSON;
* the faithful setup's result and our default setup's where both exist, with
  seeds and budgets read from the JSON (the tables of
  ``scripts/readme_tables.py`` are reused, not re-rendered);
* a verdict sentence computed from the numbers (or what differs).

Every number comes from a JSON file under ``docs/results/``; a section whose
files are missing says "not run yet". ``--check`` only compares and exits 1
when the committed page differs from what the files give (the test suite
runs it).

Usage:
    python scripts/results_page.py          # rewrite docs/results/README.md
    python scripts/results_page.py --check  # exit 1 if the page is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from readme_tables import (
    _ints,
    _seeds,
    _source,
    _table,
    gridworld_image_command,
    render,
    render_chain_lengths,
    render_dqn_variants,
    render_fig1c,
    render_gridworld,
    render_lsvi_optimism,
    result_files,
)

from agents.pipeline import PipelineResult
from mail_envs.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]

#: A NashConv below this counts as zero (exact solvers; linear BC leaves ~1e-7).
ZERO = 1e-3
#: The level at which figure 1b's convergence speeds are compared.
SMALL = 1e-2


@dataclass(frozen=True)
class Args:
    """The whole configuration."""

    results: Path = ROOT / "docs" / "results"
    check: bool = False


@dataclass(frozen=True)
class Section:
    """One section of the page.

    Attributes:
        title: The section's heading (the paper's figure or table).
        claim: The paper's claim, quoted or paraphrased from its text.
        body: Commands and result tables, rendered from the JSON files.
        verdict: One sentence computed from the numbers.
    """

    title: str
    claim: str
    body: str
    verdict: str


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _f(x: float) -> str:
    return f"{x:.4f}"


def _first_below(curve: dict[int, float], level: float) -> int | None:
    """The smallest budget from which the NashConv stays below ``level``."""
    budgets = sorted(curve)
    for i, k in enumerate(budgets):
        if all(curve[b] < level for b in budgets[i:]):
            return k
    return None


def _first_zero(curve: dict[int, float]) -> int | None:
    """The smallest budget from which the NashConv stays below ``ZERO``."""
    return _first_below(curve, ZERO)


def _falls(curve: dict[int, float]) -> bool:
    """Whether the NashConv ends a hundredfold below its largest value."""
    return curve[max(curve)] <= max(curve.values()) / 100


def _reach(name: str, curve: dict[int, float]) -> str:
    k = _first_zero(curve)
    last = max(curve)
    if k is not None:
        return f"{name} reaches 0 (< {ZERO:g}) from K={k}"
    trend = f", down from {_f(max(curve.values()))}" if _falls(curve) else ""
    return f"{name} does not reach 0 (NashConv {_f(curve[last])} at K={last}{trend})"


def _level(exact: bool, trend: bool) -> str:
    """The verdict's first words."""
    if exact:
        return "agrees"
    return "agrees in trend" if trend else "differs"


# ---------------------------------------------------------------- figure 1a/1b


def _gridworld_curves(data: dict[str, Any]) -> dict[tuple[str, str], dict[int, float]]:
    """(features, method) -> {K: NashConv mean over seeds}."""
    curves: dict[tuple[str, str], dict[int, float]] = {}
    for r in data["results"]:
        curves.setdefault((r["features"], r["method"]), {})[r["episodes"]] = r[
            "nash_conv_mean"
        ]
    return curves


def _verdict(levels: dict[str, tuple[bool, bool]], parts: list[str]) -> str:
    """The faithful (published) start's level, then what every start gave."""
    agree, trend = levels.get("published", (True, True))
    if "published" not in levels:
        agree = all(a for a, _ in levels.values())
        trend = all(t for _, t in levels.values())
    return _level(agree, trend) + " (published start): " + ". ".join(parts) + "."


def _gridworld_setups(paths: list[Path]) -> str:
    starts = [_load(p)["config"]["start"] for p in paths]
    ours = [s for s in starts if s != "published"]
    return (
        "Faithful setup: the `published` start (the published code's 3x3 start)"
        + (f"; our variant: the `{'`, `'.join(ours)}` start." if ours else ".")
        + "\n\n"
    )


def fig1a(results: Path) -> tuple[str, str]:
    """Figure 1a: offline BC fails with tabular/relational features, not deep-linear."""
    paths = result_files(results, "gridworld/gridworld3_fig1a_*.json")
    parts, levels = [], {}
    for path in sorted(paths, key=lambda p: "_published_" not in p.name):
        data = _load(path)
        agree, trend = True, True
        curves = _gridworld_curves(data)
        said = []
        for (features, method), curve in curves.items():
            if method != "bc":
                continue
            if features == "deep-linear":
                said.append(_reach("deep-linear BC", curve))
                agree &= _first_zero(curve) is not None
                trend &= _falls(curve)
            else:
                low = min(curve.values())
                if low > ZERO:
                    said.append(
                        f"{features} BC exploitable at every budget "
                        f"(NashConv >= {_f(low)})"
                    )
                else:
                    said.append(_reach(f"{features} BC", curve))
                    agree = trend = False
        start = data["config"]["start"]
        levels[start] = (agree, trend)
        parts.append(f"{start} start: " + "; ".join(said))
    verdict = _verdict(levels, parts)
    body = _gridworld_setups(paths) + render_gridworld(paths, results)
    return body, verdict


def fig1b(results: Path) -> tuple[str, str]:
    """Figure 1b: LSVI-UCB-ZERO-BC reaches zero, faster with relational features."""
    paths = result_files(results, "gridworld/gridworld3_fig1b_*.json")
    parts, levels = [], {}
    for path in sorted(paths, key=lambda p: "_published_" not in p.name):
        data = _load(path)
        agree, trend = True, True
        curves = _gridworld_curves(data)
        small: dict[str, int | None] = {}
        said = []
        for (features, method), curve in curves.items():
            if method != "lsvi-ucb-zero":
                continue
            said.append(_reach(f"LSVI ({features})", curve))
            agree &= _first_zero(curve) is not None
            trend &= _falls(curve)
            small[features] = _first_below(curve, SMALL)
            uniform = curves.get((features, "uniform"))
            if uniform is not None:
                said[-1] += f", uniform {_f(uniform[max(uniform)])} at K={max(uniform)}"
        tab, rel = small.get("tabular"), small.get("relational")
        if tab is not None and rel is not None:
            faster = rel <= tab
            agree &= faster
            trend &= faster
            said.append(
                f"below {SMALL:g} from K={rel} with relational features, "
                f"K={tab} with tabular"
            )
        start = data["config"]["start"]
        levels[start] = (agree, trend)
        parts.append(f"{start} start: " + "; ".join(said))
    verdict = _verdict(levels, parts)
    body = _gridworld_setups(paths) + render_gridworld(paths, results)
    return body, verdict


# ---------------------------------------------------------------- figure 1c


def fig1c(results: Path) -> tuple[str, str]:
    """Figure 1c: the paper's loss-rate reading and our NashConv, per method and budget."""
    path = results / "fig1c" / "results.json"
    if not path.exists():
        raise FileNotFoundError(path)
    data = _load(path)
    config, readings = data["config"], data["readings"]
    budgets = [str(b) for b in config["budgets"]]
    loss, nash = readings["loss:first"], readings["nash_conv"]
    body = render_fig1c([path], results)
    last = budgets[-1]
    bc_low = min(nash["bc"][b]["min"] for b in budgets)
    said = [
        "BC exploitable at every budget (NashConv >= " + _f(bc_low) + ")"
        if bc_low > ZERO
        else "BC reaches NashConv " + _f(bc_low)
    ]
    dqn_ok = []
    for method in (m for m in config["methods"] if m.startswith("dqn-explore")):
        curve = {int(b): nash[method][b]["mean"] for b in budgets}
        said.append(
            _reach(method, curve)
            + f", loss rate {loss[method][last]['mean']:.3f} vs BC's "
            f"{loss['bc'][last]['mean']:.3f} at K={last}"
        )
        dqn_ok.append(_first_zero(curve) is not None)
    paper_ok = any(
        loss[m][last]["mean"] < loss["bc"][last]["mean"]
        for m in config["methods"]
        if m.startswith("dqn-explore")
    )
    agree = bc_low > ZERO and any(dqn_ok)
    verdict = (
        (
            "agrees"
            if agree
            else (
                "agrees on the paper's reading, differs on NashConv"
                if paper_ok
                else "differs"
            )
        )
        + ": "
        + "; ".join(said)
        + f" (largest budget run: {last} games)."
    )
    ours = _variant_paths(results, "tictactoe")
    if ours:
        variant = PipelineResult.from_json(ours[0])
        body += (
            "\nOur default setup: both players learned from our randomizing "
            "minimax expert, BC with the 8 board symmetries, the exact NashConv; "
            "our explorer (`dqn-explore`) beside the published one "
            f"(`dqn-explore-paper`).\n\n`{_variants_command(results)}`\n\n"
            + render_dqn_variants(ours, results)
        )
        verdict += (
            " Our default setup: "
            + _explorers(_curves(variant))
            + f" (largest budget run: {max(variant.config['budgets'])} games)."
        )
    return body, verdict


# ---------------------------------------------------------------- figures 2a/2b


def _pipeline(path: Path, results: Path) -> tuple[PipelineResult, str]:
    """A pipeline result and its tables as ``readme_tables.render`` prints them."""
    if not path.exists():
        raise FileNotFoundError(path)
    result = PipelineResult.from_json(path)
    return result, render(result, _source(path, results))


def _curves(result: PipelineResult) -> dict[str, dict[int, float]]:
    """method -> {budget: NashConv mean over seeds} (runs without one skipped)."""
    out: dict[str, dict[int, list[float]]] = {}
    for r in result.records:
        if r.nash_conv is None:
            continue
        out.setdefault(r.method, {}).setdefault(r.budget, []).append(r.nash_conv)
    return {m: {k: sum(v) / len(v) for k, v in c.items()} for m, c in out.items()}


def _variant_paths(results: Path, game: str) -> list[Path]:
    """``dqn_variants/<game>.json``, or ``<game><N>.json`` by ``N`` (the chain's lengths)."""
    folder = results / "dqn_variants"
    single = folder / f"{game}.json"
    numbered = [
        p for p in folder.glob(f"{game}*.json") if p.stem[len(game) :].isdigit()
    ]
    found = ([single] if single.exists() else []) + sorted(
        numbered, key=lambda p: int(p.stem[len(game) :])
    )
    return found


def _variants_command(results: Path) -> str:
    """The ``scripts/dqn_explore_variants.py`` line that wrote its files."""
    folder = results / "dqn_variants"
    parts = ["python scripts/dqn_explore_variants.py"]
    games = []
    for game in ("chain", "gridworld", "tictactoe"):
        paths = _variant_paths(results, game)
        if not paths:
            continue
        games.append(game)
        config = _load(paths[0])["config"]
        opts = config["game_options"]
        if game == "chain":
            lengths = [_load(p)["config"]["game_options"]["length"] for p in paths]
            parts.append(f"--chain-lengths {_ints(lengths)}")
        if game == "gridworld":
            parts.append(f"--gridworld-size {opts['size']}")
        parts.append(f"--{game}-budgets {_ints(config['budgets'])}")
        flag = "--tictactoe-seeds" if game == "tictactoe" else "--seeds"
        if flag not in " ".join(parts):
            parts.append(f"{flag} {_ints(config['seeds'])}")
    parts.insert(1, f"--games {' '.join(games)}")
    parts.append(f"--out {_source(folder, results)}")
    return " ".join(parts)


def _explorers(curves: dict[str, dict[int, float]]) -> str:
    return "; ".join(
        _reach(m, curves[m])
        for m in ("uniform", "dqn-explore", "dqn-explore-paper", "bc")
        if m in curves
    )


def fig2a(results: Path) -> tuple[str, str]:
    """Figure 2a: both explorers reach zero on the Gridworld."""
    path = results / "gridworld_5x5" / "results.json"
    result, table = _pipeline(path, results)
    sa = _load(path)["script_args"]
    command = gridworld_image_command(path)
    curves = _curves(result)
    agree = all(
        _first_zero(curves[m]) is not None
        for m in ("uniform", "dqn-explore")
        if m in curves
    )
    said = [f"faithful ({sa['size']}x{sa['size']} image): {_explorers(curves)}"]
    body = (
        f"Faithful setup: the {sa['size']}x{sa['size']} image Gridworld, "
        f"published start, H = {sa['episode_length']}, CNN BC.\n\n"
        f"`{command}`\n\n{table}"
    )
    ours = results / "dqn_variants" / "gridworld.json"
    if ours.exists():
        variant, vtable = _pipeline(ours, results)
        size = variant.config["game_options"].get("size")
        vcurves = _curves(variant)
        said.append(f"our {size}x{size} variant: {_explorers(vcurves)}")
        agree &= all(
            _first_zero(vcurves[m]) is not None
            for m in ("uniform", "dqn-explore")
            if m in vcurves
        )
        body += (
            f"\nOur default setup: the {size}x{size} Gridworld with a neural "
            "policy class, our explorer (`dqn-explore`) beside the published "
            f"one (`dqn-explore-paper`).\n\n`{_variants_command(results)}`\n\n{vtable}"
        )
    else:
        body += "\nOur default setup (`docs/results/dqn_variants/gridworld.json`): not run yet.\n"
    verdict = ("agrees" if agree else "differs") + ": " + ". ".join(said) + "."
    return body, verdict


def fig2b(results: Path) -> tuple[str, str]:
    """Figure 2b: DQN-Explore reaches the chain's gate, uniform play does not."""
    paths = result_files(results, "chain_lengths/*.json")
    said, agree = [], True
    for path in paths:
        data = _load(path)
        n = len(data["args"]["seeds"])
        for panel, by_method in data["summary"].items():
            cells = {m: c[-1] for m, c in by_method.items()}
            k = cells["dqn-explore"]["budget"]
            dqn, uni = cells["dqn-explore"], cells["uniform"]
            ok = dqn["nash_conv_mean"] < ZERO and uni["nash_conv_mean"] > ZERO
            agree &= ok
            said.append(
                f"{panel} at K={k}: dqn-explore {_f(dqn['nash_conv_mean'])} "
                f"(gate {dqn['gate_reached_seeds']}/{n}), uniform "
                f"{_f(uni['nash_conv_mean'])} (gate {uni['gate_reached_seeds']}/{n})"
                + ("" if ok else " [not the claimed separation]")
            )
    body = (
        "Faithful setup: chain lengths as in the paper, our explorer and "
        "uniform play.\n\n" + render_chain_lengths(paths, results)
    )
    ours = _variant_paths(results, "chain")
    if ours:
        for path in ours:
            variant = PipelineResult.from_json(path)
            said.append(
                f"three explorers on the chain of "
                f"{variant.config['game_options']['length']}: "
                + _explorers(_curves(variant))
            )
        body += (
            "\nOur explorer against the published one (`dqn-explore-paper`) "
            f"and uniform play.\n\n`{_variants_command(results)}`\n\n"
            + render_dqn_variants(ours, results)
        )
    verdict = ("agrees" if agree else "differs in part") + ": " + "; ".join(said) + "."
    return body, verdict


# ---------------------------------------------------------------- optimism


def optimism(results: Path) -> tuple[str, str]:
    """LSVI-UCB-ZERO over beta: where the optimistic values sit at the cap H."""
    paths = result_files(results, "lsvi_optimism/*.json")
    said, capped = [], True
    for path in paths:
        data = _load(path)
        beta = max(data["config"]["betas"])
        for game, by_method in data["summary"].items():
            lsvi, uni = by_method[f"lsvi-beta={beta:g}"], by_method["uniform"]
            same = sum(
                abs(a["nash_conv_mean"] - b["nash_conv_mean"]) < 1e-9
                for a, b in zip(lsvi, uni, strict=True)
            )
            clipped = lsvi[0]["clipped_fraction_mean"]
            capped &= clipped > 0.5
            said.append(
                f"{game}: at beta={beta:g}, {clipped:.0%} of decisions clipped at "
                f"H (K={lsvi[0]['budget']}); NashConv equal to uniform's at "
                f"{same}/{len(lsvi)} budgets"
            )
    head = (
        "at the paper's beta most values sit at H"
        if capped
        else "values mostly below H"
    )
    return render_lsvi_optimism(paths, results), head + ": " + "; ".join(said) + "."


# ---------------------------------------------------------------- tables 1/2


def table1(results: Path) -> tuple[str, str]:
    """Tables 1 and 2: Connect Four win rates and the opponents' policy entropy."""
    paths = result_files(results, "connect4/*.json")
    parts, said = [], []
    for path in paths:
        data = _load(path)
        config, summary = data["config"], data["summary"]
        methods = list(summary)
        opponents = list(dict.fromkeys(k.split(":")[0] for k in summary[methods[0]]))
        rows = []
        for opp in opponents:
            cells = []
            for seat in data["learned_players"]:
                for m in methods:
                    c = summary[m][f"{opp}:{seat}"]
                    cells.append(
                        f"{c['win_mean']:.2f} [{c['win_min']:.2f}, {c['win_max']:.2f}]"
                    )
            rows.append([opp, *cells])
        header = [
            "opponent",
            *(f"{m} ({seat})" for seat in data["learned_players"] for m in methods),
        ]
        ent = data["table2_entropy"]["on_positions"]
        ent_rows = [
            [name, f"{mean:.3f}", f"{se:.3f}"]
            for name, mean, se in zip(
                ent["names"], ent["mean_nats"], ent["standard_error_nats"], strict=True
            )
        ]
        command = (
            f"python scripts/connect4_table1.py --num-games {config['num_games']} "
            f"--eval-games {config['eval_games']} --seeds {_ints(config['seeds'])} "
            f"--head {config['head']} --channels {config['channels']} --blocks "
            f"{config['blocks']} --bc-epochs {config['bc_epochs']} --beta "
            f"{config['beta']:g} --ridge {config['ridge']:g} --entropy-positions "
            f"{config['entropy_positions']} --out-dir {config['out_dir']}"
        )
        parts.append(
            f"`{command}`\n\n"
            f"From `{_source(path, results)}` (seeds {_seeds(config['seeds'])}; "
            f"{config['num_games']} expert-labelled games per learning player; "
            f"{config['eval_games']} evaluation games per opponent; device "
            f"{data['device']}): win rate of the learned seat, mean [min, max] "
            "over seeds:\n\n"
            + _table(header, rows)
            + f"\nTable 2: opponents' policy entropy in nats on "
            f"{ent['n_positions']} positions of random play (uniform: "
            f"{ent['uniform_nats']:.3f}):\n\n"
            + _table(["opponent", "mean", "standard error"], ent_rows)
        )
        first = data["learned_players"][0]
        if {"bc", "dqn-explore"} <= set(methods):
            diff = [
                summary["dqn-explore"][f"{o}:{first}"]["win_mean"]
                - summary["bc"][f"{o}:{first}"]["win_mean"]
                for o in opponents
            ]
            better = sum(d > 0 for d in diff)
            said.append(
                ("agrees" if better == len(diff) else "differs")
                + f": DQN-Explore-BC's first seat beats BC's win rate against "
                f"{better}/{len(diff)} opponents (mean difference "
                f"{sum(diff) / len(diff):+.3f}) with {config['num_games']} "
                f"labelled games and {len(config['seeds'])} seeds"
            )
    return "\n".join(parts), "; ".join(said) + "."


# ---------------------------------------------------------------- second paper


def matching(results: Path) -> tuple[str, str]:
    """Bergerault, Cevher, Mehr: each claim, computed exactly."""
    path = results / "matching_experts" / "results.json"
    if not path.exists():
        raise FileNotFoundError(path)
    data = _load(path)
    args = data["args"]
    rows = [
        [c["id"], c["paper"], c["result"], "yes" if c["passed"] else "**no**"]
        for c in data["claims"]
    ]
    command = (
        f"python scripts/matching_experts.py --seed {args['seed']} --draws "
        f"{args['draws']} --xor-grid {args['xor_grid']} --out-dir {args['out_dir']}"
    )
    body = (
        f"`{command}`\n\n"
        f"From `{_source(path, results)}` (seed {args['seed']}, gammas "
        f"{_ints(args['gammas'])}, players {_ints(args['players'])}, {args['draws']} "
        f"draws; exact solvers). Provenance: {data['provenance']}\n\n"
        + _table(["claim", "paper", "computed", "holds"], rows)
    )
    passed = sum(c["passed"] for c in data["claims"])
    n = len(data["claims"])
    verdict = (
        "agrees" if passed == n else "differs"
    ) + f": {passed}/{n} claims hold on our games."
    return body, verdict


# ---------------------------------------------------------------- the page

#: (title, the paper's claim, renderer). The claims are the only typed prose.
SECTIONS: list[tuple[str, str, Callable[[Path], tuple[str, str]]]] = [
    (
        "Figure 1a: offline BC on the Gridworld",
        "Figure 1(a): although fitting the training set perfectly, BC fails to "
        "minimize the Nash gap with both tabular and relational features, while "
        "with the deep linear features the Nash gap converges to 0.",
        fig1a,
    ),
    (
        "Figure 1b: LSVI-UCB-ZERO-BC on the Gridworld",
        "Figure 1(b): the interactive algorithm LSVI-UCB-ZERO-BC effectively "
        "minimizes the Nash gap for both tabular and relational features, and "
        "converges faster with the lower-dimensional relational map.",
        fig1b,
    ),
    (
        "LSVI-UCB-ZERO's optimism (our test, behind figure 1b)",
        "Algorithm LSVI-UCB-ZERO-BC explores with optimistic values "
        "min(H, phi^T w + beta ||phi||_{Lambda^-1}) at the paper's beta = 10, "
        "lambda = 0.1, H = 10 (Appendix I.1). Not a figure of the paper: this "
        "checks whether those values sit at the cap H.",
        optimism,
    ),
    (
        "Figure 1c: Tic-Tac-Toe",
        "Figure 1(c): while Deep BC fails to minimize the Nash gap in "
        "Tic-Tac-Toe, DQN-Explore-BC succeeds.",
        fig1c,
    ),
    (
        "Tables 1 and 2: Connect Four",
        "Table 1: against opponents of varying skill (an approximate best "
        "response and softmax solvers of noise levels 1-5), DQN-Explore-BC "
        "significantly outperforms pure deep BC in the learned first player's "
        "win rate. Table 2 lists the entropy of each opponent.",
        table1,
    ),
    (
        "Figure 2a: exploration on the Gridworld",
        "Figure 2(a): on the small 5x5 Gridworld both uniform exploration and "
        "DQN-Explore converge quickly to zero exploitability; uniform "
        "exploration is even slightly better.",
        fig2a,
    ),
    (
        "Figure 2b: exploration on the chain",
        "Figure 2(b): reaching the exploitable state of the chain is hard for "
        "uniform exploration, while DQN-Explore covers the best response and "
        "its BC policy reaches zero exploitability.",
        fig2b,
    ),
    (
        "Matching multiple experts (Bergerault, Cevher, Mehr)",
        "With dominant-strategy experts the Nash gap of BC is "
        "O(n eps_BC / (1-gamma)^2); state-occupancy matching alone can leave a "
        "gap, state-action matching with full support recovers the equilibrium.",
        matching,
    ),
]


def sections(results: Path) -> list[Section]:
    """Every section, rendered from the files under ``results``."""
    out = []
    for title, claim, renderer in SECTIONS:
        try:
            body, verdict = renderer(results)
        except FileNotFoundError:
            body, verdict = (
                "Not run yet: its result files are not committed.\n",
                "not run yet.",
            )
        out.append(Section(title, claim, body, verdict))
    return out


def _anchor(title: str) -> str:
    """GitHub's heading anchor."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def page(results: Path) -> str:
    """The whole page's markdown."""
    parts = sections(results)
    summary = _table(
        ["result", "verdict"],
        [
            [f"[{s.title}](#{_anchor(s.title)})", s.verdict.split(":")[0].rstrip(".")]
            for s in parts
        ],
    )
    head = (
        "# Results: the papers' claims and our runs\n\n"
        "<!-- generated by scripts/results_page.py; do not edit by hand -->\n\n"
        "Written by `python scripts/results_page.py` from the JSON files under "
        "`docs/results/` (`--check` fails when this page is stale). Every number "
        "is read from those files; the paper's claims are quoted or paraphrased "
        'from Viano, Freihaut et al., "Multi-agent imitation learning with '
        'function approximation: linear Markov games and beyond", and '
        'Bergerault, Cevher, Mehr, "Matching Multiple Experts". Verdicts: '
        f"*agrees* when the claim holds with a NashConv below {ZERO:g} counted "
        "as 0; *agrees in trend* when the curve the claim sends to 0 ends a "
        "hundredfold below its largest value without getting below "
        f"{ZERO:g}; otherwise *differs*, with what differs.\n\n" + summary
    )
    body = "\n".join(
        f"## {s.title}\n\n**Paper's claim.** {s.claim}\n\n{s.body}\n"
        f"**Verdict.** {s.verdict}\n"
        for s in parts
    )
    return head + "\n" + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare only")
    ns = parser.parse_args(argv)
    args = Args(check=ns.check)
    target = args.results / "README.md"
    new = page(args.results)
    old = target.read_text() if target.exists() else None
    if args.check:
        if new != old:
            print(
                f"{target.relative_to(ROOT)} differs from the result files; run "
                "python scripts/results_page.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if new != old:
        atomic_write_text(target, new)
        print(f"updated {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
