"""reports: safety reports in HTML, Markdown, SARIF and JUnit, drawn from the database and merge plans.

Layer: above merge, element_db, analyzers and certify.core; below the command line.
"""
