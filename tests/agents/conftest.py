"""Agent tests reuse the end-to-end fixtures (`git_repo`, `server_factory`: a real
`volundr serve` process, see `tests/e2e/conftest.py`)."""

from tests.e2e.conftest import git_repo, server_factory  # noqa: F401 - fixtures
