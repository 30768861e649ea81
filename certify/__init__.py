"""certify: safety verifier and element-certification suite for the Click modular router.

This package is the command line (``certify.cli``) and the jobs it runs (gate,
merge, library, coordinator); ``certify.core`` is the bottom layer every other
package builds on.  Nothing below the command line imports it.
"""

from certify.core.version import __version__

__all__ = ["__version__"]
