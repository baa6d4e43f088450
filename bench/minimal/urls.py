from django.http import JsonResponse
from django.urls import path


def session_view(request):
    return JsonResponse({"ok": True, "user": request.session.get("_auth_user_id")})


urlpatterns = [path("bench/minimal/", session_view)]
