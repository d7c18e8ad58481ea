"""Server policy over repository sources (string 422s, checked after the schema)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from volundr.domain.errors import InvalidRequest
from volundr.domain.validation import RepoKind, RepoRef


@dataclass(frozen=True)
class RepoPolicy:
    """Which extra repository forms this server accepts (API §0.2 `git.*`)."""

    allow_local_repos: bool
    local_repo_roots: tuple[str, ...] = ()
    allowed_http_hosts: tuple[str, ...] = ()


def check_repo_policy(ref: RepoRef, policy: RepoPolicy) -> None:
    """Raise InvalidRequest when the server's configuration does not allow `ref`."""
    if ref.kind is RepoKind.HTTP and ref.host.lower() not in {
        h.lower() for h in policy.allowed_http_hosts
    }:
        raise InvalidRequest(f"Plain http repositories are not allowed for host {ref.host}")
    if ref.kind is RepoKind.LOCAL:
        if not policy.allow_local_repos:
            raise InvalidRequest("Local repositories are not allowed on this server")
        if policy.local_repo_roots and not _inside_any(ref.local_path, policy.local_repo_roots):
            raise InvalidRequest("Local repository must be inside an allowed root")


def _inside_any(path: str, roots: tuple[str, ...]) -> bool:
    resolved = os.path.realpath(path)
    for root in roots:
        real_root = os.path.realpath(root)
        if resolved == real_root or resolved.startswith(real_root.rstrip("/") + "/"):
            return True
    return False
