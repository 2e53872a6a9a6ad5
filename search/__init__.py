"""Neural ratio estimation, HPD intervals and shape scans (issue: search/).

Not yet implemented: this subpackage is reserved by the architecture and is empty on purpose.
"""
