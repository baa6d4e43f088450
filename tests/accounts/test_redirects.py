from pathlib import Path
from urllib.parse import unquote

import pytest

from accounts.redirects import safe_next_path

# The corpus sits in shared/data above the checkout, which may be nested a level deeper than
# usual: look in each parent, nearest first.
CORPUS = next(
    (
        parent / "shared" / "data" / "openredirects.txt"
        for parent in Path(__file__).resolve().parents[3:]
        if (parent / "shared" / "data" / "openredirects.txt").exists()
    ),
    Path(__file__).resolve().parents[3] / "shared" / "data" / "openredirects.txt",
)


def corpus():
    if not CORPUS.exists():
        pytest.fail(f"open-redirect corpus missing at {CORPUS}")
    return [unquote(line.rstrip("\n")) for line in CORPUS.open() if line.strip()]


@pytest.mark.parametrize(
    "value",
    ["/", "/account/", "/notes?page=2&sort=asc", "/a/b#frag", "/caf%C3%A9", "/path;param"],
)
def test_local_paths_pass(value):
    assert safe_next_path(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.test/",
        "//evil.test",
        "/\\evil.test",
        "\\\\evil.test",
        "/%2F/evil.test",
        "/%5Cevil.test",
        "javascript:alert(1)",
        " /account/",
        "/\t/evil.test",
        "/%09/evil.test",
        "account/",
        "",
        None,
    ],
)
def test_everything_else_falls_back_to_home(value):
    assert safe_next_path(value) == "/"


def test_no_line_of_the_open_redirect_corpus_leaves_the_site():
    lines = corpus()
    assert len(lines) > 500
    escaped = [line for line in lines if safe_next_path(line) != "/" and not _stays_local(line)]
    assert escaped == []


def _stays_local(value):
    # What a browser would do with the Location header: resolve it against our origin.
    from urllib.parse import urljoin, urlsplit

    resolved = urlsplit(urljoin("https://site.test/", value.replace("\\", "/")))
    return resolved.netloc == "site.test" and resolved.scheme == "https"


@pytest.mark.django_db
def test_the_corpus_through_the_login_view_and_the_callbacks_redirect(client, monkeypatch):
    """Each line as ``/auth/login/?next=``, then as the value the callback redirects to."""
    from django.test import RequestFactory

    from accounts.oidc.discovery import ProviderMetadata
    from accounts.views import NEXT_KEY, CallbackView

    metadata = ProviderMetadata(
        issuer="https://issuer.test",
        authorization_endpoint="https://issuer.test/auth",
        token_endpoint="https://issuer.test/token",
        jwks_uri="https://issuer.test/jwks",
    )
    monkeypatch.setattr("accounts.views.provider_metadata", lambda **_: metadata)
    escaped = []
    for line in corpus():
        assert client.get("/auth/login/", {"next": line}).status_code == 302
        stored = client.session[NEXT_KEY]
        # What the callback sends the browser to after login, from what login stored (and from
        # the raw line, as if the session had been tampered with).
        for value in (stored, line):
            view = CallbackView()
            view.request = RequestFactory().get("/auth/callback/")
            view.request.session = {NEXT_KEY: value}
            if not _stays_local(view.success_url):
                escaped.append(line)
    assert escaped == []
