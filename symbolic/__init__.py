"""Classifiers distilled into analytic CP-odd observables by symbolic regression (issue: symbolic/).

Not yet implemented: this subpackage is reserved by the architecture and is empty on purpose.
"""
