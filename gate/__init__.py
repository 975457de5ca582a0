"""image-gate: a supply-chain gate for container images."""

__version__ = "0.1.0"
