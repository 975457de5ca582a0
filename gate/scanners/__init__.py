"""Vulnerability scanners behind one interface (``gate.scanners.base``): ``trivy`` (the Trivy CLI)
and ``osv`` (an offline OSV matcher), each a module of its own, registered once in ``base``."""
