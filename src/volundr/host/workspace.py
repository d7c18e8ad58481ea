"""The workspace: clone (or init, or reuse) the session's repository and check out a branch.

Branch rule (API §2.2, reconciled with the issue): `branch` `""` → the remote's default
branch; `branch` missing on the remote → created from `base_branch` when one is given (a
missing base branch fails, naming both), else from the default branch. `repo` `""` → an
empty repository. An existing workspace is reused: never re-cloned, never force-checked-out,
so uncommitted work survives a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from volundr.domain.errors import InvalidRequest
from volundr.domain.policy import RepoPolicy, check_repo_policy
from volundr.domain.validation import RepoKind, branch_name, repository
from volundr.host.git import Git, git_error, redact
from volundr.ports import LaunchSpec

log = logging.getLogger("volundr.provision")

_NOT_FOUND_HINTS = (
    "does not exist",
    "does not appear to be a git repository",
    "repository not found",
    "not found",
)
_AUTH_HINTS = ("authentication failed", "could not read username", "permission denied (publickey")


class WorkspaceError(Exception):
    """Preparing the workspace failed; the message is short, actionable and credential-free."""


@dataclass(frozen=True)
class Checkout:
    """The branch really checked out (None when HEAD is detached) and its commit, if any."""

    branch: str | None
    sha: str | None


def clone_source(spec: LaunchSpec) -> str | None:
    """The URL or path to clone, None for an empty repository; re-checks the API's rules."""
    try:
        ref = repository(spec.repo)
        check_repo_policy(ref, RepoPolicy(spec.allow_local_repos, (), spec.allowed_http_hosts))
        branch_name(spec.branch)
        branch_name(spec.base_branch)
    except ValueError as exc:
        raise WorkspaceError(redact(str(exc))) from None
    except InvalidRequest as exc:
        raise WorkspaceError(exc.message) from None
    if ref.kind is RepoKind.EMPTY:
        return None
    if ref.kind is RepoKind.BARE_HOST:
        return f"https://{ref.value}"
    scheme, sep, rest = ref.value.partition("://")
    if sep:  # git's transport names are case-sensitive: `HTTPS://…` is cloned as `https://…`
        return f"{scheme.lower()}://{rest}"
    return ref.value


async def prepare(spec: LaunchSpec, workspace: Path, git: Git) -> Checkout:
    """Make `workspace` a checkout of the spec's repository and branch; raises WorkspaceError."""
    source = clone_source(spec)
    if (workspace / ".git").exists():
        log.info("reusing the existing workspace")
        checkout = await _switch(git, workspace, spec.branch, spec.base_branch)
    else:
        _ensure_empty_dir(workspace)
        if source is None:
            checkout = await _init(git, workspace, spec.branch)
        else:
            checkout = await _clone(git, workspace, source, spec.branch, spec.base_branch)
    log.info(
        "checked out %s at %s", checkout.branch or "(detached HEAD)", checkout.sha or "(no commits)"
    )
    return checkout


def _ensure_empty_dir(workspace: Path) -> None:
    """Create `workspace` (empty); refuse a non-empty directory that is not a repository."""
    if workspace.exists() and any(workspace.iterdir()):
        raise WorkspaceError(f"workspace {workspace} exists and is not a git repository")
    workspace.mkdir(parents=True, exist_ok=True)


async def _init(git: Git, workspace: Path, branch: str) -> Checkout:
    log.info("creating an empty repository")
    initial = [f"--initial-branch={branch}"] if branch else []
    result = await git.run("init", "--quiet", *initial, "--", str(workspace), cwd=workspace)
    if not result.ok:
        raise WorkspaceError(f"git init failed: {git_error(result.stderr)}")
    return await _current(git, workspace)


