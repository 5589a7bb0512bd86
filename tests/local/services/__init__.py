"""Services of the local AWS endpoint, one module each.

Every module here (not starting with '_') is imported at start and must list
its Service subclasses in a module-level ``SERVICES``.  See
localaws/service.py for the interface and README.md for the conventions.
"""
