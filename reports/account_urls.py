from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from reports.views import account

urlpatterns = [
    path("login/", account.LoginView.as_view(), name="login"),
    path("login/code/", account.login_code_view, name="login-code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", account.account_view, name="account"),
    path("two-step/", account.totp_enrol_view, name="totp-enrol"),
    path("two-step/remove/", account.totp_remove_view, name="totp-remove"),
]
