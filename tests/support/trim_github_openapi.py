"""Write ``tests/support/github-rest-api.json``: the operations image-gate calls, cut out of GitHub's published
OpenAPI description with every component they reference (transitively) and nothing else.

    python3 -m tests.support.trim_github_openapi FULL_DESCRIPTION.json

``FULL_DESCRIPTION.json`` is github/rest-api-description's ``descriptions/api.github.com/api.github.com.json``
(here as republished by the npm package ``@octokit/openapi``, ``generated/api.github.com.json``, whose only
change is the ``x-octokit`` extension, dropped below). Examples are dropped too: the tests validate against
the schemas, not the examples.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("github-rest-api.json")
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("/repos/{owner}/{repo}/issues", "get"),
    ("/repos/{owner}/{repo}/issues", "post"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}", "patch"),
    ("/repos/{owner}/{repo}/issues/comments/{comment_id}", "get"),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", "post"),
    ("/repos/{owner}/{repo}/collaborators/{username}/permission", "get"),
)
SOURCE = {
    "repository": "https://github.com/github/rest-api-description",
    "path": "descriptions/api.github.com/api.github.com.json",
    "republished_by": "npm @octokit/openapi 23.0.2, generated/api.github.com.json (x-octokit dropped)",
    "spot_checked_against": {
        "commit": "0000036e42b5e7121c2b1ac244cb7bba1d2f3914",
        "repos/get-collaborator-permission-level": "identical",
        "issues/create": "identical but for the request property parent_issue_id, added upstream after this copy "
        "(image-gate does not send it)",
    },
    "license": "MIT",
}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        media_type = "schema" in value and isinstance(value.get("examples"), dict)
        return {k: _clean(v) for k, v in value.items() if k != "x-octokit" and not (media_type and k == "examples")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _refs(value: Any) -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            found.append(ref)
        for item in value.values():
            found += _refs(item)
    elif isinstance(value, list):
        for item in value:
            found += _refs(item)
    return found


def trim(full: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, method in OPERATIONS:
        item = full["paths"][path]
        kept = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        kept[method] = _clean(item[method])
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths)
    while pending:
        ref = pending.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in components.get(kind, {}):
            continue
        value = _clean(full["components"][kind][name])
        components.setdefault(kind, {})[name] = value
        pending += _refs(value)
    return {
        "openapi": full["openapi"],
        "info": {"title": "GitHub v3 REST API: the operations image-gate uses", "version": "trimmed", "x-source": SOURCE},
        "paths": paths,
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }


def main(argv: list[str]) -> None:
    full = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    OUTPUT.write_text(json.dumps(trim(full), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
