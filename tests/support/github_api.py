"""A local GitHub REST API for the tracking issue and the override: exactly the operations image-gate calls
(issues and their labels, comments, collaborator permission), each request and each response checked against GitHub's
published OpenAPI description (``github-rest-api.json``: those operations cut out of
github/rest-api-description by ``trim_github_openapi.py``, with the source named in its ``info``).

A request for another operation, a request or a response that does not match the description, is a
``violation``: the fixture fails the test with them. State is plain data the tests read and seed:
``issues``, ``comments``, ``roles`` (login -> role_name, permission, type).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema

DESCRIPTION = Path(__file__).with_name("github-rest-api.json")
TOKEN = "ghs_test-token-for-the-local-api"
OWNER, REPO = "acme", "images"


# --- the description ------------------------------------------------------------------------------


def _json_schema(value: Any) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema: ``nullable: true`` admits null."""
    if isinstance(value, list):
        return [_json_schema(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _json_schema(v) for k, v in value.items() if k != "nullable"}
    if value.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            rest = {k: v for k, v in out.items() if k not in ("description", "title")}
            out = {"anyOf": [{"type": "null"}, rest]}
    return out


@lru_cache(maxsize=1)
def description() -> dict[str, Any]:
    return json.loads(DESCRIPTION.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _components() -> dict[str, Any]:
    return _json_schema(description()["components"])  # type: ignore[no-any-return]


def _resolve(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """A parameter or response object, its ``$ref`` (to the components) followed."""
    while "$ref" in item:
        _, _, kind, name = str(item["$ref"]).split("/", 3)
        item = description()["components"][kind][name]
    return item


def schema_errors(schema: Mapping[str, Any], value: Any) -> list[str]:
    """What is wrong with ``value`` under the OpenAPI ``schema`` (refs into the description's components)."""
    root = {"allOf": [_json_schema(dict(schema))], "components": _components()}
    validator = jsonschema.Draft4Validator(root, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(value)]


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...]


@lru_cache(maxsize=1)
def operations() -> tuple[Operation, ...]:
    found = []
    for template, item in description()["paths"].items():
        shared = [_resolve(p) for p in item.get("parameters", [])]
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$"
        for method, spec in item.items():
            if method == "parameters":
                continue
            params = (*shared, *(_resolve(p) for p in spec.get("parameters", [])))
            found.append(Operation(method.upper(), template, re.compile(regex), spec, params))
    return tuple(found)


def _typed(value: str, schema: Mapping[str, Any]) -> Any:
    """A path or query string as the type its schema names (integers, booleans, arrays of strings)."""
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "boolean":
            return {"true": True, "false": False}.get(value, value)
    except ValueError:
        return value
    return value


# --- the server -----------------------------------------------------------------------------------


@dataclass
class GitHubApi:
    """The API's state and what it saw. ``url`` is the base URL PyGithub is given."""

    url: str = ""
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """login -> (role_name, permission, user type)."""
    requests: list[tuple[str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_id: int = 1000

    @property
    def html(self) -> str:
        return f"https://github.test/{OWNER}/{REPO}"

    @property
    def api(self) -> str:
        return f"{self.url}/repos/{OWNER}/{REPO}"

    # --- objects, shaped as the description says --------------------------------------------------

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def user(self, login: str) -> dict[str, Any]:
        kind = self.roles.get(login, ("read", "read", "User"))[2]
        base = f"{self.url}/users/{login}"
        return {
            "login": login, "id": abs(hash(login)) % 10**6, "node_id": f"U_{login}", "avatar_url": f"{base}.png",
            "gravatar_id": "", "url": base, "html_url": f"https://github.test/{login}",
            "followers_url": f"{base}/followers", "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}", "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions", "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events", "type": kind, "site_admin": False,
        }  # fmt: skip

    def label(self, name: str) -> dict[str, Any]:
        return {
            "id": abs(hash(name)) % 10**6, "node_id": f"L_{name}", "url": f"{self.api}/labels/{name}",
            "name": name, "description": None, "color": "ededed", "default": False,
        }  # fmt: skip

    def _now(self) -> str:
        return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def new_issue(
        self, title: str, body: str | None, labels: list[str], author: str = "github-actions[bot]"
    ) -> dict[str, Any]:
        number = len(self.issues) + 1
        now = self._now()
        issue = {
            "id": self._id(), "node_id": f"I_{number}", "url": f"{self.api}/issues/{number}",
            "repository_url": self.api, "labels_url": f"{self.api}/issues/{number}/labels{{/name}}",
            "comments_url": f"{self.api}/issues/{number}/comments", "events_url": f"{self.api}/issues/{number}/events",
            "html_url": f"{self.html}/issues/{number}", "number": number, "state": "open", "state_reason": None,
            "title": title, "body": body, "user": self.user(author), "labels": [self.label(n) for n in labels],
            "assignee": None, "assignees": [], "milestone": None, "locked": False, "active_lock_reason": None,
            "comments": 0, "closed_at": None, "created_at": now, "updated_at": now, "author_association": "NONE",
        }  # fmt: skip
        self.issues[number] = issue
        return issue

    def new_comment(self, number: int, body: str, author: str) -> dict[str, Any]:
        identifier = self._id()
        now = self._now()
        comment = {
            "id": identifier, "node_id": f"IC_{identifier}", "url": f"{self.api}/issues/comments/{identifier}",
            "html_url": f"{self.html}/issues/{number}#issuecomment-{identifier}", "body": body,
            "user": self.user(author), "created_at": now, "updated_at": now,
            "issue_url": f"{self.api}/issues/{number}", "author_association": "MEMBER",
        }  # fmt: skip
        self.comments[identifier] = comment
        self.issues[number]["comments"] += 1
        return comment

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue_url"].endswith(f"/issues/{number}")]

    def labels_of(self, number: int) -> set[str]:
        return {label["name"] for label in self.issues[number]["labels"]}

    # --- operations ----------------------------------------------------------------------------------

    def handle(self, operation: str, params: Mapping[str, Any], query: Mapping[str, Any], body: Any) -> tuple[int, Any]:
        issues = self.issues
        if operation == "GET /repos/{owner}/{repo}/issues":
            wanted = set(filter(None, str(query.get("labels", "")).split(",")))
            state = query.get("state", "open")
            found = [
                i for i in sorted(issues.values(), key=lambda i: i["number"])
                if (state == "all" or i["state"] == state) and wanted <= {label["name"] for label in i["labels"]}
            ]  # fmt: skip
            return 200, found
        if operation == "POST /repos/{owner}/{repo}/issues":
            return 201, self.new_issue(body["title"], body.get("body"), list(body.get("labels", [])))
        number = params.get("issue_number")
        if number is not None and number not in issues:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        if operation == "GET /repos/{owner}/{repo}/issues/{issue_number}":
            return 200, issues[number]
        if operation == "PATCH /repos/{owner}/{repo}/issues/{issue_number}":
            issue = issues[number]
            for key in ("title", "body"):
                if key in body:
                    issue[key] = body[key]
            if "state" in body:
                issue["state"] = body["state"]
                issue["state_reason"] = body.get("state_reason") if body["state"] == "closed" else "reopened"
                issue["closed_at"] = self._now() if body["state"] == "closed" else None
            if "labels" in body:
                issue["labels"] = [self.label(str(n)) for n in body["labels"]]
            issue["updated_at"] = self._now()
            return 200, issue
        if operation == "GET /repos/{owner}/{repo}/issues/comments/{comment_id}":
            comment = self.comments.get(params["comment_id"])
            if comment is None:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            return 200, comment
        if operation == "POST /repos/{owner}/{repo}/issues/{issue_number}/comments":
            return 201, self.new_comment(number, body["body"], "github-actions[bot]")
        if operation == "GET /repos/{owner}/{repo}/collaborators/{username}/permission":
            login = params["username"]
            if login not in self.roles:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            role, permission, _ = self.roles[login]
            return 200, {"permission": permission, "role_name": role, "user": {**self.user(login), "role_name": role}}
        raise AssertionError(operation)

    # --- checking ------------------------------------------------------------------------------------

    def serve(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> tuple[int, Any]:
        split = urlsplit(target)
        path = unquote(split.path)
        with self.lock:
            self.requests.append((method, path))
            if headers.get("Authorization") not in (f"token {TOKEN}", f"Bearer {TOKEN}"):
                self.violations.append(f"{method} {path}: no or a wrong token")
                return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}
            match = next(
                ((op, m) for op in operations() if op.method == method and (m := op.pattern.match(path))), None
            )
            if match is None:
                self.violations.append(f"{method} {path}: not an operation of the trimmed description")
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            op, found = match
            where = f"{method} {op.template}"
            params, query = self._parameters(op, found.groupdict(), parse_qs(split.query), where)
            body = self._body(op, raw, headers, where)
            if params.get("owner") != OWNER or params.get("repo") != REPO:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            status, answer = self.handle(f"{method} {op.template}", params, query, body)
            answer = copy.deepcopy(answer)
            self._check_response(op, status, answer, where)
            return status, answer

    def _parameters(
        self, op: Operation, path: Mapping[str, str], query: Mapping[str, list[str]], where: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        params: dict[str, Any] = {}
        given: dict[str, Any] = {}
        declared = {(p["in"], p["name"]): p for p in op.parameters}
        for name in query:
            if ("query", name) not in declared:
                self.violations.append(f"{where}: undeclared query parameter {name}")
        for (place, name), spec in declared.items():
            raw = path.get(name) if place == "path" else (query.get(name) or [None])[0] if place == "query" else None
            if raw is None:
                if spec.get("required") and place in ("path", "query"):
                    self.violations.append(f"{where}: missing {place} parameter {name}")
                continue
            value = _typed(raw, spec.get("schema", {}))
            for error in schema_errors(spec.get("schema", {}), value):
                self.violations.append(f"{where}: {place} parameter {name}={raw!r}: {error}")
            (params if place == "path" else given)[name] = value
        return params, given

    def _body(self, op: Operation, raw: bytes, headers: Mapping[str, str], where: str) -> Any:
        request = op.spec.get("requestBody")
        if request is None:
            if raw:
                self.violations.append(f"{where}: a body where the operation takes none")
            return None
        if not raw:
            if request.get("required"):
                self.violations.append(f"{where}: the required body is missing")
            return {}
        if not headers.get("Content-Type", "").startswith("application/json"):
            self.violations.append(f"{where}: body Content-Type {headers.get('Content-Type')!r}")
        body = json.loads(raw)
        schema = request["content"]["application/json"]["schema"]
        for error in schema_errors(schema, body):
            self.violations.append(f"{where}: request body: {error}")
        return body

    def _check_response(self, op: Operation, status: int, answer: Any, where: str) -> None:
        responses = op.spec["responses"]
        spec = responses.get(str(status)) or responses.get("default")
        if spec is None:
            self.violations.append(f"{where}: status {status} is not a documented response")
            return
        content = _resolve(spec).get("content", {}).get("application/json")
        if content is None:
            return
        for error in schema_errors(content["schema"], answer):
            self.violations.append(f"{where}: response {status}: {error}")


class _Handler(BaseHTTPRequestHandler):
    api: GitHubApi

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, answer = self.api.serve(self.command, self.path, dict(self.headers.items()), raw)
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def github_api() -> Iterator[GitHubApi]:
    """The server on 127.0.0.1, stopped on exit."""
    api = GitHubApi()
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def environ(api: GitHubApi, **extra: str) -> dict[str, str]:
    """The runner's variables pointing image-gate at the local API."""
    return {"GITHUB_API_URL": api.url, "GITHUB_REPOSITORY": f"{OWNER}/{REPO}", **extra}


def checked_github_api() -> Iterator[GitHubApi]:
    """For a test module's fixture: the local API, and a failure on any request or response that breaks
    GitHub's description."""
    with github_api() as api:
        yield api
        assert not api.violations, "\n".join(api.violations)
