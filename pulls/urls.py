from __future__ import annotations

from django.urls import path

from . import views

app_name = "pulls"

urlpatterns = [
    path("", views.configuration_list, name="list"),
    path("new/", views.configuration_create, name="create"),
    path("<int:pk>/", views.configuration_detail, name="detail"),
    path("<int:pk>/edit/", views.configuration_edit, name="edit"),
    path("<int:pk>/take-basket/", views.configuration_take_basket, name="take_basket"),
    path("<int:pk>/delete/", views.configuration_delete, name="delete"),
    path("<int:pk>/toggle/", views.configuration_toggle, name="toggle"),
    path("<int:pk>/run/", views.configuration_run_now, name="run_now"),
    path("<int:pk>/backfill/", views.configuration_backfill, name="backfill"),
]
