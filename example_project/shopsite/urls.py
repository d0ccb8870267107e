"""The shop's URLs: its own pages, antom_django's endpoints and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("antom/", include("antom_django.urls")),
    path("", include("shop.urls")),
]
