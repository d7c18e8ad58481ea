"""Diffs of real git workspaces (API §4.13), read without touching the workspace."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.diff.helpers import clone_session, commit_all, git, index_state, make_origin
from volundr.domain.diffs import (
    BaseKind,
    CheckoutMissing,
    DiffBase,
    FileChange,
    InvalidPath,
    NoDefaultBranch,
    UnknownBranch,
)
from volundr.gitdiff import WorkspaceDiffer
from volundr.host.startpoint import read_start, record_start

RepoFactory = Callable[..., Path]
LAST = DiffBase()
START = DiffBase(BaseKind.START)
DEFAULT = DiffBase(BaseKind.DEFAULT_BRANCH)
FILES = {
    "README.md": "hello\n",
    "src/app.py": "".join(f"line {i}\n" for i in range(1, 21)),
    "old name.txt": "".join(f"keep {i}\n" for i in range(30)),
    "gone.txt": "one\ntwo\n",
    ".gitignore": "*.log\nbuild/\n",
}


@pytest.fixture
def session_dir(tmp_path: Path) -> Path:
    return tmp_path / "sessions" / "s1"


@pytest.fixture
def workspace(tmp_path: Path, session_dir: Path, git_env: object) -> Path:
    origin = make_origin(tmp_path / "origin", FILES, branches=("feature/a/b",))
    return clone_session(origin, session_dir)


def differ(session_dir: Path) -> WorkspaceDiffer:
    return WorkspaceDiffer(
        session_dir / "workspace", session_id="s1", start=read_start(session_dir)
    )


def by_path(files: list[FileChange]) -> dict[str, FileChange]:
    return {f.path: f for f in files}


async def test_untracked_staged_unstaged_deleted_and_ignored_files(
    workspace: Path, session_dir: Path
) -> None:
    (workspace / "new.txt").write_text("a\nb\n")
    (workspace / "debug.log").write_text("ignored\n")
    (workspace / "build").mkdir()
    (workspace / "build" / "out.txt").write_text("ignored\n")
    (workspace / "staged.txt").write_text("staged\n")
    git(workspace, "add", "staged.txt")
    app = workspace / "src" / "app.py"
    app.write_text(app.read_text().replace("line 3\n", "line three\n"))
    git(workspace, "add", "src/app.py")
    app.write_text(app.read_text() + "line 21\n")  # unstaged on top of staged
    (workspace / "gone.txt").unlink()

    summary = await differ(session_dir).files(LAST)

    assert summary.base == "last-commit"
    assert summary.base_commit == git(workspace, "rev-parse", "HEAD")
    assert [f.path for f in summary.files] == sorted(["gone.txt", "new.txt", "src/app.py",
                                                      "staged.txt"])
    files = by_path(summary.files)
    assert files["new.txt"] == FileChange("new.txt", "added", 2, 0)
    assert files["staged.txt"] == FileChange("staged.txt", "added", 1, 0)
    assert files["src/app.py"] == FileChange("src/app.py", "modified", 2, 1)
    assert files["gone.txt"] == FileChange("gone.txt", "deleted", 0, 2)


async def test_reading_never_modifies_the_workspace_its_index_or_its_objects(
    workspace: Path, session_dir: Path
) -> None:
    (workspace / "new.txt").write_text("untracked\n")
    (workspace / "README.md").write_text("changed\n")
    (workspace / "bin.dat").write_bytes(bytes(range(256)))
    before = index_state(workspace)
    d = differ(session_dir)
    await d.files(LAST)
    await d.full(START, 1 << 20)
    await d.file(LAST, "new.txt", 1 << 20)
    assert index_state(workspace) == before
    assert not any(p.name.startswith("index") and p.name != "index"
                   for p in (workspace / ".git").iterdir())


async def test_renames_are_detected_staged_or_not(workspace: Path, session_dir: Path) -> None:
    git(workspace, "mv", "old name.txt", "new name.txt")
    os.rename(workspace / "README.md", workspace / "READ-ME.md")  # plain mv: untracked + deleted
    summary = await differ(session_dir).files(LAST)
    files = by_path(summary.files)
    assert files["new name.txt"] == FileChange("new name.txt", "renamed", 0, 0,
                                               old_path="old name.txt")
    assert files["READ-ME.md"].status == "renamed"
    assert files["READ-ME.md"].old_path == "README.md"
    one = await differ(session_dir).file(LAST, "new name.txt", 1 << 20)
    assert one.text is not None and "rename from old name.txt" in one.text
    assert "\n+" not in one.text and "\n-" not in one.text.replace("\n---", "")
    by_old = await differ(session_dir).file(LAST, "old name.txt", 1 << 20)
    assert by_old.text == one.text


async def test_binary_files_have_no_counts_and_a_marker(workspace: Path, session_dir: Path) -> None:
    (workspace / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)))
    d = differ(session_dir)
    files = by_path((await d.files(LAST)).files)
    assert files["logo.png"] == FileChange("logo.png", "added", 0, 0, binary=True)
    one = await d.file(LAST, "logo.png", 1 << 20)
    assert one.binary is True
    assert one.text is not None and "Binary files /dev/null and b/logo.png differ" in one.text
    full = await d.full(LAST, 1 << 20)
    assert "Binary files" in full.text


async def test_names_with_spaces_and_unicode(workspace: Path, session_dir: Path) -> None:
    name = "docs/notes d'été ✓.md"
    (workspace / "docs").mkdir()
    (workspace / name).write_text("bonjour\n")
    d = differ(session_dir)
    files = by_path((await d.files(LAST)).files)
    assert files[name] == FileChange(name, "added", 1, 0)
    one = await d.file(LAST, name, 1 << 20)
    assert one.path == name
    assert one.text is not None and f"+++ b/{name}" in one.text and "+bonjour" in one.text
    assert name in (await d.full(LAST, 1 << 20)).text


async def test_the_file_list_and_the_per_file_diffs_agree(
    workspace: Path, session_dir: Path
) -> None:
    (workspace / "src" / "app.py").write_text("new start\n" + "line 5\n" * 3)
    (workspace / "extra.txt").write_text("x\ny\nz\n")
    (workspace / "gone.txt").unlink()
    git(workspace, "mv", "old name.txt", "renamed.txt")
    renamed = workspace / "renamed.txt"
    renamed.write_text(renamed.read_text() + "appended\n")
    d = differ(session_dir)
    for base in (LAST, START):
        summary = await d.files(base)
        assert summary.files
        for change in summary.files:
            one = await d.file(base, change.path, 1 << 20)
            assert one.text is not None
            body = [ln for ln in one.text.splitlines() if not ln.startswith(("+++", "---"))]
            assert sum(ln.startswith("+") for ln in body) == change.additions, change
            assert sum(ln.startswith("-") for ln in body) == change.deletions, change


async def test_commits_of_the_agent_show_with_base_start_only(
    workspace: Path, session_dir: Path
) -> None:
    start = git(workspace, "rev-parse", "HEAD")
    (workspace / "feature.py").write_text("print('hi')\n")
    commit_all(workspace, "agent: add feature")
    (workspace / "README.md").write_text("hello\nmore\n")
    d = differ(session_dir)
    since_start = await d.files(START)
    assert since_start.base == "start" and since_start.base_commit == start
    assert [f.path for f in since_start.files] == ["README.md", "feature.py"]
    last = await d.files(LAST)
    assert [f.path for f in last.files] == ["README.md"]
    full = await d.full(START, 1 << 20)
    assert "+print('hi')" in full.text


async def test_the_start_point_is_kept_on_the_same_branch_and_rerecorded_on_another(
    workspace: Path, session_dir: Path
) -> None:
    first = read_start(session_dir)
    assert first is not None and first.branch == "master"
    (workspace / "a.txt").write_text("a\n")
    later = commit_all(workspace, "a")
    assert record_start(session_dir, "master", later) == first  # a restart
    git(workspace, "checkout", "--quiet", "-b", "other")
    switched = record_start(session_dir, "other", later)
    assert switched.branch == "other" and switched.sha == later
    assert read_start(session_dir) == switched


async def test_default_branch_is_found_whatever_its_name(
    make_repo: RepoFactory, tmp_path: Path
) -> None:
    for default in ("master", "trunk"):
        session_dir = tmp_path / f"s-{default}"
        origin = make_repo(f"origin-{default}", default=default, branches=("feature/a/b",))
        workspace = clone_session(origin, session_dir, branch="feature/a/b")
        (workspace / "mine.txt").write_text("mine\n")
        summary = await differ(session_dir).files(DEFAULT)
        base = git(workspace, "merge-base", "HEAD", f"origin/{default}")
        assert summary.base == "default-branch" and summary.base_commit == base
        assert [f.path for f in summary.files] == ["feature_a_b.txt", "mine.txt"]


async def test_a_branch_named_with_slashes_as_base(
    make_repo: RepoFactory, session_dir: Path
) -> None:
    workspace = clone_session(make_repo(), session_dir)
    (workspace / "x.txt").write_text("x\n")
    summary = await differ(session_dir).files(DiffBase(BaseKind.BRANCH, "feature/a/b"))
    assert summary.base == "branch:feature/a/b"
    assert summary.base_commit == git(workspace, "rev-parse", "HEAD")  # the merge-base
    with pytest.raises(UnknownBranch, match="Unknown branch: nope/x"):
        await differ(session_dir).files(DiffBase(BaseKind.BRANCH, "nope/x"))


async def test_without_a_remote_the_default_branch_is_unknown(
    tmp_path: Path, git_env: object
) -> None:
    session_dir = tmp_path / "s"
    workspace = session_dir / "workspace"
    workspace.mkdir(parents=True)
    git(workspace, "init", "--quiet", "--initial-branch=main")
    (workspace / "a.txt").write_text("a\n")
    with pytest.raises(NoDefaultBranch, match="Cannot determine the default branch for session s1"):
        await differ(session_dir).files(DEFAULT)
    summary = await differ(session_dir).files(LAST)  # unborn HEAD: against the empty tree
    assert summary.base_commit is None
    assert summary.files == [FileChange("a.txt", "added", 1, 0)]


async def test_paths_leaving_the_workspace_are_rejected(workspace: Path, session_dir: Path) -> None:
    outside = session_dir.parent / "secret.txt"
    outside.write_text("secret\n")
    (workspace / "link").symlink_to(session_dir.parent)
    (workspace / "docs").mkdir()
    (workspace / "docs" / "v1..v2.md").write_text("fine\n")
    d = differ(session_dir)
    for bad in ("../secret.txt", "..", "/etc/passwd", "src/../../secret.txt", "link/secret.txt",
                "link", ""):
        with pytest.raises(InvalidPath) as caught:
            await d.file(LAST, bad, 1 << 20)
        assert caught.value.message == f"Invalid path: {bad}"
    ok = await d.file(LAST, "docs/v1..v2.md", 1 << 20)
    assert ok.text is not None and "+fine" in ok.text
    assert (await d.file(LAST, "src/./app.py", 1 << 20)).text is None  # unchanged


async def test_long_diffs_are_cut_at_a_line_boundary(workspace: Path, session_dir: Path) -> None:
    for i in range(50):
        (workspace / f"f{i:02}.txt").write_text("".join(f"row {j}\n" for j in range(100)))
    full = await differ(session_dir).full(LAST, 10_000)
    assert full.truncated is True
    assert len(full.text.encode()) <= 10_000 and full.text.endswith("\n")
    assert len(full.summary.files) == 50  # the list is always complete
    whole = await differ(session_dir).full(LAST, 1 << 22)
    assert whole.truncated is False and whole.text.startswith(full.text)


async def test_a_directory_without_a_repository_has_no_checkout(tmp_path: Path) -> None:
    (tmp_path / "s" / "workspace").mkdir(parents=True)
    with pytest.raises(CheckoutMissing):
        await differ(tmp_path / "s").files(LAST)


async def test_filter_drivers_the_workspace_configures_never_run(
    workspace: Path, session_dir: Path, tmp_path: Path
) -> None:
    """The agent writes the workspace's git config: reading a diff must not run its programs."""
    ran = tmp_path / "ran"
    git(workspace, "config", "filter.evil.clean", f"sh -c 'echo clean >> {ran}; cat'")
    git(workspace, "config", "filter.evil.smudge", f"sh -c 'echo smudge >> {ran}; cat'")
    git(workspace, "config", "filter.evil.process", f"sh -c 'echo process >> {ran}; exit 1'")
    git(workspace, "config", "filter.evil.required", "true")
    git(workspace, "config", "filter.a.b.clean", f"sh -c 'echo dotted >> {ran}; cat'")
    (workspace / ".gitattributes").write_text("* filter=evil\n*.py filter=a.b\n")
    (workspace / "README.md").write_text("hello\nworld\n")
    (workspace / "new.txt").write_text("fresh\n")
    (workspace / "src" / "extra.py").write_text("x = 1\n")
    summary = await differ(session_dir).files(LAST)
    full = await differ(session_dir).full(LAST, max_bytes=1 << 20)
    one = await differ(session_dir).file(LAST, "new.txt", max_bytes=1 << 20)
    assert not ran.exists(), ran.read_text()
    files = by_path(summary.files)
    assert (files["README.md"].additions, files["new.txt"].status) == (1, "added")
    assert "src/extra.py" in files and "+world" in full.text and one.text and "+fresh" in one.text


async def test_a_same_size_edit_in_the_second_of_the_last_commit_is_seen(
    workspace: Path, session_dir: Path
) -> None:
    """Git's "racily clean" case: the file's stat data still matches the index entry, and
    only the index file's own mtime (no later than the entry's) tells git to look again."""
    same = workspace / "same.txt"
    past = (int(os.stat(workspace).st_mtime) - 60) * 1_000_000_000
    same.write_text("AAAA\n")
    os.utime(same, ns=(past, past))
    git(workspace, "add", "same.txt")
    commit_all(workspace, "add same")
    os.utime(workspace / ".git" / "index", ns=(past, past))
    same.write_text("BBBB\n")
    os.utime(same, ns=(past, past))  # same size, same mtime: the stat data matches
    files = by_path((await differ(session_dir).files(LAST)).files)
    assert "same.txt" in files and (files["same.txt"].additions, files["same.txt"].deletions) == (
        1, 1,
    )  # fmt: skip
    one = await differ(session_dir).file(LAST, "same.txt", max_bytes=1 << 20)
    assert one.text is not None and "+BBBB" in one.text
