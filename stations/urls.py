from __future__ import annotations

from django.urls import path

from . import converters, map_views, views  # noqa: F401  (converters registers <location_id:>)

app_name = "stations"

urlpatterns = [
    path("", views.search, name="search"),
    path("map/points.json", map_views.map_points, name="map-points"),
    path("basket/", views.basket, name="basket"),
    path("basket/add/", views.basket_add, name="basket-add"),
    path("basket/add-all/", views.basket_add_all, name="basket-add-all"),
    path("basket/remove/", views.basket_remove, name="basket-remove"),
    path("basket/clear/", views.basket_clear, name="basket-clear"),
    path("<location_id:monitoring_location_id>/", views.detail, name="detail"),
]
