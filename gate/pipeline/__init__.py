"""The pipeline: mirror into quarantine -> scan and gate the quarantine copy -> promote on a pass.

- ``chain``: runs the stages in order and stops at the first failure (no I/O, stages given);
- ``stages``: the pipeline's config, the plan checked before anything is copied, and the real stages
  (``gate.mirror``, ``gate.scan``, ``gate.promote``); ``run_pipeline_config`` is the entry;
- ``summary``: ``combine``, the one outcome (document, outputs, summary) of every stage.
"""
