"""The discover stage: production Dockerfiles in, pinned images and a job matrix out.

- ``files``: finding and reading Dockerfiles/Containerfiles under a directory;
- ``parser``: the Dockerfile syntax (continuations, heredocs, escapes, directives);
- ``args``: ``ARG`` expansion of image references; ``images``: the references a Dockerfile uses;
- ``policy``: the production marker and what is a violation (no valid digest);
- ``matrix``: unique images and the job matrix;
- ``stage``: ``discover``, the entry; ``outcome``: the command's outcome; ``summary``: its step summary.
"""
