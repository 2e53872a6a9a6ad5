"""obsforge: precision observables for particle physics.

The top-level package is the *shell*: command line, run configurations, run directories and
caching, parallel execution (Dask), progress and plotting style. The physics lives in the
subpackages, each in its own top-level folder of the repository:

- :mod:`obsforge.events` -- event generators (PYTHIA 8 top jets at e+e-, ...);
- :mod:`obsforge.observables` -- jets, energy correlators (EEEC triplets), ...;
- :mod:`obsforge.density`, :mod:`obsforge.search`, :mod:`obsforge.symbolic`,
  :mod:`obsforge.pdffit` -- later stages of the programme (see ``docs/``).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
