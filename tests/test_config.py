"""Settings: where the server says it is (`public_url`, `callback_url`), and how `volundr
serve` reports a configuration it cannot use."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volundr.cli import app
from volundr.config import Settings, load_settings


def test_unconfigured_urls_follow_the_served_port() -> None:
    served = Settings().served_at("127.0.0.1", 18080)
    assert (served.public_url, served.callback_url) == (
        "http://127.0.0.1:18080", "http://127.0.0.1:18080",
    )  # fmt: skip
    wildcard = Settings().served_at("0.0.0.0", 9000)
    assert wildcard.public_url == wildcard.callback_url == "http://127.0.0.1:9000"
    assert Settings().served_at("::1", 9000).public_url == "http://[::1]:9000"


def test_configured_urls_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text("public_url: https://volundr.example.com\n")
    from_file = load_settings(config).served_at("127.0.0.1", 18080)
    assert from_file.public_url == "https://volundr.example.com"
    assert from_file.callback_url == "http://127.0.0.1:18080", "hosts call back locally"
    monkeypatch.setenv("VOLUNDR_PUBLIC_URL", "http://127.0.0.1:8080")
    monkeypatch.setenv("VOLUNDR_CALLBACK_URL", "http://127.0.0.1:7000")
    from_env = load_settings().served_at("127.0.0.1", 18080)
    assert (from_env.public_url, from_env.callback_url) == (
        "http://127.0.0.1:8080", "http://127.0.0.1:7000",
    )  # fmt: skip


def test_an_identity_mode_that_is_not_available_is_refused_not_served_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOLUNDR_AUTH__MODE", "tokens")
    with pytest.raises(ValueError, match=r"auth\.mode") as raised:
        load_settings()
    assert "'none' or 'headers'" in str(raised.value)


def serve(config: Path | None = None) -> tuple[int, str]:
    """`volundr serve` as a user runs it: its exit code and what it printed on stderr.

    Only ever called with a configuration that should be refused; were it accepted, the
    server would fail to listen on a port already taken instead of serving forever."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        args = ["serve", "--port", port] + (["--config", str(config)] if config else [])
        result = CliRunner().invoke(app, args)
    return result.exit_code, result.stderr


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOLUNDR_CONFIG", raising=False)
    monkeypatch.setenv("VOLUNDR_HOME", str(tmp_path / "home"))


def test_malformed_yaml_is_one_line_naming_the_file_and_the_place(tmp_path: Path) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text("runtime: {kind: fake}\nagents: [unclosed\n")
    assert serve(config) == (2, f"error: invalid YAML in {config}: line 3, column 1: "
                                "expected ',' or ']', but got '<stream end>'\n")  # fmt: skip
    config.write_text("- runtime\n")
    assert serve(config) == (
        2, f"error: {config} must be a mapping of settings (`key: value` lines), not a list\n"
    )  # fmt: skip


def test_a_config_file_that_cannot_be_read_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.yaml"
    assert serve(missing) == (2, f"error: configuration file not found: {missing}\n")
    monkeypatch.setenv("VOLUNDR_CONFIG", str(missing))
    assert serve() == (
        2, f"error: configuration file not found: {missing} (from $VOLUNDR_CONFIG)\n"
    )  # fmt: skip
    assert serve(tmp_path) == (2, f"error: configuration file {tmp_path} is a directory\n")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"home: \xff\xfe\n")
    assert serve(binary) == (2, f"error: configuration file {binary} is not UTF-8 text\n")


def test_an_unreadable_config_file_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text("runtime: {kind: fake}\n")
    config.chmod(0)
    if os.geteuid() == 0:  # root reads any file: have the read fail as it would for a user
        real_read_text = Path.read_text

        def denied(path: Path, *args: object, **kwargs: object) -> str:
            if path == config:
                raise PermissionError(13, "Permission denied", str(path))
            return real_read_text(path, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "read_text", denied)
    assert serve(config) == (
        2, f"error: cannot read configuration file {config}: permission denied\n"
    )  # fmt: skip


def test_a_home_that_is_a_file_is_named_with_its_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    regular = tmp_path / "regular"
    regular.write_text("")
    monkeypatch.setenv("VOLUNDR_HOME", str(regular))
    assert serve() == (2, f"error: invalid configuration: home: {regular} exists and is not "
                          "a directory (from $VOLUNDR_HOME)\n")  # fmt: skip
    below = regular / "below"
    monkeypatch.setenv("VOLUNDR_HOME", str(below))
    assert serve() == (
        2, f"error: invalid configuration: home: {below} cannot be created: {regular} is not "
           "a directory (from $VOLUNDR_HOME)\n",
    )  # fmt: skip


