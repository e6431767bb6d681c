"""QIDO-RS paging and series-by-series WADO-RS, against a small DICOMweb server of our own.

The server is real HTTP on loopback (not a mock of urllib), so the client's URLs, headers and
multipart parsing are what a PACS would see and send; each test sets how the server pages
(honours limit / offset or not, caps its answers with a Warning) and reads back what was asked.
"""
from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reports.pacs.dicomweb import PacsError, qido_series, qido_studies, wado_retrieve_study


@dataclass
class StubPacs:
    studies: list[dict] = field(default_factory=list)
    series: list[dict] = field(default_factory=list)
    instances_per_series: int = 2
    honour_limit: bool = True
    honour_offset: bool = True
    cap: int | None = None  # answers at most this many, with a Warning, like a PACS's own limit
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def page(self, items: list[dict], query: dict[str, str]) -> tuple[list[dict], bool]:
        offset = int(query.get("offset", 0)) if self.honour_offset else 0
        limit = int(query["limit"]) if self.honour_limit and "limit" in query else len(items)
        if self.cap is not None and limit > self.cap:
            return items[offset:offset + self.cap], offset + self.cap < len(items)
        return items[offset:offset + limit], False


def _study(number: int) -> dict:
    return {"0020000D": {"vr": "UI", "Value": [f"1.2.3.{number}"]}, "00080050": {"vr": "SH", "Value": [f"ACC-{number}"]},
            "00080061": {"vr": "CS", "Value": ["CT", "SR"]}}


def _series(number: int) -> dict:
    return {"0020000E": {"vr": "UI", "Value": [f"1.2.3.9.{number}"]}, "00080060": {"vr": "CS", "Value": ["CT"]}}


def _multipart(parts: list[bytes], boundary: str = "rl-boundary") -> bytes:
    body = b"".join(f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n" for part in parts)
    return body + f"--{boundary}--\r\n".encode()


@pytest.fixture
def pacs() -> Iterator[tuple[StubPacs, str]]:
    stub = StubPacs()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            stub.requests.append((url.path, query))
            parts = url.path.strip("/").split("/")
            if parts[-1] in ("studies", "series"):
                items, more = stub.page(stub.studies if parts[-1] == "studies" else stub.series, query)
                self.send_response(200 if items else 204)
                self.send_header("Content-Type", "application/dicom+json")
                if more:
                    self.send_header("Warning", '299 stub: There are additional results that can be requested')
                body = json.dumps(items).encode() if items else b""
            else:
                self.send_response(200)
                self.send_header("Content-Type", 'multipart/related; type="application/dicom"; boundary=rl-boundary')
                body = _multipart([f"{url.path}#{n}".encode() for n in range(stub.instances_per_series)])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # keep the test output to the assertions

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub, f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    server.shutdown()
    server.server_close()


def _offsets(stub: StubPacs) -> list[int]:
    return [int(query["offset"]) for _path, query in stub.requests]


def test_a_search_matching_more_than_a_page_returns_every_study(pacs):
    stub, url = pacs
    stub.studies = [_study(n) for n in range(7)]
    found = qido_studies(url, page_size=3, PatientID="MRN-1")
    assert [study.accession for study in found] == [f"ACC-{n}" for n in range(7)]
    assert _offsets(stub) == [0, 3, 6]  # stops at the short page
    assert all(query["PatientID"] == "MRN-1" and query["limit"] == "3" for _path, query in stub.requests)
    assert found[0].modalities == "CT\\SR"


def test_a_last_full_page_costs_one_empty_request(pacs):
    stub, url = pacs
    stub.studies = [_study(n) for n in range(6)]
    assert len(qido_studies(url, page_size=3)) == 6
    assert _offsets(stub) == [0, 3, 6]


def test_a_pacs_that_caps_its_answers_is_paged_past_its_cap(pacs):
    stub, url = pacs
    stub.studies, stub.cap = [_study(n) for n in range(5)], 2
    assert len(qido_studies(url, page_size=100)) == 5  # short pages, but each says there is more
    assert _offsets(stub) == [0, 2, 4]


def test_a_pacs_that_ignores_limit_is_read_once(pacs):
    stub, url = pacs
    stub.studies, stub.honour_limit = [_study(n) for n in range(5)], False
    assert len(qido_studies(url, page_size=2)) == 5
    assert len(stub.requests) == 1


def test_a_pacs_that_ignores_offset_does_not_loop_or_repeat(pacs):
    stub, url = pacs
    stub.studies, stub.honour_offset = [_study(n) for n in range(5)], False
    found = qido_studies(url, page_size=2)
    assert [study.accession for study in found] == ["ACC-0", "ACC-1"]
    assert len(stub.requests) == 2


def test_no_match_is_an_empty_list(pacs):
    _stub, url = pacs
    assert qido_studies(url, AccessionNumber="NOPE") == []


def test_series_searches_page_too(pacs):
    stub, url = pacs
    stub.series = [_series(n) for n in range(5)]
    found = qido_series(url, "1.2.3.4", page_size=2)
    assert [series.series_instance_uid for series in found] == [f"1.2.3.9.{n}" for n in range(5)]
    assert {path for path, _query in stub.requests} == {"/dicom-web/studies/1.2.3.4/series"}


def test_a_study_is_retrieved_series_by_series(pacs, tmp_path):
    stub, url = pacs
    stub.series = [_series(n) for n in range(3)]
    paths = wado_retrieve_study(url, "1.2.3.4", tmp_path / "out")
    assert len(set(paths)) == len(paths) == 6
    assert sorted(path.read_bytes() for path in paths)[0] == b"/dicom-web/studies/1.2.3.4/series/1.2.3.9.0#0"
    retrieved = [path for path, query in stub.requests if not query]
    assert retrieved == [f"/dicom-web/studies/1.2.3.4/series/1.2.3.9.{n}" for n in range(3)]


def test_a_study_whose_series_are_not_listed_is_retrieved_whole(pacs, tmp_path):
    stub, url = pacs
    paths = wado_retrieve_study(url, "1.2.3.4", tmp_path / "out")
    assert [path.read_bytes() for path in paths] == [b"/dicom-web/studies/1.2.3.4#0", b"/dicom-web/studies/1.2.3.4#1"]


def test_an_unreachable_pacs_is_named_without_the_query(tmp_path):
    with pytest.raises(PacsError, match=r"^DICOMweb request to http://127.0.0.1:9/dicom-web/studies failed") as error:
        qido_studies("http://127.0.0.1:9/dicom-web", AccessionNumber="ACC-SECRET")
    assert "ACC-SECRET" not in str(error.value)
