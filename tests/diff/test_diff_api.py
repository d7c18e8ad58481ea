"""`GET /sessions/{id}/diff` and `/diff/files` (API §4.13) over a real git workspace."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.app_fixtures import LiveServer, LiveServerFactory
from tests.diff.helpers import clone_session, commit_all, git, make_origin
from tests.workspaces.helpers import create, files_server, session_dir

WaitFor = Any
FILES = {"README.md": "hello\n", "src/app.py": "".join(f"l{i}\n" for i in range(1, 11))}


@pytest.fixture
async def live(live_server: LiveServerFactory, tmp_path: Path) -> LiveServer:
    return await files_server(live_server, tmp_path, diff={"max_bytes": 4096})


@pytest.fixture
def origin(tmp_path: Path, git_env: object) -> Path:
    return make_origin(tmp_path / "origin", FILES, default="master", branches=("feature/a/b",))


async def session_with_workspace(
    live: LiveServer, origin: Path, wait_for_status: WaitFor
) -> tuple[str, Path]:
    sid = await create(live.api, "diffs")
    await wait_for_status(live.api, sid, "running")
    return sid, clone_session(origin, session_dir(live, sid), branch="feature/a/b")


async def test_files_and_diff_of_a_session(
    live: LiveServer, origin: Path, wait_for_status: WaitFor
) -> None:
    sid, workspace = await session_with_workspace(live, origin, wait_for_status)
    start = git(workspace, "rev-parse", "HEAD")
    (workspace / "committed.txt").write_text("c\n")
    commit_all(workspace, "agent commit")
    app = workspace / "src" / "app.py"
    app.write_text(app.read_text().replace("l5\n", "five\n"))
    (workspace / "new file é.txt").write_text("n\n")

    files = (await live.api.get(f"/sessions/{sid}/diff/files")).json()
    assert files["base"] == "last-commit"
    assert files["base_commit"] == git(workspace, "rev-parse", "HEAD")
    assert files["files"] == [
        {"path": "new file é.txt", "old_path": None, "status": "added", "additions": 1,
         "deletions": 0, "binary": False},
        {"path": "src/app.py", "old_path": None, "status": "modified", "additions": 1,
         "deletions": 1, "binary": False},
    ]  # fmt: skip
    since_start = await live.api.get(f"/sessions/{sid}/diff/files", params={"base": "start"})
    assert since_start.json()["base_commit"] == start
    assert [f["path"] for f in since_start.json()["files"]] == [
        "committed.txt", "new file é.txt", "src/app.py"
    ]
    default = (await live.api.get(f"/sessions/{sid}/diff/files",
                                  params={"base": "default-branch"})).json()
    assert default["base"] == "default-branch"
    assert default["base_commit"] == git(workspace, "merge-base", "HEAD", "origin/master")
    assert "feature_a_b.txt" in [f["path"] for f in default["files"]]
    alias = (await live.api.get(f"/sessions/{sid}/diff/files",
                                params={"base_branch": "master"})).json()
    assert alias["base"] == "branch:master" and alias["files"] == default["files"]
    both = (await live.api.get(f"/sessions/{sid}/diff/files",
                               params={"base": "start", "base_branch": "master"})).json()
    assert both["base"] == "start"

    full = (await live.api.get(f"/sessions/{sid}/diff")).json()
    assert set(full) == {"base", "base_commit", "files", "diff", "truncated"}
    assert full["files"] == files["files"] and full["truncated"] is False
    assert "-l5\n+five\n" in full["diff"] and "+++ b/new file é.txt" in full["diff"]

    one = (await live.api.get(f"/sessions/{sid}/diff", params={"path": "src/app.py"})).json()
    assert set(one) == {"path", "diff", "binary", "truncated"}
    assert one["path"] == "src/app.py" and "-l5\n+five\n" in one["diff"]
    unchanged = await live.api.get(f"/sessions/{sid}/diff", params={"path": "README.md"})
    assert unchanged.json() == {"path": "README.md", "diff": None, "binary": False,
                                "truncated": False}


async def test_the_hunks_format(live: LiveServer, origin: Path, wait_for_status: WaitFor) -> None:
    sid, workspace = await session_with_workspace(live, origin, wait_for_status)
    app = workspace / "src" / "app.py"
    app.write_text(app.read_text().replace("l5\n", "five\n"))
    (workspace / "img.bin").write_bytes(b"\x00\x01\x02" * 10)
    params = {"path": "src/app.py", "format": "hunks"}
    body = (await live.api.get(f"/sessions/{sid}/diff", params=params)).json()
    assert body["filePath"] == "src/app.py" and body["binary"] is False
    (hunk,) = body["hunks"]
    assert (hunk["oldStart"], hunk["oldCount"], hunk["newStart"], hunk["newCount"]) == (2, 7, 2, 7)
    assert hunk["lines"][2:5] == [
        {"type": "context", "content": "l4", "oldLine": 4, "newLine": 4},
        {"type": "remove", "content": "l5", "oldLine": 5},
        {"type": "add", "content": "five", "newLine": 5},
    ]
    binary = (await live.api.get(f"/sessions/{sid}/diff",
                                 params={"path": "img.bin", "format": "hunks"})).json()
    assert binary == {"filePath": "img.bin", "binary": True, "truncated": False, "hunks": []}


async def test_long_diffs_are_truncated_but_the_list_is_complete(
    live: LiveServer, origin: Path, wait_for_status: WaitFor
) -> None:
    sid, workspace = await session_with_workspace(live, origin, wait_for_status)
    for i in range(20):
        (workspace / f"f{i:02}.txt").write_text("row\n" * 50)
    body = (await live.api.get(f"/sessions/{sid}/diff")).json()
    assert body["truncated"] is True and len(body["files"]) == 20
    assert len(body["diff"].encode()) <= 4096 and body["diff"].endswith("\n")


async def test_bad_queries(live: LiveServer, origin: Path, wait_for_status: WaitFor) -> None:
    sid, workspace = await session_with_workspace(live, origin, wait_for_status)
    (workspace / "link").symlink_to(workspace.parent)
    for params in ({"base": "yesterday"}, {"format": "xml"}, {"base_branch": "a..b"},
                   {"base_branch": "-x"}):
        response = await live.api.get(f"/sessions/{sid}/diff", params=params)
        assert response.status_code == 422 and isinstance(response.json()["detail"], list)
    for path in ("../x", "/etc/passwd", "link/logs", "a\x00.txt", "\x00"):
        response = await live.api.get(f"/sessions/{sid}/diff", params={"path": path})
        assert response.status_code == 422
        assert response.json() == {"detail": f"Invalid path: {path}"}
    ok = await live.api.get(f"/sessions/{sid}/diff", params={"path": "docs/v1..v2.md"})
    assert ok.status_code == 200 and ok.json()["diff"] is None
    unknown = await live.api.get(f"/sessions/{sid}/diff/files", params={"base_branch": "nope"})
    assert unknown.status_code == 422 and unknown.json() == {"detail": "Unknown branch: nope"}


async def test_missing_sessions_workspaces_and_default_branches(
    live: LiveServer, wait_for_status: WaitFor, git_env: object
) -> None:
    nobody = str(uuid.uuid4())
    missing = await live.api.get(f"/sessions/{nobody}/diff")
    assert missing.status_code == 404 and missing.json() == {
        "detail": f"Session not found: {nobody}"
    }
    sid = await create(live.api, "local")
    await wait_for_status(live.api, sid, "running")
    no_checkout = await live.api.get(f"/sessions/{sid}/diff/files")
    assert no_checkout.status_code == 404
    assert no_checkout.json() == {"detail": f"Workspace not found for session {sid}"}
    workspace = session_dir(live, sid) / "workspace"
    workspace.mkdir(parents=True)
    git(workspace, "init", "--quiet")
    no_remote = await live.api.get(f"/sessions/{sid}/diff", params={"base": "default-branch"})
    assert no_remote.status_code == 409
    assert no_remote.json() == {
        "detail": f"Cannot determine the default branch for session {sid}"
    }
    await live.api.post(f"/sessions/{sid}/stop")
    assert (await live.api.get(f"/sessions/{sid}/diff")).status_code == 200  # kept
    await live.api.delete(f"/workspaces/{sid}")
    deleted = await live.api.get(f"/sessions/{sid}/diff")
    assert deleted.status_code == 404
    assert deleted.json() == {"detail": f"Workspace not found for session {sid}"}


async def test_a_first_clone_in_progress_is_409(
    live_server: LiveServerFactory, tmp_path: Path, wait_for_status: WaitFor
) -> None:
    live = await files_server(live_server, tmp_path, mode="never-ready")
    sid = await create(live.api)
    await wait_for_status(live.api, sid, "provisioning")
    for path in ("diff", "diff/files"):
        response = await live.api.get(f"/sessions/{sid}/{path}")
        assert response.status_code == 409
        assert response.json() == {"detail": f"Workspace for session {sid} is not ready yet"}
