"""The promote stage: a passing image, with every referrer and a scan report, from quarantine to production.

- ``promotion``: ``promote`` (the entry: references in, a frozen ``PromoteReport`` out), the copy, the tag
  and the verification of the destination;
- ``verdict``: what a verdict must say before anything is copied (``PromotionRefused`` otherwise);
- ``report``: the scan report, the gate's decision as a document (schema in ``schemas/``);
- ``vuln``: that decision as an in-toto statement with cosign's vulnerability predicate (the default report);
- ``signing``: the report signing key and the sigstore bundle it signs the statement into;
- ``referrer``: the report as the referrer attached to the promoted image, in the format asked for;
- ``tag_deletion``: deleting the source tag afterwards, the registry API first, else the GitHub Packages way;
- ``github_packages``: that way: the GHCR package version carrying the tag, through the GitHub REST API;
- ``summary``: the step summary of a promotion; ``outcome``: a command's outcome of it (or of a refusal).
"""
