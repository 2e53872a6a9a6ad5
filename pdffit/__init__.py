"""Replica-based neural-network PDF fits with SMEFT coefficients (issue: pdffit/).

Not yet implemented: this subpackage is reserved by the architecture and is empty on purpose.
"""
