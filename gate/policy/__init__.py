"""The gate stage: SARIF from any scanner in, a verdict out.

- ``sarif``: reading (validated, every result a ``SarifFinding``) and writing SARIF 2.1.0;
  ``sarif_schema``: the fast check against the vendored OASIS schema (``schemas/``);
  ``sarif_category``: the ``automationDetails.id`` of a run, where code scanning files it;
- ``severity``: the severity names, the one CVSS qualitative band (the OSV scanner uses it too) and the threshold;
- ``waivers``: the exceptions file (vulnerability ids the gate does not block on);
- ``vex`` and ``vex_match``: VEX documents and which statement suppresses a finding;
- ``verdict``: the gate options, ``evaluate`` (the judgement) and its frozen ``GateResult``;
- ``stage``: the stage's entry, ``gate_sarif_files`` (SARIF files in, verdict and image out);
- ``summary``: the step summary and the annotations of a verdict; ``outcome``: a command's outcome of it.
"""
