"""Tsunagu: humane rejection notices, the Career Relay ledger and a consent-based talent pool."""

__version__ = "0.1.0"
