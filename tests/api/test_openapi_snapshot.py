"""The public surface is pinned: `app.openapi()` must equal `tests/api/openapi.json`.

An intended contract change is recorded by regenerating the snapshot:
`UPDATE_SNAPSHOTS=1 uv run pytest tests/api/test_openapi_snapshot.py`, then reviewing the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from volundr.app import create_app
from volundr.config import Settings

SNAPSHOT = Path(__file__).with_name("openapi.json")


def render(schema: object) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_openapi_matches_the_snapshot(tmp_path: Path) -> None:
    current = render(create_app(Settings(home=tmp_path)).openapi())
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot yet: run with UPDATE_SNAPSHOTS=1"
    assert current == SNAPSHOT.read_text(encoding="utf-8"), (
        "the OpenAPI schema changed; if intended, rerun with UPDATE_SNAPSHOTS=1 and review "
        "the diff of tests/api/openapi.json"
    )


def test_operation_ids_are_unique() -> None:
    schema = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    ids = [op["operationId"] for path in schema["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
