"""/api/v1/training/jobs/: launch, cancel and read training jobs; predictions; the model file.

Data scientists of the job's protocol only: other members get 403, everyone else 404.
"""
from __future__ import annotations

from django.http import FileResponse, Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from training.selectors.cohorts import get_cohort_for_user
from training.selectors.jobs import get_run_for_user, predictions_for_run, run_api_payload
from training.serializers.jobs import (
    PredictionPageSerializer,
    PredictionQuerySerializer,
    TrainingJobCreatedSerializer,
    TrainingJobCreateSerializer,
    TrainingJobOutSerializer,
)
from training.services.artifacts import (
    artifact_download_audit,
    artifact_path,
    artifact_predictions_audit,
)
from training.services.jobs import TrainingRequestInvalid, training_job_cancel, training_job_create

PREDICTIONS_PAGE = 5000


class TrainingJobCreateApi(APIView):
    @extend_schema(
        operation_id="training_job_create",
        request=TrainingJobCreateSerializer,
        responses={201: TrainingJobCreatedSerializer, 400: OpenApiResponse(description="Invalid request."),
                   403: OpenApiResponse(description="Not a data scientist on the protocol."),
                   404: OpenApiResponse(description="No such cohort for the caller.")},
    )
    def post(self, request: Request) -> Response:
        data = TrainingJobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cohort = get_cohort_for_user(request.user, data.validated_data["cohort"])
        try:
            job = training_job_create(cohort=cohort, actor=request.user, request=data.validated_data)
        except TrainingRequestInvalid as invalid:
            return Response(invalid.errors, status=400)
        return Response({"id": job.pk, "url": reverse("api-training-job-detail", args=[job.pk])}, status=201)


class TrainingJobDetailApi(APIView):
    @extend_schema(operation_id="training_job_detail", responses={200: TrainingJobOutSerializer})
    def get(self, request: Request, training_job_id: int) -> Response:
        return Response(run_api_payload(get_run_for_user(request.user, training_job_id)))


class TrainingJobCancelApi(APIView):
    @extend_schema(operation_id="training_job_cancel", request=None,
                   responses={202: OpenApiResponse(description="Cancelled (or already finished: the status says which).")})
    def post(self, request: Request, training_job_id: int) -> Response:
        run = get_run_for_user(request.user, training_job_id)
        training_job_cancel(job=run.job)
        return Response({"id": run.job_id, "status": run.job.status}, status=202)


class TrainingPredictionsApi(APIView):
    @extend_schema(operation_id="training_job_predictions", parameters=[PredictionQuerySerializer],
                   responses={200: PredictionPageSerializer})
    def get(self, request: Request, training_job_id: int) -> Response:
        run = get_run_for_user(request.user, training_job_id)
        query = PredictionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        split, page = query.validated_data["split"], query.validated_data["page"]
        rows = predictions_for_run(run, split)
        count = rows.count()
        start = (page - 1) * PREDICTIONS_PAGE
        results = [
            {"study": study, "label": label, "p": p, "target": target, "baseline_p": baseline}
            for study, label, p, target, baseline in rows.values_list("study_id", "label", "p", "target", "baseline_p")[
                start : start + PREDICTIONS_PAGE
            ]
        ]
        artifact_predictions_audit(run=run, actor=request.user, request=request, split=split, page=page)
        next_url = None
        if start + PREDICTIONS_PAGE < count:
            next_url = request.build_absolute_uri(f"{request.path}?split={split}&page={page + 1}")
        return Response({"count": count, "next": next_url, "results": results})


class TrainingModelApi(APIView):
    @extend_schema(operation_id="training_job_model", responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, training_job_id: int) -> FileResponse:
        run = get_run_for_user(request.user, training_job_id)
        path = artifact_path(run)
        if path is None:
            raise Http404("This job has no model file")
        artifact_download_audit(run=run, actor=request.user, request=request, channel="api")
        response = FileResponse(path.open("rb"), as_attachment=True, filename=f"training-job-{run.job_id}-model.pt",
                                content_type="application/octet-stream")
        response["X-Weights-SHA256"] = run.artifact_sha256
        return response
