"""The ``obsforge`` command line.

Every subcommand reads a YAML configuration (a file, or the name of a built-in one such as
``demo``) validated by a pydantic model; ``--set section.key=value`` overrides single values.
Every expected failure (a bad config value, a missing file or table, an unreachable scheduler)
is reported in one line and exit status 2; a traceback is shown only with ``-v``.
``--dry-run`` validates the configuration and shows where the run would go, without running.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from obsforge import __version__
from obsforge.config_files import load_config
from obsforge.scripting import add_study_options, report_errors
from obsforge.scripting import execution as study_execution
from obsforge.studies import STUDIES, Study, load

__all__ = ["build_parser", "main"]


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
    for command in STUDIES:
        group, _, name = command.command.rpartition(" ")
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
    command: Study = args.command_spec
    model = load(command.model)
    config = load_config(model, args.config, args.overrides, ignore=command.ignore)
    execution = study_execution(args)
    if args.dry_run:
        name = getattr(config, "name", "?")
        print(
            f"{command.command}: config valid ({model.__name__}); run folder "
            f"{os.path.join(getattr(config, 'runs_dir', 'runs'), name)}"
        )
        return 0
    if command.fastjet:
        import fastjet._swig

        fastjet._swig.ClusterSequence.print_banner()  # once per run; workers stay quiet
    result = load(command.run)(config, execution)
    for line in result.summary():
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return report_errors(lambda: _run(args), args.verbose)


if __name__ == "__main__":
    raise SystemExit(main())
