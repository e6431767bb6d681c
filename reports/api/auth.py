"""Token sign-in for API clients, counted by django-axes like the login page."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from reports.serializers import ErrorSerializer, TokenObtainInputSerializer, TokenOutputSerializer
from reports.services.totp import totp_token_problem

LOCKED_MESSAGE = "Too many failed sign-ins: this account is locked for a while. Try later or ask an administrator."


def lockout_response(request: HttpRequest, credentials: dict[str, Any] | None) -> HttpResponse:
    """What django-axes answers a locked-out attempt (settings.AXES_LOCKOUT_CALLABLE).

    API clients get JSON they can show; browsers get the lockout page. The username is not
    echoed back, so the answer is the same whether or not the account exists.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": LOCKED_MESSAGE}, status=status.HTTP_429_TOO_MANY_REQUESTS)
    return render(request, "registration/locked_out.html", status=status.HTTP_429_TOO_MANY_REQUESTS)


class TokenObtainApi(APIView):
    # No authentication: a stale or wrong token must not stop a client from getting a new one.
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        operation_id="auth_token_obtain",
        request=TokenObtainInputSerializer,
        responses={
            200: TokenOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Missing or wrong credentials or one-time code."),
            429: OpenApiResponse(ErrorSerializer, description="Locked out after repeated failures, or throttled."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        credentials = dict(serializer.validated_data)
        otp = credentials.pop("otp", "")
        # The plain HttpRequest, so axes records the failure against this client and username.
        user = authenticate(request=request._request, **credentials)
        if getattr(request._request, "axes_locked_out", False):
            return Response({"detail": LOCKED_MESSAGE}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None or not user.is_active:
            return Response(
                {"detail": "Unable to sign in with these credentials: check the username and password."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        problem = totp_token_problem(request=request._request, user=user, otp=otp)
        if problem:
            if getattr(request._request, "axes_locked_out", False):
                return Response({"detail": LOCKED_MESSAGE}, status=status.HTTP_429_TOO_MANY_REQUESTS)
            return Response({"detail": problem}, status=status.HTTP_400_BAD_REQUEST)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
