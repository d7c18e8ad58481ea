"""The CLI as a client: which server it talks to (`--server`, `$VOLUNDR_SERVER`)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

from typer.testing import CliRunner

from tests.e2e.conftest import ServerProcess
from volundr.cli import app


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_server_comes_from_the_option_then_the_environment(
    server_factory: Callable[[dict[str, object]], ServerProcess],
) -> None:
    server = server_factory({"runtime": {"kind": "fake"}})
    runner = CliRunner()
    created = runner.invoke(
        app, ["sessions", "create", "from-env", "--json"], env={"VOLUNDR_SERVER": server.url}
    )
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["name"] == "from-env"
    listed = runner.invoke(
        app, ["sessions", "list", "--json", "--server", server.url + "/"],
        env={"VOLUNDR_SERVER": _closed_url()},
    )  # fmt: skip
    assert listed.exit_code == 0, listed.output
    assert [s["name"] for s in json.loads(listed.output)] == ["from-env"]
    for with_path in (server.url + "/api/v1/volundr", server.url + "/api/v1/volundr/"):
        by_api_url = runner.invoke(app, ["sessions", "list", "--json", "--server", with_path])
        assert by_api_url.exit_code == 0, by_api_url.output
        assert [s["name"] for s in json.loads(by_api_url.output)] == ["from-env"]
    closed = _closed_url()
    unreachable = runner.invoke(app, ["sessions", "list"], env={"VOLUNDR_SERVER": closed})
    assert unreachable.exit_code == 1
    assert f"error: cannot reach {closed}" in unreachable.output


def test_malformed_options_are_usage_errors_before_any_request() -> None:
    runner = CliRunner(env={"VOLUNDR_SERVER": _closed_url()})
    for pair in ("NOVALUE", "=value"):
        bad_env = runner.invoke(app, ["sessions", "create", "x", "--env", "A=1", "--env", pair])
        assert bad_env.exit_code == 2
        assert f"expected KEY=VALUE, got '{pair}'" in bad_env.output
        assert "cannot reach" not in bad_env.output
    both = runner.invoke(app, ["sessions", "diff", "some-id", "--files", "--path", "a.txt"])
    assert both.exit_code == 2
    assert "cannot be combined with --files" in both.output


def test_the_session_list_shows_whole_ids_that_other_commands_take(
    server_factory: Callable[[dict[str, object]], ServerProcess],
) -> None:
    server = server_factory({"runtime": {"kind": "fake"}})
    runner = CliRunner()
    env = {"VOLUNDR_SERVER": server.url, "COLUMNS": "80"}
    created = runner.invoke(app, ["sessions", "create", "listed", "--json"], env=env)
    sid = json.loads(created.output)["id"]
    listed = runner.invoke(app, ["sessions", "list"], env=env)
    assert listed.exit_code == 0 and sid in listed.output, listed.output
    shown = runner.invoke(app, ["sessions", "show", sid], env=env)
    assert shown.exit_code == 0 and "listed" in shown.output
