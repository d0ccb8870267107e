"""The OpenAPI 3 schema: generated and validated (the CI check), served, and fuzzed with schemathesis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from antom_django.api.openapi import build_schema

OPERATIONS = {
    ("/antom/sessions/", "post"),
    ("/antom/payments/{payment_request_id}/", "get"),
    ("/antom/notify/", "post"),
}


def test_schema_is_valid_openapi_3_with_the_three_endpoints() -> None:
    schema = build_schema()
    validate_schema(schema)  # raises on any violation of the OpenAPI 3 JSON schema
    assert schema["openapi"].startswith("3.")
    found = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert found == OPERATIONS


def test_schema_is_served(client: Any) -> None:
    response = client.get("/antom/schema/")
    assert response.status_code == 200
    served = response.json()
    validate_schema(served)
    assert set(served["paths"]) == {path for path, _ in OPERATIONS}
    assert served["paths"] == build_schema()["paths"]


def test_the_session_answer_carries_what_the_client_sdks_need() -> None:
    schemas = build_schema()["components"]["schemas"]
    answer = schemas["SessionResponse"]
    needed = {"paymentSessionData", "paymentSessionExpiryTime", "environment", "locale", "paymentRequestId"}
    assert needed <= set(answer["required"])
    assert schemas["EnvironmentEnum"]["enum"] == ["sandbox", "prod"]
    assert answer["properties"]["locale"]["nullable"] is True
    responses = build_schema()["paths"]["/antom/sessions/"]["post"]["responses"]
    assert "login_required" in responses["403"]["description"]


# Loaded through the served endpoint, as a client of the API would.
fuzz = schemathesis.openapi.from_wsgi("/antom/schema/", get_wsgi_application())


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Calling the WSGI app directly would close the test's database connection at each request end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@fuzz.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_answers_match_the_schema(case: Any, db: None, keep_test_connection: None) -> None:
    case.call_and_validate(checks=CHECKS)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The same operations with data the schema forbids (a missing or non-string referenceOrderId, missing headers on
# notify/): each must be refused with a documented status, in the documented shape.
negative = schemathesis.openapi.from_wsgi("/antom/schema/", get_wsgi_application())
negative.config.generation.update(modes=[GenerationMode.NEGATIVE])


@negative.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_data_the_schema_forbids_is_refused_as_documented(case: Any, db: None, keep_test_connection: None) -> None:
    case.call_and_validate(checks=[*CHECKS, negative_data_rejection])
