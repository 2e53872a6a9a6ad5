"""Classifiers distilled into analytic, provably CP-odd observables by symbolic regression.

- :mod:`~obsforge.symbolic.features`: VBF features and their CP transformation;
- :mod:`~obsforge.symbolic.classifier`: torch MLP and BDT for c = +1 vs c = -1;
- :mod:`~obsforge.symbolic.regression`: Operon (default) / PySR backends, antisymmetrisation,
  the sympy proof of CP-oddness;
- :mod:`~obsforge.symbolic.significance`: the binned Asimov significance used for every row.

The study that ties them together is :mod:`obsforge.cp_observable` (``obsforge cp-observable``).
"""
