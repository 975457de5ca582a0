"""The one YAML loader of image-gate: every YAML input goes through ``load_yaml``.

The exceptions file, ``registry_auth``, structured inputs such as ``trivy_options`` and action.yml are
read with PyYAML's pure-Python ``SafeLoader`` (plain data, no Python objects; libyaml's loader crashes
the interpreter on deep nesting), checked between composing and constructing:

- aliases may add at most ``MAX_ALIAS_EXPANSION`` nodes to the document: a "billion laughs" of a few
  hundred bytes otherwise expands to billions of nodes in whatever walks it (a schema check, a JSON
  dump), and a recursive alias is refused;
- a mapping may not repeat a key: YAML says keys are unique, PyYAML silently keeps the last value while
  a reviewer reads the first. Keys merged in with ``<<`` may be overridden, as YAML allows;
- nesting deeper than Python's recursion allows is refused.

Errors are ``InputError`` naming ``source`` and the line. ``secret=True`` for inputs that may hold
credentials: then no message quotes the text (a key may be a token put in the wrong place).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gate.errors import InputError

MAX_ALIAS_EXPANSION = 10_000
"""Nodes that aliases may add to a document once expanded (each use of ``*name`` adds its node's size)."""
_MERGE = "tag:yaml.org,2002:merge"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader (pure Python: it raises ``RecursionError`` on deep nesting, never crashes)."""


class _TextDatesLoader(_Loader):
    """The safe loader with dates kept as the text written (a schema checks them as strings)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    key: [resolver for resolver in resolvers if resolver[0] != _TIMESTAMP]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class YamlSyntaxError(InputError):
    """Text that is not YAML; ``line`` and ``column`` (1-based, 0 when unknown) say where."""

    def __init__(self, message: str, line: int, column: int, problem: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.problem = problem


def load_yaml(text: str, source: str, *, secret: bool = False, dates: bool = True) -> Any:
    """The data of one YAML document (None when empty), checked as the module docstring says.

    ``source`` names the input in errors. ``dates=False`` keeps dates as strings.
    """
    loader: _Loader | None = None
    try:
        loader = (_Loader if dates else _TextDatesLoader)(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check(node, source, secret, loader)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problem = str(getattr(exc, "problem", None) or exc.__class__.__name__)
        where = f"line {line}" if line else "somewhere"
        detail = "" if secret else f": {problem}"
        raise YamlSyntaxError(f"{source}: {where}: not valid YAML{detail}", line, column, problem) from None
    except RecursionError:
        raise InputError(f"{source}: YAML nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()


def _check(root: Node, source: str, secret: bool, loader: _Loader) -> None:
    """Refuse duplicate keys, recursive aliases, and aliases that expand the document too far.

    One walk over the distinct nodes (an aliased node is walked once): each node's size once expanded
    is 1 + its children's, so a document's expanded size is known without expanding it.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        children = _children(node)
        if finished:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise InputError(f"{source}: line {_line(node)}: a recursive alias (a node that contains itself)")
        open_nodes.add(id(node))
        if isinstance(node, MappingNode):
            _check_keys(node, source, secret, loader)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(children) if id(child) not in sizes)
    added = sizes[id(root)] - len(sizes)
    if added > MAX_ALIAS_EXPANSION:
        raise InputError(
            f"{source}: aliases (*name) expand the YAML document by {added:,} nodes, more than the "
            f"{MAX_ALIAS_EXPANSION:,} allowed (a 'billion laughs' document?); write the values out"
        )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_keys(node: MappingNode, source: str, secret: bool, loader: _Loader) -> None:
    first: dict[Any, Node] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == _MERGE:
            continue
        identity = _key_identity(key, loader)
        if identity not in first:
            first[identity] = key
            continue
        named = "a key" if secret else f"key {key.value[:100]!r}"
        raise InputError(
            f"{source}: line {_line(key)}: {named} is given twice in one mapping (first at line "
            f"{_line(first[identity])}); YAML keys are unique: keep one"
        )


def _key_identity(key: ScalarNode, loader: _Loader) -> Any:
    """What the key becomes (``1`` and ``0x1`` are one key), or its tag and text when it cannot be built."""
    if key.tag == "tag:yaml.org,2002:str":
        return ("str", key.value)
    try:
        return (key.tag, loader.construct_object(key))
    except (yaml.YAMLError, TypeError, ValueError):
        return (key.tag, key.value)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1
