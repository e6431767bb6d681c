"""Template helpers for the import pages."""
from __future__ import annotations

from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from reports.models import Protocol
from reports.permissions import IMPORT_ROLES

register = template.Library()


@register.filter
def can_import(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether the nav shows Import: the user curates or does data science on some protocol."""
    return Protocol.objects.visible_to(user, IMPORT_ROLES).exists()
