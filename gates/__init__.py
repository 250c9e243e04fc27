"""Quality gates: each gate is one module that turns a diff into findings.

A gate module (``gates/lint.py`` is L1, ``gates/security.py`` is L5) has ``LEVEL``,
``TITLE`` and ``scan(inp, config, tools) -> Scan``; :mod:`gates.registry` maps levels
to modules and :mod:`gates.config` holds each gate's settings (defaults in
``config/gates.yml``). The flow, all of it free of GitHub calls::

    GateInput (base dir, head dir, diff)          gates.revision
      -> run_gates(inp, config, cancel=...)       gates.runner: threads + time limits
           gate.scan -> Scan (head/base findings) each tool a killable subprocess
           judge -> GateResult                    gates.verdict: fingerprints, baseline,
                                                  new vs pre-existing, filter mode
      -> to_check_run / to_status /               gates.report: GitHub request bodies,
         summary_comment / to_sarif               text and SARIF, secrets redacted
"""
