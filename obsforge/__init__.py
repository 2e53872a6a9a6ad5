"""obsforge: precision observables for particle physics.

The top-level package is the *shell*: command line, run configurations, run directories and
caching, parallel execution (Dask), progress and plotting style. The physics lives in the
subpackages, each in its own top-level folder of the repository:

- :mod:`obsforge.events` -- event generators (PYTHIA 8 top jets and VBF Higgs, WW amplitudes);
- :mod:`obsforge.observables` -- jets, EEEC triplets and shapes, Fisher information, binnings;
- :mod:`obsforge.density` -- energy-weighted flows and MLP surrogates of the EEEC;
- :mod:`obsforge.search` -- NRE posteriors, HPD regions, the simulator of the shape scan;
- :mod:`obsforge.symbolic` -- CP classifiers distilled into provably CP-odd formulas;
- :mod:`obsforge.pdffit` -- replica NN PDF fits with SMEFT coefficients, LHAPDF output.

Shared helpers the domains may use: :mod:`obsforge.config` (validated configs),
:mod:`obsforge.atomic` (atomic, weights-only files), :mod:`obsforge.progress` and
:mod:`obsforge.training` (the generic torch training loop). See ``docs/architecture.md``.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
