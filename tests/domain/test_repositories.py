"""The repository rule (API §4.2.3): format (schema) and server policy (string 422s)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from volundr.domain.errors import InvalidRequest
from volundr.domain.policy import RepoPolicy, check_repo_policy
from volundr.domain.validation import RepoKind, repository

CREDENTIALS = "Repository URL must not contain credentials; use credential_names"


@pytest.mark.parametrize(
    ("value", "kind", "host"),
    [
        ("", RepoKind.EMPTY, ""),
        ("https://github.com/acme/backend.git", RepoKind.HTTPS, "github.com"),
        ("https://git.example.com:8443/acme/backend", RepoKind.HTTPS, "git.example.com"),
        ("HTTPS://github.com/acme/x", RepoKind.HTTPS, "github.com"),
        ("https://[::1]:8443/x.git", RepoKind.HTTPS, "::1"),
        ("ssh://git@github.com/acme/backend.git", RepoKind.SSH, "github.com"),
        ("ssh://github.com:2222/acme/backend.git", RepoKind.SSH, "github.com"),
        ("git@github.com:acme/backend.git", RepoKind.SCP, "github.com"),
        ("deploy@10.0.0.5:/srv/repos/x.git", RepoKind.SCP, "10.0.0.5"),
        ("github.com/acme/backend", RepoKind.BARE_HOST, "github.com"),
        ("gitlab.example.org/group/sub/project.git", RepoKind.BARE_HOST, "gitlab.example.org"),
        ("http://127.0.0.1:9000/fixture.git", RepoKind.HTTP, "127.0.0.1"),
        ("/srv/git/tools", RepoKind.LOCAL, ""),
        ("file:///srv/git/tools", RepoKind.LOCAL, ""),
    ],
)
def test_accepted_forms_are_classified(value: str, kind: RepoKind, host: str) -> None:
    ref = repository(value)
    assert (ref.kind, ref.host, ref.value) == (kind, host, value)


def test_local_forms_carry_their_path() -> None:
    assert repository("/srv/git/tools").local_path == "/srv/git/tools"
    assert repository("file:///srv/git/tools").local_path == "/srv/git/tools"


@pytest.mark.parametrize(
    "value",
    [
        "ext::sh -c x",
        "ext::foo",
        "ext::sh%20-c%20touch%20pwned",
        "fd::17",
        "fd::17/foo",
        "git://h/x",
        "git://github.com/acme/backend.git",
        "ftp://h/x",
        "rsync://h/x",
        "svn+ssh://h/x",
        "--upload-pack=x",
        "-b",
        "-",
        "-oProxyCommand=x@h:p",
        "relative/path",
        "./repo",
        "../repo",
        "repo",
        "~/repo",
        "C:\\repos\\x",
        "file://host/x",
        "file:relative",
        "https://",
        "https:///x",
        "https://github.com",
        "https://github.com/",
        "https://h:notaport/x",
        "https://github.com/acme/x y",
        " https://github.com/acme/x",
        "https://github.com/acme/x\n",
        "https://github.com/acme/x\r",
        "https://github.com/a\tb",
        "https://github.com/a\x00b",
        "https://github.com/a\x7fb",
        "https://github.com/a\x85b",
        "https://github.com/a\u00a0b",
        "https://github.com/a\u2028b",
        "git@-oProxyCommand:x",
    ],
)
def test_unsupported_forms_are_rejected_with_a_reason(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        repository(value)
    assert str(caught.value).startswith("Unsupported repository: ")


@pytest.mark.parametrize(
    "value",
    [
        "https://user:pw@github.com/acme/x.git",
        "https://token@github.com/acme/x.git",
        "https://user:@github.com/acme/x.git",
        "http://user:pw@127.0.0.1:9000/x.git",
    ],
)
def test_https_with_credentials_is_rejected(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        repository(value)
    assert str(caught.value) == CREDENTIALS


# ------------------------------------------------------------------ server policy

STRICT = RepoPolicy(allow_local_repos=False)


def test_plain_http_needs_an_allowed_host() -> None:
    ref = repository("http://127.0.0.1:9000/fixture.git")
    with pytest.raises(InvalidRequest) as caught:
        check_repo_policy(ref, STRICT)
    assert caught.value.message == "Plain http repositories are not allowed for host 127.0.0.1"
    check_repo_policy(ref, RepoPolicy(False, allowed_http_hosts=("127.0.0.1",)))


def test_plain_http_host_match_is_exact_and_case_insensitive() -> None:
    policy = RepoPolicy(False, allowed_http_hosts=("Git.Internal",))
    check_repo_policy(repository("http://git.internal/x.git"), policy)
    with pytest.raises(InvalidRequest, match=r"for host git\.internal\.evil$"):
        check_repo_policy(repository("http://git.internal.evil/x.git"), policy)


@pytest.mark.parametrize(
    "value",
    [
        "https://github.com/acme/x.git",
        "ssh://git@github.com/acme/x.git",
        "git@github.com:acme/x.git",
        "github.com/acme/x",
        "",
    ],
)
def test_remote_forms_need_no_policy(value: str) -> None:
    check_repo_policy(repository(value), STRICT)


@pytest.mark.parametrize("value", ["/srv/git/tools", "file:///srv/git/tools"])
def test_local_repositories_need_the_server_to_allow_them(value: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_repo_policy(repository(value), STRICT)
    assert caught.value.message == "Local repositories are not allowed on this server"
    check_repo_policy(repository(value), RepoPolicy(allow_local_repos=True))


def test_local_repositories_must_resolve_inside_a_root(tmp_path: Path) -> None:
    root = tmp_path / "repos"
    (root / "tools").mkdir(parents=True)
    sibling = tmp_path / "repos-evil"
    sibling.mkdir()
    link = root / "escape"
    os.symlink(tmp_path, link)
    policy = RepoPolicy(allow_local_repos=True, local_repo_roots=(str(root) + "/",))

    check_repo_policy(repository(str(root / "tools")), policy)
    check_repo_policy(repository(str(root)), policy)
    check_repo_policy(repository(f"file://{root}/tools"), policy)
    for outside in [str(sibling), str(root / ".." / "repos-evil"), str(link / "x"), "/etc"]:
        with pytest.raises(InvalidRequest) as caught:
            check_repo_policy(repository(outside), policy)
        assert caught.value.message == "Local repository must be inside an allowed root"


def test_an_empty_root_list_means_anywhere() -> None:
    check_repo_policy(repository("/anywhere/at/all"), RepoPolicy(allow_local_repos=True))
