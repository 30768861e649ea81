"""reports: safety reports in HTML, Markdown, SARIF and JUnit (issue 8)."""
