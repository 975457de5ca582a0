"""The promote stage: a passing image, with every referrer and a scan report, from quarantine to production.

- ``promotion``: ``promote`` (the entry: references in, a frozen ``PromoteReport`` out), the copy, the tag
  and the verification of the destination;
- ``verdict``: what a verdict must say before anything is copied (``PromotionRefused`` otherwise);
- ``report``: the scan-report referrer attached to the promoted image (schema in ``schemas/``);
- ``tag_deletion``: deleting the source tag afterwards, the registry API first, else the GitHub Packages way;
- ``github_packages``: that way: the GHCR package version carrying the tag, through the GitHub REST API;
- ``summary``: the step summary of a promotion; ``outcome``: a command's outcome of it (or of a refusal).
"""
