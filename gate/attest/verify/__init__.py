"""Signature verifiers of attestations, one module per verifier (issue 10 adds them here)."""
