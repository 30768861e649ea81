"""analyzers: libclang-based safety checks of C++ Click elements (issue 4; loops and cost: issue 5).

Data flow, one file at a time in a worker process (engine):
  frontend (parse once, the only clang.cindex user) -> conditionals, suppressions (source text)
  -> discovery (element classes, packet-path and config-time methods)
  -> walker + checks/ (one walk per function, all checks; call graph in networkx)
  -> analysis (findings attributed to elements with call paths, suppressions, verdicts)
then crossfile links the files of one run.  Rules are data (rules.py); what each rule
does to a verdict, and which API is trusted, is the policy (policy.py, policy_default.yaml).
Every result is plain data (report.py); nothing here prints.
"""
