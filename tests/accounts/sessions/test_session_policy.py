"""Session lifetimes enforced on every request, against real Redis and the real provider, with
the lifetime code's clock under the test's control."""

import re
from datetime import timedelta

import pytest
import requests
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from accounts import checks
from accounts.models import SessionPolicy
from accounts.sessions import lifetimes
from accounts.sessions.index import session_key_for_sid, user_key
from accounts.sessions.store import SessionStore
from accounts.signals import session_ended
from accounts.tokens.record import load_tokens
from tests.stack import leftover_keys, sign_in_at_provider

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CALLBACK = "http://testserver/auth/callback/"
DAY = 86400


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    import time

    c = Clock(time.time())
    monkeypatch.setattr(lifetimes, "now", c)
    return c


@pytest.fixture
def ended():
    reasons = []

    def receiver(sender, reason, **kwargs):
        reasons.append(reason)

    session_ended.connect(receiver)
    yield reasons
    session_ended.disconnect(receiver)


def login(client, username="alice", user_agent="TestBrowser/1.0"):
    start = client.get("/auth/login/")
    callback = sign_in_at_provider(
        requests.Session(), start["Location"], username, stop_at=CALLBACK
    )
    assert client.get(callback, HTTP_USER_AGENT=user_agent).status_code == 302


def set_policy(**values):
    policy = SessionPolicy.objects.get(pk=1)
    for name, value in values.items():
        setattr(policy, name, value)
    policy.full_clean()
    policy.save()


@pytest.fixture
def alice(client, oidc_settings, clock):
    login(client)
    return client


def test_inactivity_ends_the_session(alice, clock, ended, redis_client):
    clock.advance(DAY - 5)
    assert alice.get("/account/").status_code == 200  # still inside the timeout: active again
    clock.advance(DAY - 5)
    assert alice.get("/account/").status_code == 200
    clock.advance(DAY + 1)
    response = alice.get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/auth/login/?next=%2Faccount%2F"
    assert ended == ["inactivity_timeout"]
    assert leftover_keys(redis_client) == []


