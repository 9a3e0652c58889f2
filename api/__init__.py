"""The JSON API at /api/v1/ (DESIGN §12, issue 15): django-ninja, the OpenAPI document generated from this code,
personal bearer tokens or the session, and the roles and forms of the pages."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Swagger
from ninja.errors import HttpError

from streamflow import __version__

from . import configuration_endpoints, errors, percentile_endpoints, run_endpoints, station_endpoints, value_endpoints
from .auth import RateLimited, TokenOrSession
from .parser import RejectNulParser


def _authenticated(view: Callable) -> Callable:
    """The OpenAPI document and the docs page need a token or a session too (only login is public, DESIGN §8)."""

    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            TokenOrSession()(request)
        except HttpError as exc:
            response = JsonResponse({"detail": exc.message}, status=exc.status_code)
            if isinstance(exc, RateLimited):
                response["Retry-After"] = str(exc.retry_after)
            return response
        return view(request, *args, **kwargs)

    return checked


class StreamflowAPI(NinjaAPI):
    """NinjaAPI whose operationIds are the ones published while the API lived in streamflow/api/<resource>.py
    (ninja derives them from the module's name): clients generated from the OpenAPI document keep their names."""

    PUBLISHED_MODULES = {
        "api.station_endpoints": "streamflow.api.stations",
        "api.configuration_endpoints": "streamflow.api.configurations",
        "api.run_endpoints": "streamflow.api.runs",
        "api.value_endpoints": "streamflow.api.values",
    }

    def get_openapi_operation_id(self, operation) -> str:
        module = operation.view_func.__module__
        return (self.PUBLISHED_MODULES.get(module, module) + "_" + operation.view_func.__name__).replace(".", "_")


api = StreamflowAPI(
    title="Streamflow DataOps API",
    version=f"v1 ({__version__})",
    description="Stations, pull configurations, runs and stored discharge values. Authenticate with "
    "`Authorization: Bearer <token>` (create a token on the API tokens page, under your user menu). Viewers "
    'read; Operators also change and run. Errors are JSON: `{"detail": …, "errors": {field: [...]}}`.',
    auth=TokenOrSession(),
    parser=RejectNulParser(),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs_decorator=_authenticated,
    # The bundled Swagger UI files (ninja is in INSTALLED_APPS), and no call to swagger.io's validator.
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
)
errors.install(api)
api.add_router("/", station_endpoints.router)
api.add_router("/", configuration_endpoints.router)
api.add_router("/", run_endpoints.router)
api.add_router("/", value_endpoints.router)
api.add_router("/", percentile_endpoints.router)


def _api_login_not_required(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """The operations answer 401 JSON themselves; LoginRequiredMiddleware would redirect them to the login page.

    The docs page keeps the middleware, so a browser is sent to log in first; the OpenAPI document answers 401
    JSON like the operations (see _authenticated).
    """
    for pattern in patterns:
        name = getattr(pattern, "name", "")
        if isinstance(pattern, URLPattern) and name not in ("openapi-view",):
            pattern.callback = login_not_required(pattern.callback)
    return patterns


def api_urlpatterns() -> tuple:
    patterns, app_name, namespace = api.urls
    return _api_login_not_required(patterns), app_name, namespace
