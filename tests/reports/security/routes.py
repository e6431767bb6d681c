"""Walk config.urls and build a concrete URL for every named route."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern


@dataclass(frozen=True)
class NamedRoute:
    name: str  # "namespace:name", as reverse() takes it
    params: tuple[str, ...]  # URL parameter names
    int_params: tuple[str, ...]


def _params(pattern: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if isinstance(pattern, RoutePattern):
        names = tuple(pattern.converters)
        ints = tuple(n for n, c in pattern.converters.items() if type(c).__name__ == "IntConverter")
        return names, ints
    names = tuple(pattern.regex.groupindex)  # type: ignore[attr-defined]
    return names, ()


def _walk(patterns: list, namespace: str, inherited: tuple[str, ...], inherited_ints: tuple[str, ...]) -> Iterator[NamedRoute]:
    for entry in patterns:
        names, ints = _params(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else (entry.namespace or namespace)
            yield from _walk(entry.url_patterns, ns, inherited + names, inherited_ints + ints)
        elif isinstance(entry, URLPattern) and entry.name:
            qualified = f"{namespace}:{entry.name}" if namespace else entry.name
            yield NamedRoute(qualified, inherited + names, inherited_ints + ints)


def named_routes() -> dict[str, NamedRoute]:
    return {route.name: route for route in _walk(get_resolver().url_patterns, "", (), ())}


def build_url(route: NamedRoute, ids: dict[str, int], default_id: int | None) -> str:
    """Reverse `route`, giving each int parameter `<thing>_id` the id of the planted <thing>."""
    kwargs: dict[str, int] = {}
    for param in route.params:
        if param not in route.int_params:
            raise ValueError(f"{route.name}: cannot fill non-integer URL parameter {param!r}")
        thing = param.removesuffix("_id")
        value = ids.get(thing, default_id)
        if value is None:
            raise ValueError(f"{route.name}: no planted object for URL parameter {param!r}")
        kwargs[param] = value
    return reverse(route.name, kwargs=kwargs)
