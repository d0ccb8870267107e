"""URLs of bench/admin_list.py's site: the Django admin alone."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
