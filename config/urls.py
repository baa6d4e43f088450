from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("proxy.urls")),
    path("", include("accounts.urls")),
]

# Errors raised outside a view (Redis failing while the session middleware saves, say) reach
# Django's handler500; it hands them to the same code that renders view errors.
handler500 = "accounts.error_pages.server_error"
