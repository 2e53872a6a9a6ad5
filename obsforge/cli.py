"""The ``obsforge`` command line.

Every subcommand reads a YAML configuration (a file, or the name of a built-in one such as
``demo``) validated by a pydantic model; ``--set section.key=value`` overrides single values.
Configuration errors are reported in one line naming the field, the value and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from obsforge import __version__
from obsforge.config import ConfigError, load_config
from obsforge.parallel import Execution

__all__ = ["main"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", required=True, help="YAML file, or a built-in config name (e.g. 'demo')"
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
        help="address of an existing Dask scheduler (default: a local cluster)",
    )
    parser.add_argument(
        "--workers",
        type=_worker_count,
        default=None,
        help="local Dask workers (default: one per core; 0 runs inline)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsforge", description="Discover precision observables and compute them."
    )
    parser.add_argument("--version", action="version", version=f"obsforge {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser("generate", help="generate events with a simulator")
    simulators = generate.add_subparsers(dest="simulator", required=True, metavar="SIMULATOR")
    top = simulators.add_parser(
        "top-jets", help="e+e- -> t tbar with PYTHIA 8 (visible final state, per top mass)"
    )
    _common(top)
    top.set_defaults(handler=_generate_top_jets)

    eeec = commands.add_parser(
        "eeec", help="top jets -> C/A subjets -> EEEC triplets and plots (generates if needed)"
    )
    _common(eeec)
    eeec.set_defaults(handler=_eeec)

    density = commands.add_parser(
        "density", help="train the EEEC surrogate (flow or MLP) and test its closure"
    )
    _common(density)
    density.set_defaults(handler=_density)

    scan = commands.add_parser(
        "scan-shapes",
        help="the whole chain (events -> EEEC -> surrogate -> NRE) scoring triangle shapes "
        "by the 95%% HPD width of the m_top posterior",
    )
    _common(scan)
    scan.set_defaults(handler=_scan_shapes)

    binning = commands.add_parser(
        "binning",
        help="e+e- -> WW optimal observables: Fisher information, TGC bounds and the "
        "information kept by uniform, Voronoi and optimal-transport binnings",
    )
    _common(binning)
    binning.set_defaults(handler=_binning)

    cp = commands.add_parser(
        "cp-observable",
        help="VBF Higgs with c_HWtilde: classifier -> symbolic, provably CP-odd formula, "
        "and the significance table",
    )
    _common(cp)
    cp.set_defaults(handler=_cp_observable)

    pdffit = commands.add_parser(
        "pdffit",
        help="NNPDF-style replica fit of a neural-network PDF to DIS data (runcard YAML)",
    )
    _common(pdffit)
    pdffit.set_defaults(handler=_pdffit)
    return parser


def _study(args):
    from obsforge.top_eeec import TopEEECStudy

    return load_config(TopEEECStudy, args.config, args.overrides)


def _execution(args) -> Execution:
    return Execution(scheduler=args.scheduler, workers=args.workers)


def _worker_count(text: str) -> int:
    """argparse type for --workers: an integer >= 0 (0 runs the tasks inline)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: allowed are 0 (inline) or more workers")
    return value


def _generate_top_jets(args) -> int:
    from obsforge.top_eeec import run_top_jets

    result = run_top_jets(_study(args), _execution(args))
    print(json.dumps(result.summary, indent=2))
    print(f"events: {result.path}")
    return 0


def _eeec(args) -> int:
    from obsforge.top_eeec import run_eeec

    result = run_eeec(_study(args), _execution(args))
    for mass, row in result.summary["masses"].items():
        print(
            f"m_top = {mass:>6} GeV: {row['n_jets']} jets, {row['n_triplets']} triplets, "
            f"<jet mass> = {row['mean_jet_mass']:.1f} GeV, <ln zeta3>_peak = "
            f"{row['peak_mean_log_zeta3']:.4f} +- {row['peak_mean_log_zeta3_error']:.4f}"
        )
    print(f"EEEC triplets: {result.path}")
    print(f"report: {result.path / 'report' / 'zeta3_longest_side.png'} (and .pdf)")
    return 0


def _density(args) -> int:
    from obsforge.eeec_density import DensityStudy, run_density

    result = run_density(load_config(DensityStudy, args.config, args.overrides), _execution(args))
    summary = result.summary
    print(
        f"{summary['model']} (energy-weighted: {summary['energy_weighted']}), "
        f"{summary['epochs']} epochs, best validation loss {summary['best_val_loss']:.4f}"
    )
    for row in summary["closure"]:
        n1, n2, _ = row["shape"]
        print(
            f"  shape ({n1:g}, {n2:g}) at m_top = {row['m_top']:g} ({row['role']}): "
            f"chi2/ndf = {row['chi2']:.1f}/{row['ndf']} = {row['chi2_ndf']:.2f}"
        )
    print(f"surrogate: {result.path / 'model.pt'}")
    print(f"report: {result.path / 'report'} (closure_m<mass>.png and .pdf)")
    return 0


def _scan_shapes(args) -> int:
    from obsforge.shape_scan import ScanStudy, report_lines, run_scan

    result = run_scan(load_config(ScanStudy, args.config, args.overrides), _execution(args))
    for line in report_lines(result):
        print(line)
    return 0


def _binning(args) -> int:
    from obsforge.ww_binning import WWStudy, run_ww_fisher

    result = run_ww_fisher(load_config(WWStudy, args.config, args.overrides), _execution(args))
    summary = result.summary
    print(
        f"sigma(WW -> l nu q q') = {summary['sigma_pb']:.4f} pb, "
        f"{summary['expected_events']:.3g} expected events"
    )
    for name, sigma in summary["bounds"]["sigma"].items():
        print(f"  {name}: 1 sigma = {sigma:.3g}")
    for method, rows in summary["retained"].items():
        text = ", ".join(f"{k} bins {v:.3f}" for k, v in rows.items())
        print(f"  retained ({method}): {text}")
    if "reco" in summary:
        reco = summary["reco"]
        print(
            f"  reco level (SALLY): retained {reco['retained']:.3f} "
            f"(perfect detector, q/qbar unknown: {reco['retained_perfect_detector_folded']:.3f})"
        )
    print(f"report: {result.path / 'report'} (retained, alpha_voronoi, bounds .png/.pdf)")
    return 0


def _cp_observable(args) -> int:
    from obsforge.cp_observable import CPStudy, report_lines, run_cp_observable

    result = run_cp_observable(load_config(CPStudy, args.config, args.overrides), _execution(args))
    for line in report_lines(result):
        print(line)
    return 0


def _pdffit(args) -> int:
    from obsforge.pdf_fit import PDFRunCard, report_lines, run_pdffit

    result = run_pdffit(load_config(PDFRunCard, args.config, args.overrides), _execution(args))
    for line in report_lines(result):
        print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # Read by distributed when it is imported (also in the worker processes it spawns).
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    try:
        return args.handler(args)
    except ConfigError as exc:
        print(f"obsforge: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
