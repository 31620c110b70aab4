"""schemathesis sends generated requests to every operation in ``/openapi.json``, as an
admin with an API token, and no answer may be a 5xx.

The app under test is a second one over the shared demo ledger with its own metadata
database (SQLite, then PostgreSQL), so that the users, scopes and tokens it creates, changes
and revokes touch no other test's. Each operation gets a bounded number of examples.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from costprism.api import router as api_router
from costprism.capabilities.access import add_user, create_token
from tests.api.demo_server import DemoServer, second_app
from tests.conftest import postgres_database

pytestmark = pytest.mark.slow
EXAMPLES = 25  # per operation


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_app(
    request: pytest.FixtureRequest, demo: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """The app on a new SQLite file, then on a new PostgreSQL database (which refuses what
    SQLite lets through: NUL characters, strings past a column's length)."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'metadata.db'}"
        else:
            url = stack.enter_context(
                postgres_database(request.getfixturevalue("postgres_server_url"))
            )
        app = second_app(demo, url)
        stack.callback(app.state.services.close)
        db = app.state.services.db
        add_user(db, actor=None, username="fuzz-admin", roles=["admin"])
        _, app.state.fuzz_token = create_token(db, "fuzz-admin", actor=None, name="schemathesis")
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


@pytest.fixture(scope="module")
def admin_headers(fuzzed_app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzzed_app.state.fuzz_token}"}


# One test per API operation, listed from the router (the schema comes from a fixture, so
# schemathesis's own lazy parametrizing is not used); the next test checks that this list is
# every operation the schema holds.
OPERATIONS = sorted(
    (method, str(route.path))
    for route in iter_route_contexts(api_router.routes)
    if isinstance(route.original_route, APIRoute)
    for method in route.methods or ()
)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_operation_answers_5xx(
    api_schema: Any, admin_headers: dict[str, str], method: str, path: str
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=admin_headers, checks=[not_a_server_error])

    call()


def test_every_api_operation_is_in_the_schema(api_schema: Any) -> None:
    """The fuzzing above covers what ``/openapi.json`` lists: every ``/api/v1`` route."""
    listed = {(op.method.upper(), op.path) for op in _operations(api_schema)}
    routes = {
        (method, str(route.path))
        for route in iter_route_contexts(api_schema.app.routes)
        if isinstance(route.original_route, APIRoute) and str(route.path).startswith("/api/")
        for method in route.methods or ()
    }
    assert routes == listed == set(OPERATIONS)


def _operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def test_the_schema_file_is_served(fuzzed_app: Any) -> None:
    response = TestClient(fuzzed_app).get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
