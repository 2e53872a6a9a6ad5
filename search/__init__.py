"""Posteriors, HPD regions and (to come) neural ratio estimation and shape scans.

Implemented so far: grid posteriors and HPD regions. The NRE training and the shape scan of
the search issue are not implemented yet.
"""

from obsforge.search.posterior import GridPosterior, HPDRegion, hpd_region

__all__ = ["GridPosterior", "HPDRegion", "hpd_region"]
