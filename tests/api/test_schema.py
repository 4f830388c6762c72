"""The OpenAPI schema: generates without warnings, documents every operation with a
description and an example, and its documentation pages are served offline."""
import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_schema_generates_and_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn",
                 "--file", str(tmp_path / "schema.yml"))


def test_every_operation_has_a_description_and_an_example(schema):
    missing = []
    for path, method, operation in operations(schema):
        if not operation.get("description", "").strip():
            missing.append(f"{method.upper()} {path}: description")
        success = [r for code, r in operation["responses"].items()
                   if code.startswith("2") and code != "204"]  # 204: no body to show
        examples = [r.get("content", {}).get("application/json", {}).get("examples")
                    for r in success]
        if success and not any(examples):
            missing.append(f"{method.upper()} {path}: example")
    assert not missing, missing


def test_every_operation_documents_its_error_body(schema):
    for path, method, operation in operations(schema):
        errors = [code for code in operation["responses"] if code[0] in "45"]
        assert "401" in errors, f"{method} {path}"
        assert "429" in errors, f"{method} {path}"


def test_prices_are_strings_in_the_schema(schema):
    feed_state = schema["components"]["schemas"]["FeedState"]["properties"]
    assert feed_state["price"]["type"] == "string"
    bar = schema["components"]["schemas"]["Bar"]["properties"]
    assert {bar[k]["type"] for k in ("open", "high", "low", "close")} == {"string"}


@pytest.mark.parametrize("url", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_schema_and_documentation_pages_are_public_and_self_hosted(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    if url != "/api/v1/schema/":
        body = response.content.decode()
        assert "cdn." not in body and "unpkg" not in body and "/static/" in body