def test_an_active_session_still_ends_at_the_absolute_lifetime(alice, clock, ended):
    for _ in range(7):
        clock.advance(DAY - 60)
        assert alice.get("/account/").status_code == 200
    clock.advance(DAY - 60)
    response = alice.get("/auth/session/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    assert ended == ["absolute_lifetime"]


def test_shortening_the_policy_ends_existing_sessions_on_their_next_request(alice, clock, ended):
    clock.advance(3600)
    assert alice.get("/account/").status_code == 200
    set_policy(absolute_lifetime=timedelta(minutes=30), inactivity_timeout=timedelta(minutes=10))
    assert alice.get("/account/").status_code == 302
    assert ended == ["absolute_lifetime"]


def test_activity_is_written_at_most_once_per_interval(alice, clock, redis_commands):
    commands = redis_commands
    clock.advance(59)
    alice.get("/account/")
    alice.get("/account/")
    assert commands == ["MGET", "MGET"]  # nothing written: inside the 60 s interval

    commands.clear()
    clock.advance(2)
    response = alice.get("/account/")
    assert "SET" in commands  # the activity record
    # The cookie is sent again, its max-age following the inactivity deadline.
    assert response.cookies["sessionid"]["max-age"] == DAY


def test_keys_ttl_follow_the_remaining_lifetime(alice, clock, redis_client):
    key = alice.cookies["sessionid"].value
    ttls = {k: redis_client.ttl(k) for k in redis_client.keys(f"*{key}*")}
    assert len(ttls) == 3  # the session, its tokens, its activity
    assert all(DAY - 5 <= ttl <= DAY for ttl in ttls.values()), ttls
    assert DAY - 5 <= redis_client.ttl(user_key(User.objects.get().pk)) <= DAY


def test_the_index_knows_the_users_sessions_and_the_providers_sid(alice, redis_client):
    store = SessionStore(alice.cookies["sessionid"].value)
    sid = load_tokens(store).claims["sid"]  # type: ignore[union-attr]
    assert session_key_for_sid(sid) == store.session_key
    members = redis_client.smembers(user_key(User.objects.get().pk))
    assert members == {store.session_key.encode()}  # type: ignore[union-attr]


def test_logout_removes_every_record_and_index_entry(alice, redis_client):
    alice.post("/auth/logout/")
    assert leftover_keys(redis_client) == []


@pytest.fixture
def admin_client(db):
    admin = User.objects.create_superuser("admin", "admin@example.test", "x")
    client = Client()
    client.force_login(admin)
    return client


POLICY_FORM = {
    "absolute_lifetime": "7 00:00:00",
    "inactivity_timeout": "1 00:00:00",
    "activity_interval": "00:01:00",
    "refresh_skew": "00:01:00",
    "refresh_token_lifetime": "",
}


def test_admin_form_change_ends_sessions_and_is_logged_with_values(
    alice, admin_client, clock, ended
):
    for _ in range(6):  # two hours of activity, fine under the default policy
        clock.advance(20 * 60)
        assert alice.get("/account/").status_code == 200
    form = {**POLICY_FORM, "absolute_lifetime": "01:00:00", "inactivity_timeout": "00:30:00"}
    response = admin_client.post("/admin/accounts/sessionpolicy/1/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = LogEntry.objects.get()
    assert entry.user.username == "admin"
    message = entry.get_change_message()
    assert "Absolute lifetime: 7d -> 1h" in message
    assert "Inactivity timeout: 1d -> 30m" in message
    assert alice.get("/account/").status_code == 302
    assert ended == ["absolute_lifetime"]


def test_admin_form_takes_and_shows_durations_as_the_cli_writes_them(admin_client):
    page = admin_client.get("/admin/accounts/sessionpolicy/1/change/").content.decode()
    assert 'name="absolute_lifetime" value="7d"' in page
    assert 'name="activity_interval" value="1m"' in page
    assert "Write a duration, e.g. 90s, 15m, 12h, 30d or 1d12h" in page
    form = {**POLICY_FORM, "absolute_lifetime": "30d", "inactivity_timeout": "12h"}
    response = admin_client.post("/admin/accounts/sessionpolicy/1/change/", form)
    assert response.status_code == 302
    policy = SessionPolicy.objects.get(pk=1)
    assert (policy.absolute_lifetime, policy.inactivity_timeout) == (
        timedelta(days=30),
        timedelta(hours=12),
    )
    response = admin_client.post(
        "/admin/accounts/sessionpolicy/1/change/", {**POLICY_FORM, "refresh_skew": "a minute"}
    )
    errors = response.context["adminform"].form.errors
    assert "'a minute' is not a duration: e.g. 90s, 15m, 12h, 30d" in errors["refresh_skew"][0]


def test_admin_form_refuses_nonsense_per_field(admin_client):
    form = {**POLICY_FORM, "inactivity_timeout": "8 00:00:00", "activity_interval": "0"}
    response = admin_client.post("/admin/accounts/sessionpolicy/1/change/", form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "longer than the absolute lifetime" in errors["inactivity_timeout"][0]
    assert "longer than zero" in errors["activity_interval"][0]


def test_admin_warns_when_sessions_outlive_the_refresh_token(admin_client, redis_client):
    set_policy(refresh_token_lifetime=timedelta(days=1))
    page = admin_client.get("/admin/accounts/sessionpolicy/1/change/").content.decode()
    assert "is longer than the refresh token&#x27;s lifetime (1 day" in page
    assert "users are sent to log in again in the middle of a session" in page
    assert [m.id for m in checks.check_session_policy_advice(None, databases=["default"])] == [
        "accounts.W003"
    ]
    set_policy(refresh_token_lifetime=timedelta(days=30))
    page = admin_client.get("/admin/accounts/sessionpolicy/1/change/").content.decode()
    assert "is longer than the refresh token" not in page
    assert checks.check_session_policy_advice(None, databases=["default"]) == []


def test_the_providers_refresh_expires_in_wins_over_the_admins_value(admin_client):
    from django.core.cache import caches

    from accounts.sessions.advice import OBSERVED_REFRESH_LIFETIME_KEY

    set_policy(refresh_token_lifetime=timedelta(days=30))
    caches["sessions"].set(OBSERVED_REFRESH_LIFETIME_KEY, 3600, None)
    page = admin_client.get("/admin/accounts/sessionpolicy/1/change/").content.decode()
    assert "(1 hour, from the provider&#x27;s refresh_expires_in)" in page


def test_a_skew_not_below_the_access_token_lifetime_is_advised_against(
    oidc_settings, admin_client, provider
):
    # The local provider's access tokens live 300 s; the shipped skew is 60 s.
    login(Client())
    assert checks.check_session_policy_advice(None, databases=["default"]) == []
    set_policy(refresh_skew=timedelta(minutes=5))
    page = admin_client.get("/admin/accounts/sessionpolicy/1/change/").content.decode()
    assert (
        "The refresh skew (5 minutes) is not shorter than the access tokens&#x27; lifetime" in page
    )
    assert [m.id for m in checks.check_session_policy_advice(None, databases=["default"])] == [
        "accounts.W008"
    ]


def test_the_policy_has_one_row_that_cannot_be_added_or_deleted(admin_client):
    assert admin_client.get("/admin/accounts/sessionpolicy/").status_code == 302
    assert admin_client.get("/admin/accounts/sessionpolicy/add/").status_code == 403
    assert admin_client.post("/admin/accounts/sessionpolicy/1/delete/").status_code == 403


def test_admin_lists_live_sessions_and_ends_all_of_a_users(
    oidc_settings, admin_client, redis_client, provider, ended
):
    first, second = Client(), Client()
    login(first, user_agent="FirstBrowser/1.0")
    login(second, user_agent="SecondBrowser/2.0")
    refresh_tokens = [
        load_tokens(SessionStore(c.cookies["sessionid"].value)).refresh_token  # type: ignore[union-attr]
        for c in (first, second)
    ]
    user_id = User.objects.get(oidc_identities__subject="alice").pk

    listing = admin_client.get(f"/admin/accounts/activesession/?user={user_id}").content.decode()
    assert "FirstBrowser/1.0" in listing
    username = User.objects.get(pk=user_id).username
    by_name = admin_client.get(f"/admin/accounts/activesession/?user={username}").content.decode()
    assert by_name.count("FirstBrowser/1.0") == 1
    assert "SecondBrowser/2.0" in listing
    assert first.cookies["sessionid"].value not in listing  # keys are credentials

    session_keys = [c.cookies["sessionid"].value for c in (first, second)]
    response = admin_client.post(
        "/admin/accounts/activesession/revoke/", {"user": user_id, "all": "1", "confirm": "yes"}
    )
    assert response.status_code == 302
    # Nothing of Alice's is left; the admin's own session is.
    left = b" ".join(leftover_keys(redis_client)).decode()
    assert not any(key in left for key in session_keys)
    assert user_key(user_id) not in left
    assert ended == ["revoked_by_admin", "revoked_by_admin"]
    for c in (first, second):
        assert c.get("/auth/session/").json() == {"authenticated": False}
    # The refresh tokens were revoked at the provider too.
    token_endpoint = provider.discovery()["token_endpoint"]
    for token in refresh_tokens:
        answer = requests.post(
            token_endpoint,
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=(provider.client_id, provider.client_secret),
            timeout=5,
        )
        assert answer.json()["error"] == "invalid_grant"


def test_admin_ends_one_session_by_handle(oidc_settings, admin_client, redis_client):
    first, second = Client(), Client()
    login(first)
    login(second)
    user_id = User.objects.get(oidc_identities__subject="alice").pk
    listing = admin_client.get(f"/admin/accounts/activesession/?user={user_id}").content.decode()
    handles = re.findall(r'name="handle" value="([0-9a-f]+)"', listing)
    assert len(handles) == 2
    # The list's button asks first, naming the user, and ends nothing yet.
    question = admin_client.post(
        "/admin/accounts/activesession/revoke/", {"user": user_id, "handle": handles[0]}
    )
    assert question.status_code == 200
    alice = User.objects.get(pk=user_id)
    assert f"End this session of {alice.username} (Alice" in question.content.decode()
    assert 'name="confirm" value="yes"' in question.content.decode()
    assert [c.get("/auth/session/").json()["authenticated"] for c in (first, second)] == [
        True,
        True,
    ]
    response = admin_client.post(
        "/admin/accounts/activesession/revoke/",
        {"user": user_id, "handle": handles[0], "confirm": "yes"},
        follow=True,
    )
    still = [c.get("/auth/session/").json()["authenticated"] for c in (first, second)]
    assert sorted(still) == [False, True]
    said = [str(m) for m in response.context["messages"]]
    assert said == [f"Ended one session of {alice.username} (Alice {alice.last_name})."]


def test_admin_filters_sessions_by_part_of_a_username_email_or_name(
    oidc_settings, admin_client, redis_client
):
    login(Client(), user_agent="AliceBrowser/1.0")
    login(Client(), username="bob", user_agent="BobBrowser/1.0")
    alice = User.objects.get(oidc_identities__subject="alice")
    assert alice.username != "alice"  # made at login, such as alice-6cba550787
    for text in ("alice", "ALI", alice.username[-6:], alice.email.upper(), alice.get_full_name()):
        listing = admin_client.get("/admin/accounts/activesession/", {"user": text})
        page = listing.content.decode()
        assert "AliceBrowser/1.0" in page, text
        assert "BobBrowser/1.0" not in page, text
        assert 'data-testid="revoke-all"' in page, text  # one person found: "end all" offered
    page = admin_client.get("/admin/accounts/activesession/", {"user": "nobody"}).content
    assert "No live sessions for “nobody”" in page.decode()


def test_admin_ending_all_of_a_users_sessions_asks_first(oidc_settings, admin_client):
    first = Client()
    login(first)
    user_id = User.objects.get(oidc_identities__subject="alice").pk
    question = admin_client.post(
        "/admin/accounts/activesession/revoke/", {"user": user_id, "all": "1"}
    )
    assert "End all 1 session(s) of" in question.content.decode()
    assert first.get("/auth/session/").json()["authenticated"] is True
    admin_client.post(
        "/admin/accounts/activesession/revoke/", {"user": user_id, "all": "1", "confirm": "yes"}
    )
    assert first.get("/auth/session/").json() == {"authenticated": False}


def test_the_admins_own_session_is_marked_and_ending_it_logs_the_admin_out(
    oidc_settings, admin_client
):
    login(Client())
    admin = User.objects.get(username="admin")
    listing = admin_client.get("/admin/accounts/activesession/").content.decode()
    assert listing.count('data-testid="this-session"') == 1
    mine = listing.split('data-testid="this-session"')[1].split("</tr>")[0]
    assert "admin" in mine
    assert "this session" in mine
    handle = re.search(r'name="handle" value="([0-9a-f]+)"', mine)[1]  # type: ignore[index]

    question = admin_client.post(
        "/admin/accounts/activesession/revoke/", {"user": admin.pk, "handle": handle}
    ).content.decode()
    assert "This includes your own current session: you will be logged out." in question
    response = admin_client.post(
        "/admin/accounts/activesession/revoke/",
        {"user": admin.pk, "handle": handle, "confirm": "yes"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/"
    assert admin_client.get("/auth/session/").json() == {"authenticated": False}
    assert admin_client.get("/admin/").status_code == 302


def test_people_without_permission_cannot_see_or_end_sessions(oidc_settings, db):
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/accounts/activesession/").status_code == 403
    assert (
        client.post("/admin/accounts/activesession/revoke/", {"user": "1", "all": "1"}).status_code
        == 403
    )


def test_the_session_page_draws_and_explains_every_deadline(alice):
    page = alice.get("/account/session/").content.decode()
    for key in ("now", "access", "id", "refresh", "absolute", "inactivity"):
        assert f'data-mark="{key}"' in page
        assert f'data-deadline="{key}"' in page
    assert "Your access token expires" in page
    assert "It is renewed automatically 1 minute before then" in page
    assert "Your ID token expires" in page
    assert "did not say when your refresh token expires" in page
    assert "at the latest (in 7 days), 7 days after you logged in" in page
    assert "If you make no request, your session ends" in page
    assert "noted every 1 minute" in page
    assert "<svg" in page
    assert "<script" not in page  # works without JavaScript
    # The axis is logarithmic, and the page says so and labels it.
    assert "it is logarithmic" in page
    assert 'data-tick="login"' in page
    assert 'data-tick="+7 days"' in page


def test_users_end_their_other_sessions_but_not_someone_elses(oidc_settings, redis_client):
    mine, other_mine, theirs = Client(), Client(), Client()
    login(mine)
    login(other_mine)
    login(theirs, username="bob")
    page = mine.get("/account/session/").content.decode()
    assert page.count('name="handle"') == 1  # the other session, not this one
    bobs_page = theirs.get("/account/session/").content.decode()
    assert "You have no other sessions." in bobs_page

    # Bob cannot end Alice's session with her handle.
    handle = re.search(r'name="handle" value="([0-9a-f]+)"', page)[1]  # type: ignore[index]
    theirs.post("/account/session/end/", {"handle": handle})
    assert other_mine.get("/auth/session/").json()["authenticated"] is True

    mine.post("/account/session/end/", {"all": "1"})
    assert other_mine.get("/auth/session/").json() == {"authenticated": False}
    assert mine.get("/auth/session/").json()["authenticated"] is True
    assert theirs.get("/auth/session/").json()["authenticated"] is True


def test_session_policy_command_shows_and_sets(capsys):
    call_command("session_policy", "--inactivity-timeout", "2h", "--activity-interval", "30s")
    out = capsys.readouterr().out
    assert "inactivity_timeout: 2h" in out
    assert "activity_interval: 30s" in out
    call_command("session_policy", "--absolute-lifetime", "1d12h", "--refresh-skew", "00:02:00")
    out = capsys.readouterr().out
    assert "absolute_lifetime: 1d12h" in out
    assert "refresh_skew: 2m" in out
    with pytest.raises(
        CommandError, match=re.escape("refresh_skew: 'soon' is not a duration: e.g. 90s")
    ):
        call_command("session_policy", "--refresh-skew", "soon")
    with pytest.raises(Exception, match="inactivity_timeout"):
        call_command("session_policy", "--inactivity-timeout", "30d")


def test_session_policy_command_refuses_durations_dates_cannot_hold():
    with pytest.raises(CommandError, match=r"absolute_lifetime: .*at most 3650 days"):
        call_command("session_policy", "--absolute-lifetime", "3000000d")
    assert SessionPolicy.objects.get(pk=1).absolute_lifetime == timedelta(days=7)


def test_admin_form_refuses_durations_dates_cannot_hold(admin_client):
    form = {**POLICY_FORM, "absolute_lifetime": "999999999 00:00:00"}
    response = admin_client.post("/admin/accounts/sessionpolicy/1/change/", form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "at most 3650 days" in errors["absolute_lifetime"][0]


def test_an_absurd_policy_stored_before_the_limits_does_not_break_pages_or_login(
    oidc_settings, clock
):
    # Written around the validation, as a row from before the limits would be.
    SessionPolicy.objects.filter(pk=1).update(
        absolute_lifetime=timedelta(days=3_000_000), inactivity_timeout=timedelta(days=3_000_000)
    )
    lifetimes.load_policy()  # published to Redis, as a save would have
    client = Client()
    login(client)
    for path in ("/account/", "/account/session/", "/auth/session/"):
        assert client.get(path).status_code == 200, path
    assert client.cookies["sessionid"]["max-age"] <= 3650 * DAY


def test_digits_that_are_no_ones_id_find_a_username_ending_in_them(db):
    from accounts.admin import matching_users

    alice = User.objects.create_user("alice-8a50470311")
    bob = User.objects.create_user("bob-0000000001")
    assert matching_users("470311") == [alice]
    assert matching_users(str(bob.pk)) == [bob]  # an id that exists means that user
