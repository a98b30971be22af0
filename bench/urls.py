"""The portal's URLs plus ``GET /api/bench/one-row``: the baseline the dashboard is compared with.

A DRF view behind the same middleware, session authentication and permission as the dashboard
that reads one row (the signed-in user) by primary key and answers a few of its fields.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.models import User
from portal.urls import urlpatterns as portal_urlpatterns

BASELINE = "/api/bench/one-row"


class OneRowApi(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        row = User.objects.values("id", "email", "first_name", "last_name").get(pk=request.user.pk)
        return Response(row)


urlpatterns = [path(BASELINE.lstrip("/"), OneRowApi.as_view()), *portal_urlpatterns]
