"""docs/permissions.md and the enforced table must say the same thing."""
import re
from pathlib import Path

from apps.accounts.models import Role
from apps.accounts.permissions import ALLOWED_ROLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
ROLE_COLUMNS = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER]


def documented_matrix() -> dict[str, frozenset[Role]]:
    matrix = {}
    for line in DOC.read_text().splitlines():
        match = re.match(r"\|\s*`([a-z_.]+)`[^|]*\|(.*)\|\s*$", line)
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")]
            matrix[match.group(1)] = frozenset(
                role for role, cell in zip(ROLE_COLUMNS, cells, strict=True) if cell == "✓"
            )
    return matrix


def test_permissions_doc_matches_the_enforced_table():
    assert documented_matrix() == {str(action): roles for action, roles in ALLOWED_ROLES.items()}
