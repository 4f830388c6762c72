"""Exact numbers on every database.

PostgreSQL stores them as NUMERIC. SQLite would give a NUMERIC column numeric affinity and
silently turn a 1e18-scaled answer (about 6.4e22) into a float, so there they are TEXT and
converted back on the way out.
"""
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import models


def sqlite_datetime(moment: datetime) -> str:
    """What Django's SQLite backend stores for an aware datetime: naive UTC, str() format
    (for the raw SQL of the bulk paths)."""
    return str(moment.astimezone(UTC).replace(tzinfo=None))


class _ExactNumberField(models.Field):
    empty_strings_allowed = False  # so an unset value defaults to None, not ""

    def _is_sqlite(self, connection: Any) -> bool:
        return connection.vendor == "sqlite"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is None:
            return None
        value = self.to_python(value)
        return str(value) if self._is_sqlite(connection) else value

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else self.to_python(value)


class HugeIntegerField(_ExactNumberField):
    """An integer of up to 78 digits (a full uint256 or int256): NUMERIC(78,0) on PostgreSQL."""

    description = "Integer of up to 78 digits"
    MAX_DIGITS = 78

    def db_type(self, connection: Any) -> str:
        return "text" if self._is_sqlite(connection) else f"numeric({self.MAX_DIGITS},0)"

    def to_python(self, value: Any) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                raise ValueError(f"{value!r} is not an integer")
            return int(value)
        return int(str(value))


class ExactDecimalField(_ExactNumberField):
    """A Decimal kept with every digit: unconstrained NUMERIC on PostgreSQL."""

    description = "Exact decimal number"

    def db_type(self, connection: Any) -> str:
        return "text" if self._is_sqlite(connection) else "numeric"

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise TypeError("floats are not exact; pass a Decimal, an int or a string")
        return Decimal(str(value))
