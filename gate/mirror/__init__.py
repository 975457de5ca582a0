"""The mirror stage: copy an image (every platform, or some) and optionally all its referrers into
another repository or OCI layout (the copy itself: ``gate.oci.copy``).

- ``stage``: the plan (references, destination tag) and ``mirror``, the entry;
- ``outcome``: the command's outcome of a copy; ``summary``: its step summary.
"""
