import json
import subprocess
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
    passed = [line for line in lines if safe_next_path(line) != "/"]
    local = dict(zip(passed, stays_local(passed), strict=True))
    assert [line for line in passed if not local[line]] == []


def stays_local(values):
    """For each value, whether a browser that gets it as ``Location`` on https://site.test/
    stays on that origin. Node's URL is the WHATWG parser browsers use: it reads
    ``///evil.test``, ``/\\evil.test`` and ``http:evil.test`` as other hosts, where Python's
    urljoin would call some of them local."""
    script = (
        "const values = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(values.map((v) => {"
        "  try { const u = new URL(v, 'https://site.test/');"
        "        return u.protocol === 'https:' && u.host === 'site.test'; }"
        "  catch { return true; }"  # unparsable: a browser does not follow it at all
        "})));"
    )
    result = subprocess.run(
        ["node", "-e", script], input=json.dumps(values), capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_the_judge_reads_urls_as_a_browser_does():
    # "https:x" against an https page is a relative path; "http:x" is another origin.
    tricky = ["///evil.test", "/\\evil.test", "http:evil.test", "\t//evil.test", "https:x", "/ok"]
    assert stays_local(tricky) == [False, False, False, False, True, True]


@pytest.mark.django_db
def test_the_corpus_through_the_login_view_and_the_callbacks_redirect(client, monkeypatch):
    """Each line as ``/auth/login/?next=``, then as the value the callback redirects to."""
    from django.test import RequestFactory

    from accounts.oidc.discovery import ProviderMetadata
    from accounts.oidc.login_states import PendingLogin
    from accounts.protocol.step_up import AuthenticationRequirement
    from accounts.views import CallbackView

    metadata = ProviderMetadata(
        issuer="https://issuer.test",
        authorization_endpoint="https://issuer.test/auth",
        token_endpoint="https://issuer.test/token",
        jwks_uri="https://issuer.test/jwks",
    )
    monkeypatch.setattr("accounts.views.provider_metadata", lambda **_: metadata)
    redirects = []
    for line in corpus():
        response = client.get("/auth/login/", {"next": line})
        assert response.status_code == 302
        stored = newest_login(response)["next"]
        # What the callback sends the browser to after login, from what login stored (and from
        # the raw line, as if the entry had been tampered with or predated the check).
        for value in (stored, line):
            view = CallbackView()
            view.request = RequestFactory().get("/auth/callback/")
            view.login = PendingLogin("s", "n", "v", value, AuthenticationRequirement())
            redirects.append((line, view.success_url))
    local = stays_local([url for _, url in redirects])
    assert [line for (line, _), ok in zip(redirects, local, strict=True) if not ok] == []


@pytest.mark.parametrize("referer", ["http://[", "http://[::1", "https://[zz]/x", "http://a:b:c/"])
def test_a_malformed_referer_sends_the_user_home_after_login(rf, referer):
    from accounts.redirects import login_url_for

    request = rf.post("/api/proxy/notes/x", HTTP_REFERER=referer)
    assert login_url_for(request) == "/auth/login/?next=%2F"


def test_a_same_site_referer_is_where_the_user_comes_back(rf, settings):
    from accounts.redirects import login_url_for

    settings.SITE_URL = "http://testserver"
    request = rf.post("/api/proxy/notes/x", HTTP_REFERER="http://testserver/notes?page=2")
    assert login_url_for(request) == "/auth/login/?next=%2Fnotes%3Fpage%3D2"


@pytest.mark.django_db
@pytest.mark.parametrize("unsafe", ["//evil.test", "https://evil.test/", "/\\evil.test", "x"])
def test_login_stores_only_a_safe_next(client, monkeypatch, unsafe):
    # The first of the two layers: what login keeps for the callback is already safe.
    from accounts.oidc.discovery import ProviderMetadata
    from accounts.oidc.login_states import NEXT_KEY

    metadata = ProviderMetadata(
        issuer="https://issuer.test",
        authorization_endpoint="https://issuer.test/auth",
        token_endpoint="https://issuer.test/token",
        jwks_uri="https://issuer.test/jwks",
    )
    monkeypatch.setattr("accounts.views.provider_metadata", lambda **_: metadata)
    response = client.get("/auth/login/", {"next": unsafe})
    assert response.status_code == 302
    assert newest_login(response)["next"] == "/"
    response = client.get("/auth/login/", {"next": "/notes?x=1"})
    assert response.status_code == 302
    assert newest_login(response)["next"] == "/notes?x=1"
    # Nothing session-wide is kept, mozilla-django-oidc's value (which admits absolute URLs)
    # included.
    assert NEXT_KEY not in client.session


def newest_login(response):
    """The entry of the login ``response`` began (no PAR here: the state is in its URL)."""
    from tests.logins_in_progress import entry, state_in

    return entry(state_in(response["Location"]))