def test_invalid_values_are_listed_by_key_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text("runtime: {kind: nope, stop_grace_s: -1}\n"
                      "models: [{id: m, name: M, provider: cloud, tier: frontier, color: red}]\n")
    assert serve(config) == (2, f"error: invalid configuration in {config}:\n"
                                "  runtime.kind: Input should be 'local' or 'fake'\n"
                                "  runtime.stop_grace_s: Input should be greater than or equal "
                                "to 0\n"
                                "  models[0].color: String should match pattern "
                                "'^#[0-9A-Fa-f]{6}$'\n")  # fmt: skip
    monkeypatch.setenv("VOLUNDR_DATABASE_URL", "postgresql://volundr:secret@db/volundr")
    code, err = serve()
    assert (code, err) == (2, "error: invalid configuration: database_url: 'postgresql' is not "
                              "an async driver (use sqlite+aiosqlite:// or postgresql+asyncpg://) "
                              "(from $VOLUNDR_DATABASE_URL)\n")  # fmt: skip
    assert "secret" not in err


def test_unknown_keys_in_the_file_are_refused_by_name(tmp_path: Path) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text("runtim: {kind: fake}\n")
    assert serve(config) == (2, f"error: unknown configuration key 'runtim' in {config} "
                                "(did you mean 'runtime'?)\n")  # fmt: skip
    config.write_text("agents:\n  defualt: x\n  templates: {mine: {kind: command, argv: [x]}}\n"
                      "sse: {heartbeat: 5}\n")
    assert serve(config) == (
        2, f"error: unknown configuration keys in {config}:\n"
           "  'agents.defualt' (did you mean 'agents.default'?)\n"
           "  'agents.templates.mine.argv'\n"
           "  'sse.heartbeat' (did you mean 'sse.heartbeat_s'?)\n",
    )  # fmt: skip


def test_local_mounts_are_refused_as_not_supported_yet(tmp_path: Path) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text("local_mounts: {enabled: true, roots: [/srv]}\n")
    assert serve(config) == (2, f"error: configuration key 'local_mounts' in {config}: "
                                "local mounts are not supported yet\n")  # fmt: skip


def test_unknown_environment_variables_stay_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("VOLUNDR_SERVER", "VOLUNDR_SESSION_ID", "VOLUNDR_HOST_FD",
                 "VOLUNDR_INITIAL_PROMPT", "VOLUNDR_RUNTIME__NOT_A_SETTING"):  # fmt: skip
        monkeypatch.setenv(name, "http://127.0.0.1:1")
    config = tmp_path / "volundr.yaml"
    config.write_text("runtime:\n  kind: fake\n")
    monkeypatch.setenv("VOLUNDR_RUNTIME__STOP_GRACE_S", "3")
    settings = load_settings(config)
    assert (settings.runtime.kind, settings.runtime.stop_grace_s) == ("fake", 3)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("agents: {default: x, templates: {x: {kind: command, command: []}}}",
         "agents.templates.x: command must name the program to run"),
        ("runtime: {stop_grace_s: 60, stop_timeout_s: 5}",
         "runtime: stop_grace_s (60) must be shorter than stop_timeout_s (5)"),
        ("public_url: not a url", "public_url: must be an http:// or https:// URL with a host"),
        ("callback_url: 'ftp://x/'", "callback_url: must be an http:// or https:// URL"),
    ],
)
def test_settings_that_could_never_work_are_refused_at_start(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    config = tmp_path / "volundr.yaml"
    config.write_text(yaml_text + "\n")
    code, stderr = serve(config)
    assert code == 2 and message in stderr, stderr


def test_turn_based_agents_default_to_their_cli() -> None:
    settings = Settings(agents={"templates": {"mine": {"kind": "codex"}}})
    assert settings.agents.templates["mine"].command == ["codex"]


def test_an_unreachable_database_server_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-server-here"
    url = f"postgresql+asyncpg://volundr:s3cret@/volundr?host={missing}"
    monkeypatch.setenv("VOLUNDR_DATABASE_URL", url)
    code, stderr = serve()
    assert code == 2 and stderr.startswith("error: cannot reach the database (database_url): ")
    assert "s3cret" not in stderr and len(stderr.splitlines()) == 1, stderr
