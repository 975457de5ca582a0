"""Every option of every command, each declared once (``base.Option``): its CLI flag, action input, JSON
Schema, default and help. The modules hold the options of one topic and the config fields they fill:

- ``base``: ``Option``, ``Group`` and ``CommandOptions`` (argparse, ``INPUT_*`` values, schema);
- ``run``: the options of every command (``command``, ``--json``, ``--json-output``);
- ``discover``; ``images`` (the references each command takes); ``mirror``; ``access`` (registries);
- ``scan``, ``trivy``, ``policy`` (gate and VEX) and ``promote``.

Commands compose groups of these; ``scripts/readme_tables.py`` and the tests read them back.
"""
