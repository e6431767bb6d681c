"""A real PACS: Debian's Orthanc with its DICOMweb plugin on loopback, our own configuration file.

Synthetic studies are loaded into Orthanc over its REST API, then found and pulled through the
app over DICOMweb (QIDO-RS / WADO-RS) and over DIMSE (C-FIND, then C-MOVE to our Storage SCP or
C-GET). Without Orthanc the module skips; under CI (`make test` installs Orthanc) it fails instead,
so a broken install cannot pass as a skip.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pydicom
import pytest
from django.core.management import call_command

from reports.dicom.deid import identifying_values
from reports.dicom.synthetic import write_series
from reports.models import DicomInstance, DicomStudy
from reports.pacs.dicomweb import PacsError, qido_series, qido_studies
from reports.pacs.dimse import DimsePeer, c_find_studies, c_move_study
from reports.services.dicom import dicom_storage_dir
from reports.services.pacs import pacs_pull
from tests.reports.factories import ReportFactory, StudyFactory

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DICOMWEB_PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
PAGED_STUDIES = 5
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    if not Path(ORTHANC).exists() or not DICOMWEB_PLUGIN.exists():
        missing = pytest.fail if os.environ.get("CI") else pytest.skip
        missing("Orthanc and its DICOMweb plugin are not installed: `make orthanc` installs them "
                "(apt-get install orthanc orthanc-dicomweb)")
    root = tmp_path_factory.mktemp("orthanc")
    http_port, dicom_port, scp_port = _free_port(), _free_port(), _free_port()
    config = {
        "Name": "radlabel-test", "StorageDirectory": str(root / "db"), "IndexDirectory": str(root / "db"),
        "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "ORTHANC", "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False, "HttpBindAddress": "127.0.0.1", "DicomCheckCalledAet": False,
        "Plugins": [str(DICOMWEB_PLUGIN)], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        "DicomModalities": {"radlabel": ["RADLABEL", "127.0.0.1", scp_port]},
        # Like many hospital PACS: any AE may query, C-GET or ask for a C-MOVE, but a move goes only
        # to a destination listed above.
        "DicomAlwaysAllowFind": True, "DicomAlwaysAllowGet": True, "DicomAlwaysAllowMove": True,
    }
    (root / "orthanc.json").write_text(json.dumps(config))
    log = (root / "orthanc.log").open("w")
    process = subprocess.Popen([ORTHANC, str(root / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{http_port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/system", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"Orthanc exited: {(root / 'orthanc.log').read_text()[-2000:]}")
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("Orthanc did not start in 10 s")
    # Two studies of one patient with real-looking identifiers.
    folder = root / "load"
    write_series(folder / "a", shape=(4, 4, 3), accession="PACS-1", patient_name="Ortiz^Maria", patient_id="MRN-777")
    write_series(folder / "b", shape=(4, 4, 2), accession="PACS-2", patient_name="Ortiz^Maria", patient_id="MRN-777")
    # More studies of one patient than one QIDO-RS page holds in the paging tests; the last has
    # three series.
    for number in range(PAGED_STUDIES):
        study_uid = f"1.2.826.0.1.3680043.8.498.{number + 1}"
        for series in range(3 if number == PAGED_STUDIES - 1 else 1):
            write_series(folder / f"paged{number}-{series}", shape=(2, 2, 2), accession=f"PAGED-{number}",
                         patient_id="MRN-PAGED", study_uid=study_uid)
    for path in sorted(folder.rglob("*.dcm")):
        request = urllib.request.Request(f"{base}/instances", data=path.read_bytes(), method="POST")
        urllib.request.urlopen(request, timeout=10).read()
    yield {"dicomweb": f"{base}/dicom-web", "dimse": {"host": "127.0.0.1", "port": dicom_port, "ae_title": "ORTHANC",
                                                      "our_ae_title": "RADLABEL", "our_port": scp_port}}
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture
def sources(orthanc, settings, dicom_storage):
    settings.PACS_SOURCES = {
        "web": {"dicomweb": orthanc["dicomweb"]},
        "dimse": orthanc["dimse"],
        # An AE title Orthanc was never told about: only C-GET can bring the images back to it.
        "dimse-get": {**orthanc["dimse"], "our_ae_title": "STRANGER", "retrieve": "c-get"},
    }
    return settings.PACS_SOURCES


def test_qido_finds_a_study_by_accession(orthanc):
    (found,) = qido_studies(orthanc["dicomweb"], AccessionNumber="PACS-1")
    assert (found.accession, found.patient_id, found.modalities) == ("PACS-1", "MRN-777", "CT")
    assert qido_studies(orthanc["dicomweb"], AccessionNumber="NOPE") == []


def test_c_find_finds_a_study_by_accession(orthanc):
    (found,) = c_find_studies(DimsePeer(**orthanc["dimse"]), AccessionNumber="PACS-2")
    assert found.accession == "PACS-2"


def test_qido_pages_through_more_studies_than_one_page(orthanc):
    # Orthanc honours `limit`: one request of two answers two of the five studies.
    with urllib.request.urlopen(f"{orthanc['dicomweb']}/studies?PatientID=MRN-PAGED&limit=2", timeout=10) as answer:
        assert len(json.loads(answer.read())) == 2
    found = qido_studies(orthanc["dicomweb"], page_size=2, PatientID="MRN-PAGED")
    assert sorted(study.accession for study in found) == [f"PAGED-{n}" for n in range(PAGED_STUDIES)]
    assert len({study.study_instance_uid for study in found}) == PAGED_STUDIES


def test_qido_pages_through_the_series_of_a_study(orthanc):
    (study,) = qido_studies(orthanc["dicomweb"], AccessionNumber=f"PAGED-{PAGED_STUDIES - 1}")
    series = qido_series(orthanc["dicomweb"], study.study_instance_uid, page_size=2)
    assert len({found.series_instance_uid for found in series}) == 3
    assert {(found.modality, found.instances) for found in series} == {("CT", "2")}


def test_c_move_to_an_ae_the_pacs_does_not_know_is_refused_clearly(orthanc, tmp_path):
    peer = DimsePeer(**{**orthanc["dimse"], "our_ae_title": "STRANGER"})
    (study,) = c_find_studies(peer, AccessionNumber="PACS-1")
    with pytest.raises(PacsError, match="register STRANGER at .* or set \"retrieve\": \"c-get\""):
        c_move_study(peer, study.study_instance_uid, tmp_path)


@pytest.mark.parametrize("source", ["web", "dimse", "dimse-get"])
def test_a_study_is_pulled_linked_and_de_identified(protocol, sources, source):
    study = ReportFactory(study=StudyFactory(protocol=protocol, accession="PACS-1")).study
    result = pacs_pull(protocol=protocol, source_name=source, accessions=["PACS-1", "MISSING"], actor=None, channel="command")
    assert (result.found, result.retrieved_files, result.not_found) == (1, 3, ["MISSING"])
    assert result.imported.linked == 1
    assert DicomInstance.objects.filter(series__dicom_study__study=study).count() == 3
    for instance in DicomInstance.objects.all():
        values = " ".join(identifying_values(pydicom.dcmread(dicom_storage_dir(protocol) / instance.path)))
        assert "Ortiz" not in values
        assert "MRN-777" not in values
    again = pacs_pull(protocol=protocol, source_name=source, accessions=["PACS-1"], actor=None, channel="command")
    assert again.imported.new_instances == 0


def test_the_command_pulls_and_reports(protocol, sources, capsys):
    call_command("pull_pacs", "PACS-2", protocol=protocol.irb_number, source="web")
    out = capsys.readouterr().out
    assert "Found 1 studies, retrieved 2 files; imported 2 new images in 1 studies (0 linked to a report)." in out
    assert DicomStudy.objects.filter(protocol=protocol, study__isnull=True).count() == 1


@pytest.mark.parametrize("source", ["web", "dimse-get"])
def test_a_study_of_several_series_is_pulled_whole(protocol, sources, source):
    result = pacs_pull(protocol=protocol, source_name=source, accessions=[f"PAGED-{PAGED_STUDIES - 1}"],
                       actor=None, channel="command")
    assert (result.found, result.retrieved_files) == (1, 6)
    assert (result.imported.series, result.imported.new_instances) == (3, 6)
