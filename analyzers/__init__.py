"""analyzers: libclang-based safety checks, loop bounds and costs of C++ Click elements.

Layer: above certify.core only (no merge, element_db, reports or command line).

Data flow, one file at a time in a worker process (engine):
  frontend (parse once, the only clang.cindex user) -> conditionals, suppressions (source text)
  -> discovery (element classes, packet-path and config-time methods)
  -> walker + checks/ (one walk per function, all checks; call graph in networkx)
  -> analysis (findings attributed to elements with call paths, suppressions, verdicts)
  -> element_bounds (loop bounds and packet-path costs on the same parse: bounds.analyze_parsed,
     loops/loopcount/loopvalues, cost/)
then crossfile links the files of one run.  Rules are declared in the registry
(certify/core/rules.py, with each KS rule's default verdict class); the policy (policy.py,
policy_default.yaml) says which API is trusted and may change a rule's verdict class.
Every result is plain data (report.py); nothing here prints.
"""
