"""The version of certify (of its analyzers, its database format and its reports)."""

__version__ = "0.4.3"
