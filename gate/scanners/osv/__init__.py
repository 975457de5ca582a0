"""The offline OSV scanner backend (``scanner: osv``)."""

from gate.scanners.osv.scanner import OsvOptions, OsvScanner, build_osv_scanner, from_options

__all__ = ["OsvOptions", "OsvScanner", "build_osv_scanner", "from_options"]
