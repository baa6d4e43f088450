"""The import floors: accounts.protocol stands alone, and accounts.resource_server builds on it
only, so an API can use either without the rest of the project (or, for the core, Django)."""

import ast
from pathlib import Path

ACCOUNTS = Path(__file__).resolve().parents[3] / "accounts"


def imports_of(package):
    for path in sorted((ACCOUNTS / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                yield path.name, name


def test_protocol_imports_nothing_else_from_accounts_and_no_django():
    for module, name in imports_of("protocol"):
        top = name.split(".")[0]
        assert top not in {"django", "rest_framework"}, (module, name)
        if top == "accounts":
            assert name.startswith("accounts.protocol"), (module, name)


def test_resource_server_builds_on_protocol_only():
    allowed = ("accounts.protocol", "accounts.resource_server")
    for module, name in imports_of("resource_server"):
        if name.split(".")[0] == "accounts":
            assert name.startswith(allowed), (module, name)
