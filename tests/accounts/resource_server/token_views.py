"""A URLconf with an API view that checks access tokens, for the system check accounts.E020."""

from django.http import JsonResponse
from django.urls import path

from accounts.resource_server import require_access_token


@require_access_token(scopes=["read:notes"])
def notes(request):
    return JsonResponse({"sub": request.access_token_claims["sub"]})


urlpatterns = [path("notes/", notes)]
