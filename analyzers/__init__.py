"""analyzers: libclang-based safety checks of C++ Click elements (issues 4 and 5)."""
