"""Energy-weighted conditional normalizing flows for master distributions (issue: density/).

Not yet implemented: this subpackage is reserved by the architecture and is empty on purpose.
"""
