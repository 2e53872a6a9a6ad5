"""Replica neural-network PDF fits to real DIS data, with SMEFT Wilson coefficients alongside.

- :mod:`~obsforge.pdffit.data`: the measurements (nnpdf-data), kinematic cuts, covariances with
  same-named systematics correlated across datasets, Monte Carlo replicas of the data;
- :mod:`~obsforge.pdffit.fktables`: FK tables (yadism coefficient functions x eko evolution,
  ZM-VFNS or FONLL-A), built once by ``scripts/build_fk_tables.py`` and shipped;
- :mod:`~obsforge.pdffit.model`: the evolution-basis network with NNPDF4.0 preprocessing and
  exact sum rules; :mod:`~obsforge.pdffit.flavours`: the one flavour convention;
- :mod:`~obsforge.pdffit.fit`: batched replica fits with look-back stopping and positivity;
- :mod:`~obsforge.pdffit.smeft`: LO neutral-current K-factors of the e e q q operators;
- :mod:`~obsforge.pdffit.lhapdf`: LHAPDF6 sets, written and read with LHAPDF's interpolation;
- :mod:`~obsforge.pdffit.export`: the grid a fit is exported on (x to 1e-9, Q subgrids at the
  thresholds) and the eko operators to it; :mod:`~obsforge.pdffit.positivity`: positivity
  and integrability;
- :mod:`~obsforge.pdffit.runcard`: the runcard and :func:`fit_runcard`, the one entry point
  (data -> fit -> :mod:`~obsforge.pdffit.postfit` -> :mod:`~obsforge.pdffit.validation`);
  :mod:`~obsforge.pdffit.reference`: NNPDF3.1 NLO, the t0 and closure reference.
"""

from obsforge.pdffit.data import DATASETS, Dataset, apply_cuts, covariance, load_dataset
from obsforge.pdffit.export import load_grid_evolution, write_fit_set
from obsforge.pdffit.fit import FitData, FitResult, fit_replicas, prepare_fit_data
from obsforge.pdffit.fktables import SCHEMES, load_fk_table
from obsforge.pdffit.flavours import FLAVOURS, flavour_row
from obsforge.pdffit.lhapdf import LHAPDFGrid, pythia_pdf, read_member, write_lhapdf_set
from obsforge.pdffit.model import BASIS, PDFModel, evolution_to_flavour, flavour_to_evolution
from obsforge.pdffit.postfit import postfit_selection
from obsforge.pdffit.reference import reference_pdf_at
from obsforge.pdffit.runcard import FitOutcome, PDFRunCard, fit_runcard
from obsforge.pdffit.smeft import OPERATORS, k_factors
from obsforge.pdffit.validation import band_coverage, chi2_table, closure_estimators

__all__ = [
    "BASIS",
    "DATASETS",
    "FLAVOURS",
    "OPERATORS",
    "SCHEMES",
    "Dataset",
    "FitOutcome",
    "PDFRunCard",
    "FitData",
    "LHAPDFGrid",
    "FitResult",
    "PDFModel",
    "apply_cuts",
    "band_coverage",
    "chi2_table",
    "closure_estimators",
    "covariance",
    "evolution_to_flavour",
    "fit_replicas",
    "fit_runcard",
    "flavour_row",
    "flavour_to_evolution",
    "k_factors",
    "load_dataset",
    "load_grid_evolution",
    "load_fk_table",
    "postfit_selection",
    "prepare_fit_data",
    "pythia_pdf",
    "read_member",
    "reference_pdf_at",
    "write_fit_set",
    "write_lhapdf_set",
]
