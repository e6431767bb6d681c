"""An upload handler that stops reading any uploaded file past settings.IMPORT_MAX_BYTES.

Django spools every upload to a temporary file before a view runs (the CSRF check alone parses
the body), so a view-level size check comes too late to spare the disk. Listed first in
FILE_UPLOAD_HANDLERS, this handler stops the upload as soon as a file passes the limit; the
view then answers 413 from the request's Content-Length (SECURITY.md promise 12).
"""
from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# Set on the request when this handler cut a file off, so the view can say why the file is missing.
OVER_LIMIT_ATTR = "radlabel_upload_over_limit"


class MaxSizeUploadHandler(FileUploadHandler):
    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.IMPORT_MAX_BYTES:
            setattr(self.request, OVER_LIMIT_ATTR, True)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
