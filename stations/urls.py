from __future__ import annotations

from django.urls import path

from . import views

app_name = "stations"

urlpatterns = [
    path("", views.search, name="search"),
    path("basket/", views.basket, name="basket"),
    path("<str:monitoring_location_id>/", views.detail, name="detail"),
]
