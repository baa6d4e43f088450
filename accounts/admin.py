from django.contrib import admin

from accounts.models import OIDCIdentity


@admin.register(OIDCIdentity)
class OIDCIdentityAdmin(admin.ModelAdmin[OIDCIdentity]):
    list_display = ("user", "subject", "issuer", "created_at", "last_login_at")
    list_filter = ("issuer",)
    search_fields = ("subject", "user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "last_login_at")
