from django.urls import path, re_path

from bench.proxy.views import RevProxyWithBearer, bare
from config.urls import urlpatterns as site_urlpatterns

urlpatterns = [
    path("bench/bare/", bare),
    re_path(r"^bench/revproxy/(?P<path>.*)$", RevProxyWithBearer.as_view()),
    *site_urlpatterns,
]
