"""The ``obsforge`` command line.

Every subcommand reads a YAML configuration (a file, or the name of a built-in one such as
``demo``) validated by a pydantic model; ``--set section.key=value`` overrides single values.
Every expected failure (a bad config value, a missing file or table, an unreachable scheduler)
is reported in one line and exit status 2; a traceback is shown only with ``-v``.
``--dry-run`` validates the configuration and shows where the run would go, without running.
"""

from __future__ import annotations

import argparse
import importlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from obsforge import __version__
from obsforge.config import load_config
from obsforge.scripting import add_study_options, report_errors
from obsforge.scripting import execution as study_execution

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


@dataclass(frozen=True)
class Command:
    """One subcommand: its config model and stage function (``module:name``). What it prints
    is the result's :meth:`~obsforge.results.StageResult.summary`."""

    name: str
    help: str
    model: str
    run: str
    # Sections of a shared config that this command does not read (the top-jet commands accept
    # a scan config such as ``demo`` and ignore its density/search sections).
    ignore: tuple[str, ...] = ()
    fastjet: bool = False  # clusters jets: FastJet's banner is printed once, here


def _load(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(f"obsforge.{module}"), name)


COMMANDS = (
    Command(
        "generate top-jets",
        "e+e- -> t tbar with PYTHIA 8 (visible final state, per top mass)",
        "top_eeec:TopEEECStudy",
        "top_events:run_top_jets",
        ignore=("density", "search"),
    ),
    Command(
        "eeec",
        "top jets -> C/A subjets -> EEEC triplets and plots (generates if needed)",
        "top_eeec:TopEEECStudy",
        "top_eeec:run_eeec",
        ignore=("density", "search"),
        fastjet=True,
    ),
    Command(
        "density",
        "train the EEEC surrogate (flow or MLP) and test its closure",
        "eeec_density:DensityStudy",
        "eeec_density:run_density",
        ignore=("search",),
        fastjet=True,
    ),
    Command(
        "scan-shapes",
        "the whole chain (events -> EEEC -> surrogate -> NRE) scoring triangle shapes by the "
        "95%% HPD width of the m_top posterior",
        "shape_scan:ScanStudy",
        "shape_scan:run_scan",
        fastjet=True,
    ),
    Command(
        "binning",
        "e+e- -> WW optimal observables: Fisher information, TGC bounds and the information "
        "kept by uniform, Voronoi and optimal-transport binnings",
        "ww_binning:WWStudy",
        "ww_binning:run_ww_fisher",
    ),
    Command(
        "cp-observable",
        "VBF Higgs with c_HWtilde: classifier -> symbolic, provably CP-odd formula, and the "
        "significance table",
        "cp_observable:CPStudy",
        "cp_observable:run_cp_observable",
        fastjet=True,
    ),
    Command(
        "eeec-stream",
        "top jets streamed through the compiled EEEC kernel: shape moments + training subsample",
        "top_stream:StreamStudy",
        "top_stream:run_stream",
        ignore=("fisher",),
        fastjet=True,
    ),
    Command(
        "fisher",
        "Fisher ranking of every EEEC shape from the streamed moments (streams if needed)",
        "fisher_scan:FisherStudy",
        "fisher_scan:run_fisher",
        fastjet=True,
    ),
    Command(
        "pdffit",
        "NNPDF-style replica fit of a neural-network PDF to DIS data (runcard YAML)",
        "pdffit.runcard:PDFRunCard",
        "pdf_fit:run_pdffit",
    ),
)


def _common(parser: argparse.ArgumentParser) -> None:
    add_study_options(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the configuration and print the run folder; run nothing",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsforge", description="Discover precision observables and compute them."
    )
    parser.add_argument("--version", action="version", version=f"obsforge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for command in COMMANDS:
        group, _, name = command.name.rpartition(" ")
        subparsers = commands
        if group:  # "generate top-jets": a subcommand of "generate"
            if group not in groups:
                parent = commands.add_parser(group, help=f"{group} events with a simulator")
                groups[group] = parent.add_subparsers(
                    dest="simulator", required=True, metavar="SIMULATOR"
                )
            subparsers = groups[group]
        sub = subparsers.add_parser(name, help=command.help)
        _common(sub)
        sub.set_defaults(command_spec=command)
    return parser


def _run(args) -> int:
    command: Command = args.command_spec
    model = _load(command.model)
    config = load_config(model, args.config, args.overrides, ignore=command.ignore)
    execution = study_execution(args)
    if args.dry_run:
        name = getattr(config, "name", "?")
        print(
            f"{command.name}: config valid ({model.__name__}); run folder "
            f"{os.path.join(getattr(config, 'runs_dir', 'runs'), name)}"
        )
        return 0
    if command.fastjet:
        import fastjet._swig

        fastjet._swig.ClusterSequence.print_banner()  # once per run; workers stay quiet
    result = _load(command.run)(config, execution)
    for line in result.summary():
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return report_errors(lambda: _run(args), args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
