"""The proxy uses the accounts app only through its public API, and never the other way round."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package):
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                yield path, *[alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                yield path, node.module


def test_accounts_never_imports_proxy():
    offenders = [
        (str(path), name)
        for path, *names in imported_modules("accounts")
        for name in names
        if name == "proxy" or name.startswith("proxy.")
    ]
    assert offenders == []


def test_proxy_uses_only_the_public_accounts_api():
    used = {
        name
        for _, *names in imported_modules("proxy")
        for name in names
        if name.startswith("accounts")
    }
    assert used == {"accounts.api"}


def test_accounts_never_names_the_proxy_header():
    # The proxy's anti-forgery header is the proxy's own setting; accounts learns of it only
    # through accounts.api.treat_as_api_call.
    sources = [p for p in (ROOT / "accounts").rglob("*.py") if "X-CSRF" in p.read_text()]
    assert sources == []
