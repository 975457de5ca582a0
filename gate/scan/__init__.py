"""The scan stage: each platform's SBOM attestation -> a scanner -> one SARIF log, gated (``stage``)."""
