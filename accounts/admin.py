"""Admin: identities, the session policy (one row, live), and the live sessions in Redis."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib import admin, auth, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, DurationField, Model, Q, Value
from django.db.models.functions import Concat
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
    LiveSession,
    all_sessions,
    end_session_by_key,
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
        user_filter = request.GET.get("user", "").strip()
        if user_filter:
            users = {user.pk: user for user in matching_users(user_filter)}
            sessions = sorted(
                (s for pk in users for s in sessions_of(pk)),
                key=lambda s: s.activity.last_activity,
                reverse=True,
            )
        else:
            sessions = all_sessions()
            users = get_user_model().objects.in_bulk([_pk(s) for s in sessions if _pk(s)])
        rows = [_row(request, s, users.get(_pk(s))) for s in sessions]
        context = {
            **self.admin_site.each_context(request),
            "title": "Active sessions",
            "opts": self.model._meta,
            "rows": rows,
            "user_filter": user_filter,
            # "End all" is offered when the filter found one person.
            "only_user": next(iter(users.values())) if user_filter and len(users) == 1 else None,
            "can_revoke": self.has_delete_permission(request),
        }
        return TemplateResponse(request, "admin/accounts/activesession/change_list.html", context)

    def revoke_view(self, request: HttpRequest) -> HttpResponse:
        """POST from the list: a page that asks; POST from that page (``confirm``): end them."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_delete_permission(request):
            raise PermissionDenied
        user_id = request.POST.get("user", "")
        user = get_user_model().objects.filter(pk=user_id).first() if user_id.isdigit() else None
        live = sessions_of(user_id) if user_id else []
        if request.POST.get("all") != "1":
            live = [s] if (s := find_by_handle(live, request.POST.get("handle", ""))) else []
        back = (
            reverse("admin:accounts_activesession_changelist")
            + f"?{urlencode({'user': request.POST.get('back', user_id)})}"
        )
        if not live:
            messages.warning(request, "That session had already ended.")
            return HttpResponseRedirect(back)
        if request.POST.get("confirm") != "yes":
            return self._confirm(request, user, live, back)
        current = request.session.session_key
        for session in live:
            end_session_by_key(session.session_key, reason="revoked_by_admin")
        who = _user_label(user, user_id)
        ended = "one session" if len(live) == 1 else f"{len(live)} sessions"
        if any(s.session_key == current for s in live):
            # The admin's own session is gone from Redis: log out here too, or this response
            # would save the session again and the admin would stay half logged in.
            auth.logout(request)
            messages.success(request, f"Ended {ended} of {who}, including yours: log in again.")
            return HttpResponseRedirect(reverse("admin:login"))
        messages.success(request, f"Ended {ended} of {who}.")
        return HttpResponseRedirect(back)

    def _confirm(
        self, request: HttpRequest, user: Any, live: list[LiveSession], back: str
    ) -> HttpResponse:
        rows = [_row(request, s, user) for s in live]
        context = {
            **self.admin_site.each_context(request),
            "title": "Are you sure?",
            "opts": self.model._meta,
            "rows": rows,
            "who": _user_label(user, request.POST.get("user", "")),
            "user_id": request.POST.get("user", ""),
            "handle": request.POST.get("handle", ""),
            "all": request.POST.get("all") == "1",
            "back": back,
            "back_filter": request.POST.get("back", ""),
            "includes_this_session": any(row["current"] for row in rows),
        }
        return TemplateResponse(
            request, "admin/accounts/activesession/revoke_confirmation.html", context
        )


def matching_users(text: str) -> list[Any]:
    """The users a filter names: an existing user's id exactly, else part of a username, email
    address or name, in any case (usernames made at login, such as alice-6cba550787, are not
    typed whole).
    """
    model = get_user_model()
    if text.isdigit():
        by_id = list(model.objects.filter(pk=int(text)))
        if by_id:
            return by_id
        # Not an id: digits from a generated username (alice-6cba550787 can end in digits).
    names = {f.name for f in model._meta.get_fields()}
    wanted = [model.USERNAME_FIELD, model.get_email_field_name(), "first_name", "last_name"]
    query = Q()
    for field in (f for f in wanted if f in names):
        query |= Q(**{f"{field}__icontains": text})
    found = model.objects.all()
    if {"first_name", "last_name"} <= names:
        # "Alice Example" as the admin reads it, across the two fields.
        full_name = Concat("first_name", Value(" "), "last_name", output_field=CharField())
        query |= Q(full_name__icontains=text)
        found = found.alias(full_name=full_name)
    # A filter is a search, not an export: enough rows for a page.
    return list(found.filter(query).order_by(model.USERNAME_FIELD)[:100])


def _pk(session: LiveSession) -> int | None:
    return int(session.activity.user_id) if session.activity.user_id.isdigit() else None


def _row(request: HttpRequest, session: LiveSession, user: Any) -> dict[str, Any]:
    return {
        "session": session,
        "user": user,
        "label": _user_label(user, session.activity.user_id),
        "current": session.session_key == request.session.session_key,
    }


def _user_label(user: Any, user_id: str) -> str:
    """How messages and pages name a user: username, and the display name when there is one."""
    if user is None:
        return f"user {user_id}"
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = user.get_username()
    return f"{username} ({name})" if name and name != username else username
