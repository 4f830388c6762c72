"""Property-based checks of the whole API against its own OpenAPI schema (schemathesis):
bounded examples per operation, with a valid read-write key; no 5xx, every response as
documented (status, content type, headers, body shape), schema-violating input refused.

Left out: `positive_data_acceptance`, because some valid-looking requests are refused on
purpose by rules a schema cannot state (a history span longer than the plan allows, `from`
after `to`)."""
import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from apps.api_keys.services import create_key
from oracle_platform.wsgi import application
from tests.factories import AssetFactory, PairFactory, priced

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """As Django's test client does: a request must not close the connection holding the
    test's transaction (the WSGI app is called directly here)."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def key(tenants):
    priced(PairFactory(base=AssetFactory(symbol="ETH")), "chainlink", "3400")
    return create_key(tenants["org"], name="fuzz", scope="read_write")[1]


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_schema(case, key):
    # identity: the test transport does not undo gzip, as HTTP clients do
    case.call_and_validate(app=application, excluded_checks=[positive_data_acceptance],
                           headers={"Authorization": f"Bearer {key}",
                                    "Accept-Encoding": "identity"})
