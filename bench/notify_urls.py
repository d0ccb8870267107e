"""URLs of the bench site: antom_django under antom/, and the floor view."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from bench.notify_site import ACK, FLOOR_TABLE


@csrf_exempt
def floor(request: HttpRequest) -> HttpResponse:
    """One INSERT and the acknowledgment: the floor antom_django's notify/ is measured against."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (body, created_at) VALUES (%s, now())", [request.body.decode()])
    return HttpResponse(ACK, content_type="application/json")


urlpatterns = [
    path("antom/", include("antom_django.urls")),
    path("floor/", floor),
]
