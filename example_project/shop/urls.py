"""The shop's pages."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.products, name="products"),
    path("orders/", views.orders, name="orders"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("checkout/result/", views.result, name="result"),
    path("checkout/<str:number>/", views.checkout, name="checkout"),
]
