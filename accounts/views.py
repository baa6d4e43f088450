"""Login, callback and logout: mozilla-django-oidc's views, with discovery and strict checks."""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
    OIDCLogoutView,
)

from accounts.conf import accounts_settings, mozilla_oidc_setting
from accounts.error_pages import error_response
from accounts.exceptions import (
    AccountsError,
    InvalidLoginRequest,
    LoginFailed,
    ProviderError,
    TokenRecordUnreadable,
)
from accounts.oidc import login_cookies
from accounts.oidc.backend import callback_url
from accounts.oidc.discovery import provider_metadata
from accounts.oidc.login_states import (
    PendingLogin,
    discard_login,
    remember_login,
    take_login,
)
from accounts.oidc.logout_urls import provider_logout_url
from accounts.oidc.pushed_authorization import authorization_redirect
from accounts.protocol.step_up import AuthenticationRequirement, InvalidRequirement
from accounts.redirects import safe_next_path
from accounts.sessions.advice import note_token_lifetimes
from accounts.sessions.ending import log_out
from accounts.sessions.tombstones import take_notice
from accounts.step_up.enforcement import check_login_result
from accounts.step_up.session import record_authentication
from accounts.tokens.record import TokenRecord, load_tokens, store_tokens

logger = logging.getLogger(__name__)


@method_decorator(never_cache, name="dispatch")
class LoginView(OIDCAuthenticationRequestView):  # type: ignore[misc]
    """``GET /auth/login/?next=/path`` sends the browser to the provider.

    The request carries PKCE (S256), state and nonce; what the callback needs of them, the page
    to return to and the step-up requirement (``acr_values``, ``max_age``: ``accounts.step_up``)
    are kept for this login alone, tied to this browser by a cookie (``login_states``), so that
    logins begun in several tabs at once all finish. No session is written.
    """

    get_settings = staticmethod(mozilla_oidc_setting)
    requirement = AuthenticationRequirement()

    def __init__(self, **kwargs: Any) -> None:
        # mozilla reads the endpoint from settings at construction; ours comes from discovery.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)
        self.OIDC_RP_CLIENT_ID = accounts_settings.OIDC_CLIENT_ID

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            self.requirement = AuthenticationRequirement.from_parameters(
                request.GET.get("acr_values"), request.GET.get("max_age")
            )
        except InvalidRequirement as exc:
            raise InvalidLoginRequest(f"This login link is not valid: {exc}.") from exc
        metadata = provider_metadata(fresh=True)
        # mozilla-django-oidc's own view would keep the login in the session; the URL is built
        # here instead, the same way, and the login kept apart (login_states).
        login = PendingLogin.begin(
            next_path=safe_next_path(request.GET.get("next")), requirement=self.requirement
        )
        params: dict[str, Any] = {"response_type": "code", "client_id": self.OIDC_RP_CLIENT_ID}
        params.update(self.get_extra_params(request))
        # Last, so that no extra parameter can replace them.
        params.update(login.authorization_parameters())
        # Pairs, not a dict: resource may repeat (resource=A&resource=B).
        query = urlencode([*params.items(), *(("resource", r) for r in _resource_indicators())])
        # With PAR every parameter goes into the push; a refused push keeps nothing.
        location = authorization_redirect(metadata, f"{metadata.authorization_endpoint}?{query}")
        response = HttpResponseRedirect(location)
        remember_login(request, response, login)
        return response

    def get_extra_params(self, request: HttpRequest) -> dict[str, Any]:
        preset = accounts_settings.PRESET
        scopes = accounts_settings.OIDC_SCOPES
        params: dict[str, Any] = {"redirect_uri": callback_url(), "scope": " ".join(scopes)}
        if "offline_access" in scopes and preset.prompt_consent_for_offline_access:
            # OIDC Core 11: a request for offline access must carry prompt=consent, or the
            # provider may (oidc-provider does) drop offline_access and issue no refresh token.
            params["prompt"] = "consent"
        if accounts_settings.OIDC_AUDIENCE and preset.audience_parameter == "audience":
            params["audience"] = accounts_settings.OIDC_AUDIENCE
        params.update(accounts_settings.OIDC_EXTRA_AUTH_PARAMS)
        params.update(self.requirement.login_parameters())
        return params


def _resource_indicators() -> list[str]:
    """RFC 8707: the grant must name every API a token will later be asked for."""
    if accounts_settings.PRESET.audience_parameter != "resource":
        return []
    audiences = [accounts_settings.OIDC_AUDIENCE, *accounts_settings.OIDC_EXTRA_AUDIENCES]
    return [audience for audience in audiences if audience]


