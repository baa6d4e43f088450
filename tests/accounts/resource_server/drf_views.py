"""A Django REST framework API of notes whose authentication is ``AccessTokenAuthentication``
with the validator a test gives: it answers who the token's user is and which scopes it has."""

from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.resource_server.drf import AccessTokenAuthentication


def notes_view(validator, permissions=(IsAuthenticated,), **attributes):
    class Auth(AccessTokenAuthentication):
        pass

    Auth.validator = validator

    class Notes(APIView):  # type: ignore[misc]
        authentication_classes = (Auth,)
        permission_classes = permissions

        def get(self, request):
            return Response({"sub": request.user.sub, "scopes": sorted(request.user.scopes)})

    for name, value in attributes.items():
        setattr(Notes, name, value)
    return Notes.as_view()
