from django.contrib import admin
from django.urls import include, path

from config import health, views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("", include("proxy.urls")),
    path("", include("accounts.urls")),
    path("", views.home, name="home"),
]

# Errors raised outside a view (Redis failing while the session middleware saves, say) reach
# Django's handler500; it hands them to the same code that renders view errors.
handler500 = "accounts.error_pages.server_error"