async def _clone(git: Git, workspace: Path, source: str, branch: str, base: str) -> Checkout:
    shown = redact(source)
    log.info("cloning %s …", shown)
    result = await git.run(
        "clone", "--no-checkout", "--quiet", "--origin", "origin", "--", source, str(workspace),
        cwd=workspace.parent,
    )  # fmt: skip
    if not result.ok:
        raise WorkspaceError(_clone_error(result.stderr, shown))
    default = await _remote_default(git, workspace)
    target = branch or default
    if target is None:  # empty remote: stay on its unborn HEAD
        return await _current(git, workspace)
    if await git.has_ref(f"refs/remotes/origin/{target}", cwd=workspace):
        await _checkout(git, workspace, "-f", "-B", target, "--track", f"origin/{target}")
        return await _current(git, workspace)
    start = await _creation_start(git, workspace, target, base, default)
    if start is None:
        await _unborn(git, workspace, target)
    else:
        await _checkout(git, workspace, "-f", "-B", target, "--no-track", start)
    return await _current(git, workspace)


async def _switch(git: Git, workspace: Path, branch: str, base: str) -> Checkout:
    current = await _current(git, workspace)
    if not branch or branch == current.branch:
        return current
    if await git.has_ref(f"refs/heads/{branch}", cwd=workspace):
        await _checkout(git, workspace, branch)
        return await _current(git, workspace)
    has_origin = await git.output("remote", "get-url", "origin", cwd=workspace) is not None
    if has_origin:
        fetched = await git.run("fetch", "--quiet", "origin", cwd=workspace)
        if not fetched.ok:
            log.warning("fetch failed, using known branches: %s", git_error(fetched.stderr))
        if await git.has_ref(f"refs/remotes/origin/{branch}", cwd=workspace):
            await _checkout(git, workspace, "-b", branch, "--track", f"origin/{branch}")
            return await _current(git, workspace)
    default = await _remote_default(git, workspace) if has_origin else None
    start = await _creation_start(git, workspace, branch, base, default)
    if start is None and current.sha is not None:
        start = "HEAD"
    if start is None:
        await _unborn(git, workspace, branch)
    else:
        await _checkout(git, workspace, "-b", branch, "--no-track", start)
    return await _current(git, workspace)


async def _creation_start(
    git: Git, workspace: Path, branch: str, base: str, default: str | None
) -> str | None:
    """Start point for a branch missing on the remote; None = no commit to start from."""
    if base:
        for ref in (f"refs/remotes/origin/{base}", f"refs/heads/{base}"):
            if await git.has_ref(ref, cwd=workspace):
                log.info("branch %s not found: creating it from %s", branch, base)
                return ref
        raise WorkspaceError(f"branch '{branch}' not found (and base branch '{base}' not found)")
    if default is not None and await git.has_ref(f"refs/remotes/origin/{default}", cwd=workspace):
        log.info("branch %s not found: creating it from the default branch %s", branch, default)
        return f"refs/remotes/origin/{default}"
    return None


async def _checkout(git: Git, workspace: Path, *args: str) -> None:
    result = await git.run("checkout", "--quiet", *args, "--", cwd=workspace)
    if not result.ok:
        raise WorkspaceError(f"checkout failed: {git_error(result.stderr)}")


async def _unborn(git: Git, workspace: Path, branch: str) -> None:
    result = await git.run("symbolic-ref", "HEAD", f"refs/heads/{branch}", cwd=workspace)
    if not result.ok:
        raise WorkspaceError(f"checkout failed: {git_error(result.stderr)}")


async def _remote_default(git: Git, workspace: Path) -> str | None:
    ref = await git.output("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", cwd=workspace)
    prefix = "refs/remotes/origin/"
    return ref[len(prefix) :] if ref and ref.startswith(prefix) else None


async def _current(git: Git, workspace: Path) -> Checkout:
    branch = await git.output("symbolic-ref", "--quiet", "--short", "HEAD", cwd=workspace)
    sha = await git.output("rev-parse", "--verify", "--quiet", "HEAD^{commit}", cwd=workspace)
    return Checkout(branch or None, sha or None)


def _clone_error(stderr: str, shown_repo: str) -> str:
    text = stderr.lower()
    if any(hint in text for hint in _AUTH_HINTS):
        return f"clone failed: authentication failed or repository not found: {shown_repo}"
    if any(hint in text for hint in _NOT_FOUND_HINTS):
        return f"clone failed: repository not found: {shown_repo}"
    return f"clone failed: {git_error(stderr)}"
