"""Real-component test infrastructure: loopback registries, a token issuer, a fault proxy, image builders.

- ``registries``: ``Registry`` and the starters (distribution 2.8 plain/basic/token, referrers-API registry);
- ``token_issuer``: ``TokenIssuer`` (Docker token flow, ES256 JWTs with x5c, grants table, request record);
- ``faults``: ``FaultProxy`` and ``Fault`` shorthands (status, not_found, reset, truncate, corrupt, redirect);
- ``client``: ``RegistryClient``, a small independent client for seeding and reading (never gate.oci);
- ``images``: ``build_image``, ``build_attested_image``, ``attach_*``, SBOM documents, ``read_graph`` (regctl);
- ``fixtures``: the pytest fixtures, registered by tests/conftest.py.
"""
