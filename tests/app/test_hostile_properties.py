"""Generated requests over the whole OpenAPI document, on both stores: no 5xx, and
every answer matches the documented response schema.

Schemathesis draws valid and invalid requests for every operation from the
service's own document (POST /articles states the limits it enforces, so
generated articles reach the handler). Bounded: a few examples per operation,
derandomised: 26 tests, 151 s on the 2-core host at load 19 (other engineers'
suites), far less alone. A store seeded with a storyline
gives the read operations something to find.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.config import Settings
from app.db import scratch_database
from app.main import create_app
from app.state import ServiceState
from embeddings.protocol import Embedder
from tests.conftest import ADMIN_HEADERS, POSTGRES_URL, as_payload, require_postgres, shared_rows

EXAMPLES = 6
_DIGITS = re.compile(r"\s*[0-9]+\s*")


def _document() -> dict[str, Any]:
    # The document depends on the settings' limits only, not on a store: build it
    # once, without starting the service.
    return create_app(Settings(database_url="sqlite://")).openapi()


schema = schemathesis.openapi.from_dict(_document())
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
# The schema's own examples, then random draws; the exhaustive boundary ("coverage")
# phase alone would send some 200 requests per operation.
schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    postgres_problem: str | None,
) -> Iterator[TestClient]:
    """One service per store for the whole file (starting one per operation would
    cost more than the requests), holding a labelled storyline for reads to find."""
    tmp = tmp_path_factory.mktemp("properties")
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp / 'storyline.db'}"
        else:
            require_postgres(postgres_problem)
            url = stack.enter_context(scratch_database("postgresql", POSTGRES_URL, tmp))
        app = create_app(Settings(database_url=url), embedder)
        client = stack.enter_context(TestClient(app, headers=ADMIN_HEADERS))
        # Generated requests may revoke the key named "admin" (DELETE /keys/{name}):
        # they run with an admin key of their own.
        made = client.post("/keys", json={"name": "properties-admin-7f3c", "scopes": ["admin"]})
        client.headers["Authorization"] = f"Bearer {made.json()['key']}"
        rows = [as_payload(r) for r in shared_rows("seeds/idlib_sept2018.jsonl")]
        assert client.post("/articles", json=rows).status_code == 201
        state: ServiceState = client.app.state.storyline  # type: ignore[attr-defined]
        state.labeller.run()
        yield client


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_answer_matches_the_schema(
    case: schemathesis.Case, seeded: TestClient
) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    if case.path == "/changes/stream":
        _bounded_stream(kwargs)
    # Every operation is tried with the suite's key (401/403 are tested in test_auth).
    headers = {
        name: value
        for name, value in (kwargs.get("headers") or {}).items()
        if name.lower() not in ("authorization", "x-api-key")
    }
    response = seeded.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=headers,
        content=_body(kwargs),
    )
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
    if case.method == "POST" and case.path == "/articles" and response.status_code < 300:
        # Whatever was accepted reads back, with its metadata, on this store.
        for article in response.json()["articles"]:
            stored = seeded.get(f"/articles/{article['id']}")
            assert stored.status_code == 200, stored.text


def _body(kwargs: dict[str, Any]) -> bytes | None:
    """The request body as bytes, from the requests-style arguments schemathesis builds."""
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data")
    if data is None:
        return None
    return data if isinstance(data, bytes) else str(data).encode()


def _bounded_stream(kwargs: dict[str, Any]) -> None:
    """A change stream ends after one event, resumed from the start (the store has changes).

    A valid resume point past the latest change would wait for ever; invalid ones
    (refused before the stream starts) are kept as generated.
    """
    params = dict(kwargs.get("params") or {})
    params.update(max_events=1, since=0)
    # A valid storyline filter may name a storyline with no change: it would wait too.
    if _DIGITS.fullmatch(str(params.get("storyline_id", ""))):
        del params["storyline_id"]
    kwargs["params"] = params
    headers = dict(kwargs.get("headers") or {})
    for name in [h for h in headers if h.lower() == "last-event-id"]:
        if _DIGITS.fullmatch(str(headers[name])):
            headers[name] = "0"
    kwargs["headers"] = headers
