"""certify: safety verifier and element-certification suite for the Click modular router."""

__version__ = "0.2.0"
