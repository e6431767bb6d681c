from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config import views

# API clients parse JSON: a malformed id or request under /api/ must not answer an HTML page.
handler400 = "config.views.refused"
handler404 = "config.views.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("reports.account_urls")),
    path("api/v1/", include("reports.api_urls")),
    path("api/v1/", include("annotation.api_urls")),
    path("api/v1/", include("training.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The dashboard spans every app, so it lives here, above them (docs/ARCHITECTURE.md).
    path("", views.home, name="home"),
    path("", include("reports.urls")),
    path("", include("annotation.urls")),
    path("", include("training.urls")),
]
