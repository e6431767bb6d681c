"""The errors every API operation can answer, added to the OpenAPI schema in one place.

Views document what their own code answers (201, 409, ...). What DRF and the URL resolver answer
around them (401 without credentials, 403 for a role or a CSRF failure, 404 for an id out of
scope, 415 for a body in a media type no parser reads) would otherwise be missing from every operation, and a client generated from the schema
(or Schemathesis, SECURITY.md promise 11) would meet undocumented status codes.
"""
from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
ERROR_COMPONENT = "Error"
# What DRF answers when a serializer refuses input: field name -> messages (a nested serializer
# gives a mapping of the same shape, a list of them a list).
VALIDATION_SCHEMA = {
    "type": "object",
    "additionalProperties": {"anyOf": [{"type": "array"}, {"type": "object"}]},
}
VALIDATION_COMPONENT = "ValidationErrors"
COMMON_ERRORS = {
    "401": "No credentials, or a wrong or expired token.",
    "403": "The caller's role may not do this, or a session caller's CSRF token is missing.",
}
NOT_FOUND = "Not found, or outside the caller's protocols (or a page past the last)."
UNSUPPORTED_MEDIA_TYPE = "The body's media type is not one the operation reads."
BAD_REQUEST = "Refused input: `detail`, or the fields at fault with their messages."


def _ref(component: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component}"}


def _error_response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or _ref(ERROR_COMPONENT)}},
    }


def _takes_input(operation: dict[str, Any]) -> bool:
    return "requestBody" in operation or any(p.get("in") == "query" for p in operation.get("parameters", []))


def _is_paginated(operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "query" and p.get("name") == "page" for p in operation.get("parameters", []))


def _widen_bad_request(responses: dict[str, Any]) -> None:
    """Let a documented 400 also carry DRF's field errors or a parse error's `detail`."""
    for media in responses.get("400", {}).get("content", {}).values():
        schema = media.get("schema")
        if schema and _ref(VALIDATION_COMPONENT) not in schema.get("anyOf", []):
            options = [schema, _ref(ERROR_COMPONENT), _ref(VALIDATION_COMPONENT)]
            media["schema"] = {"anyOf": [option for n, option in enumerate(options) if option not in options[:n]]}


def document_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: add 400 / 401 / 403 / 404 / 415 where an operation lacks them.

    An operation without `security` (the token endpoint) takes no credentials, so it gets no
    401 / 403; one that takes input can answer 400; a path with an id, or a page number, 404;
    one with a body, 415 (DRF's parsers refuse other media types).
    A view's own description of a code wins, but its 400 is widened to DRF's field errors.
    """
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(ERROR_COMPONENT, ERROR_SCHEMA)
    components.setdefault(VALIDATION_COMPONENT, VALIDATION_SCHEMA)
    for path, methods in result.get("paths", {}).items():
        for operation in methods.values():
            responses = operation.setdefault("responses", {})
            _widen_bad_request(responses)
            errors = dict(COMMON_ERRORS) if operation.get("security") else {}
            if "{" in path or _is_paginated(operation):
                errors["404"] = NOT_FOUND
            if "requestBody" in operation:
                errors["415"] = UNSUPPORTED_MEDIA_TYPE
            for code, description in errors.items():
                responses.setdefault(code, _error_response(description))
            if _takes_input(operation):
                bad_request = {"anyOf": [_ref(ERROR_COMPONENT), _ref(VALIDATION_COMPONENT)]}
                responses.setdefault("400", _error_response(BAD_REQUEST, bad_request))
    return result
