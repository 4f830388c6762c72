"""Stripe's v1 wire format as stripe-python speaks it: form-encoded nested parameters in, JSON
objects and errors out."""
from __future__ import annotations

import re
import secrets
import string
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl

_ALPHABET = string.ascii_letters + string.digits
_SEGMENT = re.compile(r"\[([^\]]*)\]")


def new_id(prefix: str, length: int = 24) -> str:
    """An id shaped like Stripe's: `cus_` + random letters and digits."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class ApiError(Exception):
    """An error answered in Stripe's shape: {"error": {"type", "message", "code", "param"}}."""

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = (
            status, message, type_, code, param)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        # Stripe omits code and param when they do not apply (the spec has them non-nullable).
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(kind: str, object_id: str, param: str, status: int = 404) -> ApiError:
    """Stripe's `resource_missing`: 404 for the path's id, 400 for an id given as a parameter."""
    return ApiError(status, f"No such {kind}: '{object_id}'", code="resource_missing",
                    param=param)


def required(param: str) -> ApiError:
    return ApiError(400, f"Missing required param: {param}.", code="parameter_missing",
                    param=param)


def invalid(param: str, message: str) -> ApiError:
    return ApiError(400, message, code="parameter_invalid", param=param)


def decode(encoded: str) -> dict[str, Any]:
    """`a[b][0][c]=1&expand[]=x` → {"a": {"b": [{"c": "1"}]}, "expand": ["x"]}. Values stay
    strings, as on the wire; `[]` appends (the query strings stripe-python builds for lists
    from the server's `url` use it), digit keys become list positions."""
    root: dict[str, Any] = {}
    appended: defaultdict[str, int] = defaultdict(int)
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head, *_SEGMENT.findall(key[len(head):])]
        for i, part in enumerate(parts):
            if part == "":  # `x[]`: the next position of that list
                prefix = "\0".join(parts[:i])
                parts[i] = str(appended[prefix])
                appended[prefix] += 1
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise invalid(key, f"Invalid parameter: {key} mixes a value and a hash.")
        node[parts[-1]] = value
    return _lists(root)


_FREE_FORM = frozenset({"metadata", "payload"})  # hashes whose keys are the caller's


def _lists(node: Any, name: str = "") -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value, key) for key, value in node.items()}
    if name not in _FREE_FORM and converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def as_int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid(name, f"Invalid integer: {value}") from None


def as_bool(params: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    value = params.get(name)
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise invalid(name, f"Invalid boolean: {value}")


def as_decimal(value: Any, param: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(param, f"Invalid decimal: {value}") from None
    if not number.is_finite():
        raise invalid(param, f"Invalid decimal: {value}")
    return number


def as_list(params: dict[str, Any], name: str) -> list[Any]:
    value = params.get(name, [])
    if isinstance(value, str):  # `expand=x` (a single value) is accepted as a list of one
        return [value]
    if not isinstance(value, list):
        raise invalid(name, f"Invalid array: {name}")
    return value


def as_metadata(params: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    """Stripe merges metadata keys; an empty value deletes the key (`metadata=` clears all)."""
    merged = dict(current or {})
    given = params.get("metadata")
    if given is None:
        return merged
    if given == "":
        return {}
    if not isinstance(given, dict):
        raise invalid("metadata", "Invalid hash: metadata")
    for key, value in given.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = str(value)
    return merged
