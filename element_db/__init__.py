"""element_db: the certified-element database: records (JSON Schema), the store, layered databases, and
what the one decision (certify.core.decision) needs from them.

Layer: above analyzers (whose versions it records) and certify.core; below merge and the command line.
"""
