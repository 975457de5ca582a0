"""The mirror stage: copy an image (every platform, or some) and optionally all its referrers into
another repository. ``stage``: plan, copy and outcome; ``summary``: its step summary."""
