from django.urls import path

from accounts import backchannel, pages, views
from accounts.oidc import published_keys

app_name = "accounts"

urlpatterns = [
    path("auth/login/", views.LoginView.as_view(), name="login"),
    path("auth/callback/", views.CallbackView.as_view(), name="callback"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/session/", pages.session_info, name="session"),
    path("auth/backchannel-logout/", backchannel.backchannel_logout, name="backchannel_logout"),
    path("auth/jwks.json", published_keys.jwks, name="jwks"),
    path("account/", pages.account, name="account"),
    path("account/session/", pages.session_page, name="session_page"),
    path("account/session/end/", pages.end_other_session, name="end_other_session"),
]
