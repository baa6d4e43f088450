"""Admin: identities, the session policy (one row, live), and the live sessions in Redis."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import DurationField, Model
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin_access.password_login import AdminLoginForm
from accounts.models import ActiveSession, OIDCIdentity, SessionPolicy
from accounts.sessions import lifetimes
from accounts.sessions.advice import lifetime_advice, skew_advice
from accounts.sessions.durations import DurationField as ShortDurationField
from accounts.sessions.durations import format_duration
from accounts.sessions.live import (
    all_sessions,
    end_session_by_key,
    end_sessions_of,
    find_by_handle,
    sessions_of,
)

# The admin classes are generic for the type checker only: at run time ModelAdmin is not
# subscriptable unless a project applies django-stubs-ext's monkeypatch, which these reusable
# apps must not require.
if TYPE_CHECKING:
    _IdentityAdmin = admin.ModelAdmin[OIDCIdentity]
    _PolicyAdmin = admin.ModelAdmin[SessionPolicy]
    _SessionsAdmin = admin.ModelAdmin[ActiveSession]
else:
    _IdentityAdmin = _PolicyAdmin = _SessionsAdmin = admin.ModelAdmin

# The admin's login page offers the provider, and honours ACCOUNTS_PASSWORD_LOGIN. A project that
# gave the default site a login form or template of its own keeps it.
if admin.site.login_form is None and admin.site.login_template is None:
    admin.site.login_form = AdminLoginForm
    admin.site.login_template = "admin/accounts/login.html"


@admin.register(OIDCIdentity)
class OIDCIdentityAdmin(_IdentityAdmin):
    list_display = ("user", "subject", "issuer", "created_at", "last_login_at")
    list_filter = ("issuer",)
    search_fields = ("subject", "user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "last_login_at")


@admin.register(SessionPolicy)
class SessionPolicyAdmin(_PolicyAdmin):
    # The fields read and show 12h, 30d (as the CLI and the docs write them) and still take
    # Django's "7 00:00:00".
    formfield_overrides = {DurationField: {"form_class": ShortDurationField}}  # noqa: RUF012
    fieldsets = (
        ("Session lifetime", {"fields": ("absolute_lifetime", "inactivity_timeout")}),
        ("Precision and tokens", {"fields": ("activity_interval", "refresh_skew")}),
        ("For advice", {"fields": ("refresh_token_lifetime",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the one row exists from the first migration on

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        SessionPolicy.objects.get_or_create(pk=1)
        return HttpResponseRedirect(reverse("admin:accounts_sessionpolicy_change", args=[1]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method == "GET":
            policy = lifetimes.Policy.from_model(SessionPolicy.objects.get(pk=1))
            for advice in (lifetime_advice(policy), skew_advice(policy)):
                if advice:
                    messages.warning(request, advice)
            messages.info(request, _implications(policy))
        return super().change_view(request, object_id, form_url, extra_context)

    def construct_change_message(
        self, request: HttpRequest, form: Form, formsets: Any, add: bool = False
    ) -> list[dict[str, dict[str, list[str]]]]:
        # The admin log says who changed what, and from what to what.
        fields = [
            f"{form.fields[name].label}: {_shown(form.initial.get(name))} -> "
            f"{_shown(form.cleaned_data[name])}"
            for name in form.changed_data
        ]
        return [{"changed": {"fields": fields}}] if fields else []


def _shown(value: Any) -> str:
    return format_duration(value) if isinstance(value, timedelta) else str(value)


def _implications(policy: lifetimes.Policy) -> str:
    human = lifetimes.human_duration
    return (
        f"Every session ends {human(policy.absolute_lifetime)} after login, or after "
        f"{human(policy.inactivity_timeout)} without a request, whichever comes first. "
        f"Activity is recorded every {human(policy.activity_interval)}, so an idle session may "
        f"end up to that much early. Changes apply to existing sessions on their next request."
    )


@admin.register(ActiveSession)
class ActiveSessionAdmin(_SessionsAdmin):
    """The live sessions, read from the Redis index: there is no table behind this."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        from django.urls import path

        return [
            path(
                "",
                self.admin_site.admin_view(self.changelist_view),
                name="accounts_activesession_changelist",
            ),
            path(
                "revoke/",
                self.admin_site.admin_view(self.revoke_view),
                name="accounts_activesession_revoke",
            ),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        user_filter = _user_id(request.GET.get("user", "").strip())
        sessions = sessions_of(user_filter) if user_filter else all_sessions()
        users = get_user_model().objects.in_bulk([s.activity.user_id for s in sessions])
        rows = [
            {
                "session": s,
                "user": users.get(int(s.activity.user_id))
                if s.activity.user_id.isdigit()
                else None,
            }
            for s in sessions
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Active sessions",
            "opts": self.model._meta,
            "rows": rows,
            "user_filter": user_filter,
            "can_revoke": self.has_delete_permission(request),
        }
        return TemplateResponse(request, "admin/accounts/activesession/change_list.html", context)

    def revoke_view(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_delete_permission(request):
            raise PermissionDenied
        user_id = request.POST.get("user", "")
        back = (
            reverse("admin:accounts_activesession_changelist") + f"?{urlencode({'user': user_id})}"
        )
        if request.POST.get("all") == "1" and user_id:
            count = end_sessions_of(user_id, reason="revoked_by_admin")
            messages.success(request, f"Ended {count} session(s) of user {user_id}.")
            return HttpResponseRedirect(back)
        live = find_by_handle(sessions_of(user_id), request.POST.get("handle", ""))
        if live is None:
            messages.warning(request, "That session had already ended.")
        else:
            end_session_by_key(live.session_key, reason="revoked_by_admin")
            messages.success(request, f"Ended one session of user {user_id}.")
        return HttpResponseRedirect(back)


def _user_id(value: str) -> str:
    """The filter takes a user id or a username; the index is keyed by id."""
    if not value or value.isdigit():
        return value
    user = get_user_model().objects.filter(username=value).first()
    return str(user.pk) if user else value
