"""What a study script needs besides the library: the common options and the house's error
handling, shared with the ``obsforge`` command.

    args = script_arguments(__doc__, default_config="scan")
    study = load_config(ScanStudy, args.config, args.overrides)
    result = run_scan(study, execution(args))

:func:`report_errors` runs a function and turns every expected failure (bad input, missing
file, unreachable scheduler) into one line and exit status 2, any other error into one line and
status 1; with ``-v`` the traceback is shown instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from obsforge.config import ConfigError, UserError, validate_config
from obsforge.parallel import Execution

__all__ = ["add_study_options", "execution", "report_errors", "script_arguments"]


def _worker_count(text: str) -> int:
    """argparse type for --workers: an integer >= 0 (0 runs the tasks inline)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed is a whole number >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: allowed are 0 (inline) or more workers")
    return value


def add_study_options(parser: argparse.ArgumentParser, default_config: str | None = None) -> None:
    """--config, --set, --scheduler, --workers and -v."""
    parser.add_argument(
        "--config",
        required=default_config is None,
        default=default_config,
        help="YAML file, or a built-in config name (e.g. 'demo')",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set top_jets.events_per_mass=500",
    )
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of an existing Dask scheduler, e.g. tcp://host:8786 (default: a local "
        "cluster)",
    )
    parser.add_argument(
        "--workers",
        type=_worker_count,
        default=None,
        help="local Dask workers (default: one per core; 0 runs inline)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress, tracebacks")


def script_arguments(
    doc: str | None, default_config: str | None = None, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """The parsed study options of a script whose docstring is ``doc``."""
    parser = argparse.ArgumentParser(
        description=(doc or "").split("\n\n")[0],
        epilog=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_study_options(parser, default_config)
    return parser.parse_args(argv)


def execution(args: argparse.Namespace) -> Execution:
    """The Dask execution the options ask for (validated: a bad address is one line)."""
    try:
        return validate_config(Execution, {"scheduler": args.scheduler, "workers": args.workers})
    except ConfigError as exc:
        raise ConfigError(f"--{exc}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, UserError) else f"{type(exc).__name__}: {text}"


def report_errors(
    function: Callable[[], int | None], verbose: bool | None = None, name: str = "obsforge"
) -> int:
    """Run ``function`` with the house's error handling; its exit status (None counts as 0).
    verbose None: from the command line (-v or --verbose)."""
    if verbose is None:
        verbose = any(arg in ("-v", "--verbose") for arg in sys.argv[1:])
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # Read by distributed when it is imported (also in the worker processes it spawns).
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    try:
        return function() or 0
    except KeyboardInterrupt:
        print(
            f"{name}: interrupted; the same command resumes from the last checkpoint",
            file=sys.stderr,
        )
        return 130
    except (UserError, OSError, UnicodeDecodeError, ValueError) as exc:
        # Expected failures: bad input, missing files or tables, unreachable services.
        if verbose:
            raise
        print(f"{name}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if verbose:
            raise
        print(f"{name}: error: {_one_line(exc)} (rerun with -v for the traceback)", file=sys.stderr)
        return 1
