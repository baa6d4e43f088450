"""What a developer extending the project writes, as docs/extending.md shows it: a backend that
maps claims, a page and an API view protected by the app's login, pages that need a stronger or
a recent login (step-up), and views that call an API with the user's token, presented as its
type asks. The tests use it as their URLconf."""

import jwt
import requests
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.html import format_html
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import (
    LoginRequired,
    TokenUnavailable,
    get_access_token,
    get_logged_in_user,
    login_required,
    with_access_credential,
    with_access_token,
)
from accounts.oidc.backend import OIDCBackend
from config.urls import urlpatterns as site_urlpatterns


class StaffFromEmailBackend(OIDCBackend):
    """Claims to Django user: people of one email domain may use the admin."""

    def update_user(self, user, claims):
        user = super().update_user(user, claims)
        is_staff = claims.get("email", "").endswith("@example.test")
        if user.is_staff != is_staff:
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
        return user


@login_required
def reports(request):
    return JsonResponse({"hello": request.user.get_username()})


def token_audience(request):
    """A view of your own that calls an API: get the user's token, never hand it out."""
    try:
        token = get_access_token(request)
    except LoginRequired as exc:
        return JsonResponse({"error": exc.code, "login_url": exc.login_url}, status=exc.status)
    except TokenUnavailable as exc:
        return JsonResponse({"error": exc.code}, status=exc.status)
    # Here you would call your API with Authorization: Bearer <token>.
    return JsonResponse({"audience": jwt.decode(token, options={"verify_signature": False})["aud"]})


@with_access_token
def token_subject(request, token, greeting="hello"):
    """The same without the try/except: the decorator answers when there is no token."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return JsonResponse({greeting: claims["sub"]})


@with_access_credential
def api_whoami(request, credential):
    """Calls your API (``settings.EXAMPLE_API_URL``) with the user's token as its type asks: a
    DPoP-bound token with a fresh proof, any other as a bearer token. An API that hands out
    DPoP nonces (RFC 9449 §9) asks once for a proof with its nonce: the call is made again."""
    # Your project's own setting; the sample API's address in development (dev/sample_api).
    url = getattr(settings, "EXAMPLE_API_URL", "http://127.0.0.1:8002") + "/whoami"
    answer = requests.get(url, headers=credential.headers_for("GET", url), timeout=10)
    if answer.status_code == 401 and "use_dpop_nonce" in answer.headers.get("WWW-Authenticate", ""):
        headers = credential.headers_for("GET", url, nonce=answer.headers.get("DPoP-Nonce"))
        answer = requests.get(url, headers=headers, timeout=10)
    return JsonResponse(
        {"scheme": credential.scheme, "api_status": answer.status_code, "api": answer.json()}
    )


# The local provider's second level (dev/provider); with Auth0 this would be its multi-factor
# policy, "http://schemas.openid.net/pape/policies/2007/06/multi-factor".
TWO_FACTORS = "urn:dev:loa:2"


@login_required(acr=TWO_FACTORS)
def payouts(request):
    """A page only a two-factor login may see: a session that began with less is sent through
    the provider again, and comes back here."""
    user = get_logged_in_user(request)
    assert user is not None
    return HttpResponse(
        format_html(
            '<!doctype html><title>Payouts</title><h1 data-testid="payouts">Payouts</h1>'
            '<p data-testid="acr">{}</p>',
            user.acr,
        )
    )


@login_required(max_age=300)
def change_email(request):
    """Needs a login at most five minutes old."""
    user = get_logged_in_user(request)
    assert user is not None
    return JsonResponse({"auth_time": user.auth_time})


@login_required
def whoami(request):
    user = get_logged_in_user(request)
    assert user is not None  # login_required
    return JsonResponse({"name": user.name, "claims": dict(user.claims)})


class Profile(APIView):  # type: ignore[misc]
    """A Django REST framework endpoint: the session logs in, as for any Django view."""

    permission_classes = (IsAuthenticated,)

    def get(self, request):
        return Response({"user": request.user.get_username()})


urlpatterns = [
    path("reports/", reports),
    path("token-audience/", token_audience),
    path("token-subject/", token_subject),
    path("token-subject/<str:greeting>/", token_subject),
    path("whoami/", whoami),
    path("api-whoami/", api_whoami),
    path("payouts/", payouts),
    path("change-email/", change_email),
    path("api/profile/", Profile.as_view()),
    *site_urlpatterns,
]
