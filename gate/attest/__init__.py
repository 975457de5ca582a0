"""Attestations: finding them on an image and unwrapping them (SBOM and VEX).

``unwrap`` reads a sigstore bundle, DSSE envelope or in-toto statement down to its predicate,
``lookup`` finds each platform's SBOM attestation (referrers and BuildKit in-index attestations),
``vex_referrers`` the VEX documents attached to an image; ``verify/`` holds the signature verifiers.
"""
