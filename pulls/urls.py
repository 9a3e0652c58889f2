from __future__ import annotations

from django.urls import path

import stations.converters  # noqa: F401  (registers <location_id:>)

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
    path("<int:pk>/toggle/row/", views.configuration_toggle_row, name="toggle_row"),
    path("<int:pk>/toggle/status/", views.configuration_toggle_status, name="toggle_status"),
    path("<int:pk>/run/", views.configuration_run_now, name="run_now"),
    path("<int:pk>/backfill/", views.configuration_backfill, name="backfill"),
    # The form's live schedule part, and its secondary buttons: each under new/ (the basket's stations) and
    # under <pk>/edit/ (an existing configuration's), by the same name.
    path("schedule/fields/", views.configuration_schedule_fields, name="schedule_fields"),
    path("schedule/preview/", views.configuration_schedule_preview, name="schedule_preview"),
]
for prefix in ("new/", "<int:pk>/edit/"):
    urlpatterns += [
        path(f"{prefix}discard/", views.form_discard, name="form_discard"),
        path(
            f"{prefix}stations/<location_id:monitoring_location_id>/remove/",
            views.form_remove_station,
            name="form_remove_station",
        ),
        path(f"{prefix}refresh-stations/", views.form_refresh_stations, name="form_refresh_stations"),
        path(f"{prefix}drop-without-series/", views.form_drop_without_series, name="form_drop_without_series"),
        path(f"{prefix}search-stations/", views.form_search_stations, name="form_search_stations"),
    ]
urlpatterns.append(path("<int:pk>/edit/add-basket/", views.form_add_basket, name="form_add_basket"))
