from django.urls import re_path

from proxy import views

app_name = "proxy"

# The forwarded part is matched loosely here on purpose: ``proxy.paths`` checks it on the raw
# request path, which is stricter than any pattern over Django's decoded path could be.
urlpatterns = [
    re_path(r"^api/proxy/(?P<upstream>[^/]+)(?P<path>/.*)?$", views.proxy, name="proxy"),
]
