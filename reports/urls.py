from __future__ import annotations

from django.urls import path

from reports.views import home

app_name = "reports"
urlpatterns = [
    path("", home.home, name="home"),
]
