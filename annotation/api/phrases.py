"""Phrase curation over the API: a label's phrase table, an exact preview of an edit, saving it.

Curators of the protocol only: other members get 403, everyone else 404 (the protocol is not
theirs to know about).
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Label
from annotation.permissions import Action, get_protocol_for_action
from annotation.selectors.phrase_preview import phrase_preview
from annotation.selectors.phrases import label_for_protocol, phrase_table
from annotation.services.phrases import (
    PhraseEdit,
    PhraseEditConflict,
    PhraseEditInvalid,
    engine_schema_after,
    phrase_change_save,
    phrase_edit_from_lists,
    phrase_edit_plan,
)
from annotation.services.schemas import schema_for_protocol, schema_to_engine
from reports.models import Protocol


class PhraseEditInSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=100, help_text="The label's name, e.g. Pleural Effusion.")
    add = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=200,
        help_text="Phrases to add (or to enable again, when the label has them disabled).",
    )
    disable = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=200,
        help_text="Phrases to disable: the label's own, or ones the engine infers (synonyms, abbreviations).",
    )
    order = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=1000,
        help_text="New priority, first = highest: these phrases of the label in this order, then its others "
        "as they were. The best-ranked matching phrase sets p.",
    )


class PhraseChangeInSerializer(PhraseEditInSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class PrecisionSerializer(serializers.Serializer):
    estimate = serializers.FloatField(allow_null=True)
    low = serializers.FloatField()
    high = serializers.FloatField()
    judged = serializers.IntegerField()


class PhraseOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null for phrases the engine infers.")
    label = serializers.CharField()
    text = serializers.CharField()
    source = serializers.CharField(help_text="schema, curator, abbreviation, synonym, implied, attribute, uncertain or earlier.")
    priority = serializers.IntegerField(allow_null=True)
    enabled = serializers.BooleanField()
    hits = serializers.IntegerField()
    reports = serializers.IntegerField()
    negated_share = serializers.FloatField()
    uncertain_share = serializers.FloatField()
    precision = PrecisionSerializer()
    weak = serializers.BooleanField()


class PreviewOutSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="Studies where a soft label's value or p would change.")
    transitions = serializers.DictField(
        child=serializers.IntegerField(), help_text='Soft labels whose value or p would change, e.g. {"absent->positive": 3}.'
    )
    studies = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Every study whose soft_labels (GET /api/v1/studies/{id}/) the relabel will change.",
    )
    evidence_only = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Studies whose soft labels keep value and p but will cite other evidence (not in `studies`).",
    )
    elapsed_ms = serializers.IntegerField()
    candidates = serializers.IntegerField(help_text="Reports the engine read for the preview.")
    reports = serializers.IntegerField()
    phrase_set_hash_before = serializers.CharField()
    phrase_set_hash_after = serializers.CharField()


_BAD_REQUEST = OpenApiResponse(
    response=inline_serializer("PhraseEditError", {"detail": serializers.CharField(), "unknown": serializers.ListField(child=serializers.CharField())}),
    description="An unknown label or phrase (named in `unknown`), or an edit that contradicts itself.",
)


_FORBIDDEN = OpenApiResponse(description="A member of the protocol who is not one of its curators.")
_NOT_FOUND = OpenApiResponse(description="No such protocol among the caller's.")


def _curated_protocol(request: Request, protocol_id: int) -> Protocol:
    return get_protocol_for_action(request.user, protocol_id, Action.CURATE)


def _label(protocol: Protocol, name: str | None) -> Label | Response:
    label = label_for_protocol(protocol=protocol, name=name) if name else None
    if label is None:
        shown = (name or "")[:100]
        return Response({"detail": f"Unknown label {shown!r}.", "unknown": [shown]}, status=400)
    return label


def _invalid(error: PhraseEditInvalid) -> Response:
    return Response({"detail": str(error), "unknown": error.unknown}, status=400)


def _edit(data: dict[str, Any]) -> PhraseEdit:
    return phrase_edit_from_lists(add=data["add"], disable=data["disable"], order=data["order"])


class ProtocolPhrasesApi(APIView):
    @extend_schema(
        operation_id="protocol_phrases_list",
        parameters=[OpenApiParameter("label", OpenApiTypes.STR, required=True, description="The label's name.")],
        responses={200: PhraseOutSerializer(many=True), 400: _BAD_REQUEST, 403: _FORBIDDEN, 404: _NOT_FOUND},
        description="Every phrase that can fire for the label (its own, inferred, curator-added) with hits, reports "
        "touched and precision (95% interval). Curators of the protocol only.",
    )
    def get(self, request: Request, protocol_id: int) -> Response:
        protocol = _curated_protocol(request, protocol_id)
        label = _label(protocol, request.query_params.get("label"))
        if isinstance(label, Response):
            return label
        table = phrase_table(protocol=protocol, label=label)
        return Response([row.to_json(label) for row in table.rows])


class PhrasePreviewApi(APIView):
    @extend_schema(
        operation_id="protocol_phrase_preview",
        request=PhraseEditInSerializer,
        responses={200: PreviewOutSerializer, 400: _BAD_REQUEST, 403: _FORBIDDEN, 404: _NOT_FOUND},
        description="Which studies' soft labels the edit would change, exactly as the relabel after saving it "
        "would (including reports already stale). Nothing is saved.",
    )
    def post(self, request: Request, protocol_id: int) -> Response:
        protocol = _curated_protocol(request, protocol_id)
        body = PhraseEditInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        label = _label(protocol, body.validated_data["label"])
        if isinstance(label, Response):
            return label
        try:
            plan = phrase_edit_plan(protocol=protocol, label=label, edit=_edit(body.validated_data))
        except PhraseEditInvalid as error:
            return _invalid(error)
        preview = phrase_preview(
            protocol=protocol,
            old_schema=schema_to_engine(schema_for_protocol(protocol)),
            new_schema=engine_schema_after(protocol=protocol, plan=plan),
        )
        return Response(
            {
                "changed": len(preview.value_studies),
                "transitions": preview.transitions(evidence_only=False),
                "studies": preview.value_studies,
                "evidence_only": preview.evidence_only_studies,
                "elapsed_ms": preview.elapsed_ms,
                "candidates": preview.candidates,
                "reports": preview.reports,
                "phrase_set_hash_before": preview.hash_before,
                "phrase_set_hash_after": preview.hash_after,
            }
        )


class PhraseChangesApi(APIView):
    @extend_schema(
        operation_id="protocol_phrase_changes_create",
        request=PhraseChangeInSerializer,
        responses={
            202: inline_serializer("PhraseChangeAccepted", {"job": serializers.IntegerField(), "change": serializers.IntegerField()}),
            400: _BAD_REQUEST,
            403: _FORBIDDEN,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="A relabel of the protocol is running; save again when it has finished."),
        },
        description="Save the edit (with its history) and start the relabel; follow GET /api/v1/jobs/{job}/.",
    )
    def post(self, request: Request, protocol_id: int) -> Response:
        protocol = _curated_protocol(request, protocol_id)
        body = PhraseChangeInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        label = _label(protocol, body.validated_data["label"])
        if isinstance(label, Response):
            return label
        try:
            plan = phrase_edit_plan(protocol=protocol, label=label, edit=_edit(body.validated_data))
            change = phrase_change_save(
                protocol=protocol, plan=plan, actor=request.user, reason=body.validated_data["reason"],
                request=request._request, channel="api",
            )
        except PhraseEditInvalid as error:
            return _invalid(error)
        except PhraseEditConflict as conflict:
            return Response({"detail": str(conflict)}, status=409)
        return Response({"job": change.job_id, "change": change.pk}, status=202)
