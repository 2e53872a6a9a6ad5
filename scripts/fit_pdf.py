"""NN PDF replica fit to DIS data (NNPDF-style runcard), and where its results are.

    python scripts/fit_pdf.py --config pdffit                  # obsforge/configs/pdffit.yaml
    python scripts/fit_pdf.py --config my_runcard.yaml --set replicas=10

The same stage as ``obsforge pdffit``. The FK tables must have been built once with
scripts/build_fk_tables.py (they ship in pdffit/fktables/).
"""

from __future__ import annotations

from obsforge.config_files import load_config
from obsforge.pdf_fit import PDFRunCard, run_pdffit
from obsforge.scripting import execution, report_errors, script_arguments


def main() -> None:
    args = script_arguments(__doc__, default_config="pdffit")
    card = load_config(PDFRunCard, args.config, args.overrides)
    result = run_pdffit(card, execution(args))
    print("\n".join(result.summary()))
    for path in sorted(result.path.iterdir()):
        if path.is_dir():
            print(f"  {path.name}/: {len(list(path.iterdir()))} files")


if __name__ == "__main__":
    raise SystemExit(report_errors(main, name="fit_pdf"))
