"""Preparing the workspace with real git: clone, branch rules, empty repos, reuse, security."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from volundr.host.git import Git, git_env, git_error, redact
from volundr.host.procs import ChildReaper
from volundr.host.workspace import WorkspaceError, prepare

pytestmark = pytest.mark.usefixtures("git_env")


def make_git(*, allow_file: bool = True) -> Git:
    return Git(git_env(os.environ, allow_http=False, allow_file=allow_file), ChildReaper())


def is_empty_or_missing(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "session" / "workspace"


async def test_clone_checks_out_the_default_branch_whatever_its_name(
    run_git, make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo(default="trunk")
    checkout = await prepare(make_spec(repo=str(origin)), workspace, make_git())
    assert checkout.branch == "trunk"
    assert checkout.sha == run_git(origin, "rev-parse", "trunk")
    assert (workspace / "README.md").read_text() == "hello\n"


async def test_clone_checks_out_an_existing_branch_with_slashes(
    run_git, make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo()
    spec = make_spec(repo=str(origin), branch="feature/a/b")
    checkout = await prepare(spec, workspace, make_git())
    assert checkout.branch == "feature/a/b"
    assert (workspace / "feature_a_b.txt").exists()
    assert run_git(workspace, "rev-parse", "--abbrev-ref", "@{upstream}") == "origin/feature/a/b"


async def test_missing_branch_is_created_from_the_default_branch(
    run_git, make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo()
    checkout = await prepare(make_spec(repo=str(origin), branch="fix/new"), workspace, make_git())
    assert checkout.branch == "fix/new"
    assert checkout.sha == run_git(origin, "rev-parse", "master")


async def test_missing_branch_is_created_from_the_base_branch(
    run_git, make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo()
    spec = make_spec(repo=str(origin), branch="fix/new", base_branch="feature/a/b")
    checkout = await prepare(spec, workspace, make_git())
    assert checkout.branch == "fix/new"
    assert checkout.sha == run_git(origin, "rev-parse", "feature/a/b")


async def test_an_existing_branch_wins_over_the_base_branch(
    run_git, make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo(branches=("feature/a/b", "dev"))
    spec = make_spec(repo=str(origin), branch="dev", base_branch="feature/a/b")
    checkout = await prepare(spec, workspace, make_git())
    assert checkout.sha == run_git(origin, "rev-parse", "dev")


async def test_missing_branch_and_missing_base_branch_fail_naming_both(
    make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo()
    spec = make_spec(repo=str(origin), branch="nope", base_branch="also-nope")
    with pytest.raises(WorkspaceError) as caught:
        await prepare(spec, workspace, make_git())
    assert str(caught.value) == "branch 'nope' not found (and base branch 'also-nope' not found)"


async def test_empty_repo_value_makes_an_empty_repository_on_the_branch(
    run_git, make_spec, workspace: Path, git_env: dict[str, str]
) -> None:
    checkout = await prepare(make_spec(repo="", branch="main"), workspace, make_git())
    assert checkout.branch == "main" and checkout.sha is None
    assert run_git(workspace, "status", "--porcelain") == ""


async def test_nonexistent_repository_is_a_short_clone_error(
    make_spec, workspace: Path, tmp_path: Path, git_env: dict[str, str]
) -> None:
    missing = tmp_path / "no" / "such" / "repo"
    with pytest.raises(WorkspaceError) as caught:
        await prepare(make_spec(repo=str(missing)), workspace, make_git())
    assert str(caught.value) == f"clone failed: repository not found: {missing}"
    assert is_empty_or_missing(workspace)


async def test_a_scheme_in_upper_case_is_cloned_as_git_spells_it(
    run_git, make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo()
    checkout = await prepare(make_spec(repo=f"FILE://{origin}"), workspace, make_git())
    assert checkout.sha == run_git(origin, "rev-parse", "HEAD")


async def test_local_repositories_need_allow_local_repos(
    make_repo, make_spec, workspace: Path
) -> None:
    spec = make_spec(repo=str(make_repo()), allow_local_repos=False)
    with pytest.raises(WorkspaceError, match="Local repositories are not allowed"):
        await prepare(spec, workspace, make_git(allow_file=False))


async def test_reuse_keeps_uncommitted_work_and_switches_branch(
    make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo()
    await prepare(make_spec(repo=str(origin)), workspace, make_git())
    (workspace / "notes.txt").write_text("uncommitted")
    (workspace / "README.md").write_text("edited\n")
    spec = make_spec(repo=str(origin), branch="feature/a/b")
    checkout = await prepare(spec, workspace, make_git())
    assert checkout.branch == "feature/a/b"
    assert (workspace / "notes.txt").read_text() == "uncommitted"
    assert (workspace / "README.md").read_text() == "edited\n"


async def test_reuse_creates_a_missing_branch_from_the_current_work(
    make_spec, workspace: Path, git_env: dict[str, str]
) -> None:
    await prepare(make_spec(repo="", branch="main"), workspace, make_git())
    (workspace / "draft.txt").write_text("wip")
    checkout = await prepare(make_spec(repo="", branch="other"), workspace, make_git())
    assert checkout.branch == "other"
    assert (workspace / "draft.txt").read_text() == "wip"


async def test_reuse_never_overwrites_local_changes(make_repo, make_spec, workspace: Path) -> None:
    origin = make_repo(files={"README.md": "hello\n", "feature_a_b.txt": "master's\n"})
    await prepare(make_spec(repo=str(origin)), workspace, make_git())
    (workspace / "feature_a_b.txt").write_text("precious\n")
    spec = make_spec(repo=str(origin), branch="feature/a/b")
    with pytest.raises(WorkspaceError, match="checkout failed"):
        await prepare(spec, workspace, make_git())
    assert (workspace / "feature_a_b.txt").read_text() == "precious\n"


async def test_a_refused_checkout_names_the_files_git_would_overwrite(
    run_git, make_repo, make_spec, workspace: Path
) -> None:
    origin = make_repo(files={"a.txt": "a\n", "other.txt": "master's\n"}, branches=("other",))
    run_git(origin, "checkout", "--quiet", "other")
    (origin / "a.txt").write_text("a on other\n")
    run_git(origin, "commit", "--quiet", "-am", "a on other")
    run_git(origin, "checkout", "--quiet", "master")
    await prepare(make_spec(repo=str(origin)), workspace, make_git())
    (workspace / "a.txt").write_text("mine\n")
    (workspace / "other.txt").write_text("mine too\n")
    spec = make_spec(repo=str(origin), branch="other")
    expected = (
        "checkout failed: Your local changes to the following files would be overwritten "
        "by checkout: a.txt, other.txt"
    )
    with pytest.raises(WorkspaceError) as caught:  # creating it from the remote branch
        await prepare(spec, workspace, make_git())
    assert str(caught.value) == expected
    run_git(workspace, "branch", "--quiet", "--track", "other", "origin/other")
    with pytest.raises(WorkspaceError) as caught:  # switching to the local branch
        await prepare(spec, workspace, make_git())
    assert str(caught.value) == expected
    assert (workspace / "a.txt").read_text() == "mine\n"


async def test_a_non_repository_directory_is_refused(make_spec, workspace: Path) -> None:
    write(workspace / "stray", "x")
    with pytest.raises(WorkspaceError, match="not a git repository"):
        await prepare(make_spec(repo=""), workspace, make_git())


async def test_ext_transport_url_is_refused_before_git_runs(
    make_spec, workspace: Path, tmp_path: Path, git_env: dict[str, str]
) -> None:
    marker = tmp_path / "pwned"
    spec = make_spec(repo=f"ext::sh -c touch% {marker}")
    with pytest.raises(WorkspaceError, match="Unsupported repository"):
        await prepare(spec, workspace, make_git())
    assert not marker.exists()


async def test_git_itself_refuses_the_ext_transport(
    tmp_path: Path, git_env: dict[str, str]
) -> None:
    """Defence in depth: even if such a URL reached git, the protocol allow-list stops it."""
    marker = tmp_path / "pwned"
    result = await make_git().run(
        "clone", "--", f"ext::sh -c touch% {marker}", str(tmp_path / "ws"), cwd=tmp_path
    )
    assert not result.ok
    assert "not allowed" in result.stderr
    assert not marker.exists()


async def test_git_refuses_file_transport_unless_local_repos_are_allowed(
    make_repo, tmp_path: Path
) -> None:
    origin = make_repo()
    result = await make_git(allow_file=False).run(
        "clone", "--", f"file://{origin}", str(tmp_path / "ws"), cwd=tmp_path
    )
    assert not result.ok and "not allowed" in result.stderr


def test_redact_hides_credentials_in_urls() -> None:
    text = "fatal: unable to access 'https://user:tok@github.com/a/b.git/': 403"
    assert redact(text) == "fatal: unable to access 'https://***@github.com/a/b.git/': 403"
    assert redact("ssh://git:pw@host/x") == "ssh://git:***@host/x"
    assert redact("ssh://git@host/x") == "ssh://git@host/x"


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_ssh_remote_names_the_transport_error(
    make_spec, workspace: Path
) -> None:
    port = _refused_port()
    with pytest.raises(WorkspaceError) as caught:
        await prepare(make_spec(repo=f"ssh://git@127.0.0.1:{port}/x.git"), workspace, make_git())
    assert str(caught.value) == (
        "clone failed: Could not read from remote repository "
        f"(ssh: connect to host 127.0.0.1 port {port}: Connection refused)"
    )
    assert is_empty_or_missing(workspace)
    with pytest.raises(WorkspaceError) as caught:
        spec = make_spec(repo=f"ssh://git:s3cret@127.0.0.1:{port}/x.git")
        await prepare(spec, workspace, make_git())
    assert str(caught.value).startswith("clone failed: Could not read from remote repository (")
    assert "s3cret" not in str(caught.value)


def test_git_errors_are_one_bounded_line_without_advice_or_credentials() -> None:
    ssh = (
        "ssh: connect to host 127.0.0.1 port 22: Connection refused\n"
        "fatal: Could not read from remote repository.\n\n"
        "Please make sure you have the correct access rights\nand the repository exists.\n"
    )
    assert git_error(ssh) == (
        "Could not read from remote repository "
        "(ssh: connect to host 127.0.0.1 port 22: Connection refused)"
    )
    https = "fatal: unable to access 'https://me:tok@127.0.0.1:1/x.git/': Couldn't connect\n"
    assert git_error(https) == "unable to access 'https://***@127.0.0.1:1/x.git/': Couldn't connect"
    assert git_error("hint: use --force\nerror: pathspec 'x' did not match\nhint: more\n") == (
        "pathspec 'x' did not match"
    )
    assert git_error("something odd\n\n") == "something odd"
    assert git_error("") == "unknown error"
    long = git_error("fatal: " + "x" * 2000 + "\n")
    assert len(long) == 500 and long.endswith("…") and "\n" not in long


def test_git_errors_keep_the_lines_that_carry_the_message_on() -> None:
    untracked = (
        "error: The following untracked working tree files would be overwritten by merge:\n"
        + "".join(f"\tdir/f{i}.txt\n" for i in range(12))
        + "Please move or remove them before you merge.\nAborting\n"
    )
    assert git_error(untracked) == (
        "The following untracked working tree files would be overwritten by merge: "
        + ", ".join(f"dir/f{i}.txt" for i in range(10))
        + " and 2 more"
    )
    unmerged = "error: you need to resolve your current index first\na.txt: needs merge\n"
    assert git_error(unmerged) == "you need to resolve your current index first: a.txt: needs merge"
    # what follows a blank line or git's next message is not part of the first message
    assert git_error("fatal: early EOF\nfatal: index-pack failed\n") == "early EOF"
    assert git_error("error: cannot lock ref\n\nsomething else\n") == "cannot lock ref"
    secret = "error: could not fetch:\n\thttps://me:tok@example.com/x.git\n"
    assert git_error(secret) == "could not fetch: https://***@example.com/x.git"