@method_decorator(never_cache, name="dispatch")
class CallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """``GET /auth/callback/``: every way this can go wrong ends on a page that says which.

    The login named by ``state`` is spent first, whatever follows, and only in the browser that
    began it; its cookie is deleted with the answer, whichever page that is.
    """

    get_settings = staticmethod(mozilla_oidc_setting)
    # The login being completed, spent before anything is asked of the provider.
    login: PendingLogin | None = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response: HttpResponse = super().dispatch(request, *args, **kwargs)
        except AccountsError as exc:
            # Rendered here rather than by the middleware, so that this answer, too, deletes
            # the login's cookie.
            response = error_response(request, exc)
        login_cookies.forget(request, response, request.GET.get("state", ""))
        return response

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state", "")
        if request.GET.get("error"):
            if state:
                # An error answer cannot be replayed into a later success.
                discard_login(request, state)
            raise ProviderError(_provider_message(request))
        if not request.GET.get("code") or not state:
            raise LoginFailed("The provider's answer lacks a code or state.")
        self.login = take_login(request, state)
        self._check_issuer_parameter(request)
        # What mozilla-django-oidc's callback does once it has found the login's entry.
        user = auth.authenticate(
            request=request, nonce=self.login.nonce, code_verifier=self.login.code_verifier
        )
        if user is None or not user.is_active:
            return self.login_failure()
        self.user = user
        return self.login_success()

    def _check_issuer_parameter(self, request: HttpRequest) -> None:
        # RFC 9207: defeats mix-up attacks when a site talks to more than one provider.
        metadata = provider_metadata()
        iss = request.GET.get("iss")
        if iss is None and metadata.authorization_response_iss_parameter_supported:
            raise LoginFailed("The provider's answer lacks the 'iss' parameter it promised.")
        if iss is not None and iss != metadata.issuer:
            raise LoginFailed("The answer comes from another identity provider.")

    def login_success(self) -> HttpResponse:
        request = self.request
        if self.login is not None:
            # Before login(): a step-up that fell short leaves the session as it was.
            check_login_result(self.login.requirement, request.oidc_claims, now=time.time())
        auth.login(request, self.user)
        # After login(), never before: login() cycles the key or flushes another user's session.
        record = TokenRecord.from_token_response(request.oidc_token_response, request.oidc_claims)
        store_tokens(request.session, record)
        record_authentication(request.session, request.oidc_claims)
        note_token_lifetimes(record)
        logger.info("login: user %s", self.user.pk)
        # Sent back here because an admin or another device ended the session: say so.
        notice = take_notice(request.session)
        if notice:
            messages.info(request, notice)
        return HttpResponseRedirect(self.success_url)

    def login_failure(self) -> HttpResponse:
        raise LoginFailed("The identity provider's answer could not be used to log you in.")

    @property
    def success_url(self) -> str:
        # Checked again here: the entry could predate this check (a login begun before an
        # upgrade) or have been tampered with.
        return safe_next_path(self.login.next_path if self.login else None)


def _provider_message(request: HttpRequest) -> str:
    error = request.GET.get("error", "")[:100]
    description = request.GET.get("error_description", "")[:300]
    if error == "access_denied":
        lead = "You (or the provider) declined the login."
    else:
        lead = "The identity provider could not log you in."
    return f"{lead} Provider says: {error}{': ' + description if description else ''}"


@method_decorator(never_cache, name="dispatch")
class LogoutView(OIDCLogoutView):  # type: ignore[misc]
    """``POST /auth/logout/`` ends the session here, then at the provider when it can.

    ``GET`` shows a confirmation form: a link or an image must not be able to log a user out.
    The session middleware leaves this view alone (``ends_the_session``): no refresh grant is
    spent on a token about to be revoked, and a session whose lifetime ran out still reaches the
    provider's logout, so the provider's own session does not sign the user straight back in.
    """

    get_settings = staticmethod(mozilla_oidc_setting)

    ends_the_session = True

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "accounts/logout_confirm.html")

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            record = load_tokens(request.session) if request.user.is_authenticated else None
        except TokenRecordUnreadable:
            record = None  # nothing to hint or revoke with; logging out still works
        # The local session is cleared first and always, whatever the provider does next. Its
        # refresh token is revoked by the session-end hook (accounts.tokens.revoke_on_end):
        # provider logout alone leaves offline_access refresh tokens valid (oidc-provider keeps
        # them, as Auth0 does), and a copy of one must be worth nothing.
        log_out(request, "logged_out")
        # Also without a record (the session had already ended here): the provider's session
        # may be alive, and only its logout ends it.
        return HttpResponseRedirect(provider_logout_url(record) or "/")
