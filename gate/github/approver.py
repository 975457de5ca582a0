"""Who may approve: the commenter's role on the repository, read from GitHub (collaborator permission,
``role_name``), never from the comment. Roles rank read < triage < write < maintain < admin; a custom
role counts as its base permission (``permission``: GitHub maps maintain to write there), so it fails
closed. Bots (``type`` Bot, or a login ending in ``[bot]``) never approve."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.github.client import github_call

if TYPE_CHECKING:
    from github.Repository import Repository

RANKS = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")


@dataclass(frozen=True)
class Permission:
    """The commenter, the role GitHub gives them, and whether it reaches the minimum."""

    login: str
    role: str
    allowed: bool
    reason: str


def is_bot(login: str, user_type: str) -> bool:
    return user_type == "Bot" or login.endswith("[bot]")


def check_permission(repo: Repository, login: str, user_type: str, minimum: str) -> Permission:
    """The commenter's role; ``allowed`` when it ranks at least ``minimum`` and the commenter is no bot."""
    if is_bot(login, user_type):
        return Permission(login, "bot", False, "bots may not approve or deny a promotion")
    if not _LOGIN.match(login):
        return Permission(login, "unknown", False, "the commenter's login is not a GitHub login")
    from github import UnknownObjectException

    with github_call(f"read the repository permission of {login}"):
        try:
            role = repo.get_collaborator_role_name(login)
        except UnknownObjectException:  # 404: no such user, or no access to the repository at all
            return Permission(login, "none", False, "not a collaborator of the repository")
        if role not in RANKS:  # a custom role: its base permission (admin, write, read, none)
            base = repo.get_collaborator_permission(login)
            role = f"{role} (base {base})"
            rank = RANKS.get(base, 0)
        else:
            rank = RANKS[role]
    if rank < RANKS[minimum]:
        return Permission(login, role, False, f"the role {role} is below {minimum}, the minimum to decide")
    return Permission(login, role, True, "")
