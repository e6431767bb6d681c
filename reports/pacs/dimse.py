"""DIMSE: C-FIND studies, and retrieve them by C-MOVE or C-GET into a folder.

pynetdicom does the protocol; this module only wires a find and the two ways of retrieving:
C-MOVE asks the PACS to open its own association to a short-lived Storage SCP of ours (so the
PACS must know our AE title, host and port), while C-GET has the PACS send the images back on
the association we opened, which is why some PACS that refuse C-MOVE to an unknown AE allow it.
Either way the files land in a folder that the folder import then reads.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import (
    JPEG2000,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

from reports.dicom.values import joined
from reports.pacs.dicomweb import FoundStudy, PacsError

TIMEOUT_SECONDS = 60
RETRIEVE_METHODS = ("c-move", "c-get")
# Compressed syntaxes a PACS may send as stored instead of decompressing first; each is offered
# only when pydicom can decode it here (the pylibjpeg plugins), so the import can read it.
COMPRESSED_SYNTAXES = (
    JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless,
    JPEG2000Lossless, JPEG2000, RLELossless,
)
# C-MOVE and C-GET success (0x0000) and "some sub-operations failed" (0xB000): the files that
# did arrive are imported and the rest are counted as missing by the caller.
RETRIEVE_DONE = (0x0000, 0xB000)


@dataclass(frozen=True)
class DimsePeer:
    host: str
    port: int
    ae_title: str  # the PACS's AE title
    our_ae_title: str = "RADLABEL"  # known to the PACS as a move destination
    our_port: int = 11113  # where our Storage SCP listens during a C-MOVE
    listen_host: str = "127.0.0.1"  # the interface it listens on (the PACS must reach it there)
    retrieve: str = "c-move"  # or "c-get", for a PACS that will not move to an AE it does not know

    def __post_init__(self) -> None:
        if self.retrieve not in RETRIEVE_METHODS:
            raise PacsError(f"Unknown DIMSE retrieve method {self.retrieve!r}; use one of {', '.join(RETRIEVE_METHODS)}")


def _query(**filters: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = filters.get("StudyInstanceUID", "")
    query.AccessionNumber = filters.get("AccessionNumber", "")
    query.StudyDate = filters.get("StudyDate", "")
    query.PatientID = filters.get("PatientID", "")
    query.ModalitiesInStudy = ""
    return query


def _study_key(study_instance_uid: str) -> Dataset:
    # C-MOVE / C-GET identify what to send by unique key only (PS3.4 C.4.2.2.1); an empty
    # AccessionNumber beside it makes Orthanc's C-GET look for a study whose key is "".
    key = Dataset()
    key.QueryRetrieveLevel = "STUDY"
    key.StudyInstanceUID = study_instance_uid
    return key


def _ae(peer: DimsePeer) -> Any:
    from pynetdicom import AE

    ae = AE(ae_title=peer.our_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_SECONDS
    return ae


def c_find_studies(peer: DimsePeer, **filters: str) -> list[FoundStudy]:
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    ae = _ae(peer)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title)
    if not assoc.is_established:
        raise PacsError(f"C-FIND: no association with {peer.ae_title} at {peer.host}:{peer.port}")
    found = []
    try:
        for status, identifier in assoc.send_c_find(_query(**filters), StudyRootQueryRetrieveInformationModelFind):
            if status and status.Status in (0xFF00, 0xFF01) and identifier is not None:
                found.append(FoundStudy(
                    study_instance_uid=str(identifier.get("StudyInstanceUID", "")),
                    accession=str(identifier.get("AccessionNumber", "")),
                    study_date=str(identifier.get("StudyDate", "")),
                    patient_id=str(identifier.get("PatientID", "")),
                    modalities=joined(identifier.get("ModalitiesInStudy")),
                ))
            elif status is None or status.Status not in (0x0000, 0xFF00, 0xFF01):
                raise PacsError(f"C-FIND failed with status {getattr(status, 'Status', 'none')}")
    finally:
        assoc.release()
    return found


def _store_into(out_dir: Path) -> tuple[Callable[[Any], int], list[Path]]:
    """A C-STORE handler writing each received instance to `out_dir`, and the list it fills."""
    out_dir.mkdir(parents=True, exist_ok=True)
    received: list[Path] = []
    lock = threading.Lock()  # the move's Storage SCP may serve several associations at once

    def on_store(event: Any) -> int:
        with lock:
            path = out_dir / f"{len(received):06d}.dcm"
            received.append(path)
        with path.open("wb") as out:
            out.write(event.encoded_dataset(include_meta=True))
        return 0x0000

    return on_store, received


def _check_final(kind: str, responses: Any, hint: str = "") -> None:
    final = None
    for status, _identifier in responses:
        final = status
    if final is None or final.Status not in RETRIEVE_DONE:
        status = f"0x{final.Status:04X}" if final is not None else "none"
        raise PacsError(f"{kind} failed with status {status}{hint}")


def c_move_study(peer: DimsePeer, study_instance_uid: str, out_dir: Path) -> list[Path]:
    """Ask the PACS to send the study to our temporary Storage SCP; returns the received files."""
    from pynetdicom import AllStoragePresentationContexts, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove

    on_store, received = _store_into(out_dir)
    ae = _ae(peer)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    server = ae.start_server((peer.listen_host, peer.our_port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title)
        if not assoc.is_established:
            raise PacsError(f"C-MOVE: no association with {peer.ae_title} at {peer.host}:{peer.port}")
        try:
            responses = assoc.send_c_move(
                _study_key(study_instance_uid), peer.our_ae_title, StudyRootQueryRetrieveInformationModelMove
            )
            # PACS answer an unknown destination with 0xA801 or, like Orthanc, a bare 0xC000.
            _check_final("C-MOVE", responses, hint=(
                f" (a PACS moves only to AE titles it knows: register {peer.our_ae_title} at "
                f"{peer.listen_host}:{peer.our_port} there, or set \"retrieve\": \"c-get\" on this source)"
            ))
        finally:
            assoc.release()
    finally:
        server.shutdown()
    return received


def c_get_study(peer: DimsePeer, study_instance_uid: str, out_dir: Path) -> list[Path]:
    """Have the PACS send the study back on our own association (C-GET); returns the received files."""
    from pynetdicom import StoragePresentationContexts, build_role, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet

    on_store, received = _store_into(out_dir)
    ae = _ae(peer)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    # An association carries at most 128 presentation contexts: the Get context and pynetdicom's
    # 120 most used storage classes. We take the SCP role for each, so the PACS may C-STORE back.
    syntaxes = [
        *StoragePresentationContexts[0].transfer_syntax,
        *(uid for uid in COMPRESSED_SYNTAXES if get_decoder(uid).is_available),
    ]
    for context in StoragePresentationContexts:
        ae.add_requested_context(context.abstract_syntax, syntaxes)
    roles = [build_role(context.abstract_syntax, scp_role=True) for context in StoragePresentationContexts]
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title, ext_neg=roles,
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    if not assoc.is_established:
        raise PacsError(f"C-GET: no association with {peer.ae_title} at {peer.host}:{peer.port}")
    try:
        _check_final("C-GET", assoc.send_c_get(_study_key(study_instance_uid),
                                               StudyRootQueryRetrieveInformationModelGet))
    finally:
        assoc.release()
    return received


def retrieve_study(peer: DimsePeer, study_instance_uid: str, out_dir: Path) -> list[Path]:
    """The study's files in `out_dir`, by the peer's retrieve method."""
    retrieve = c_get_study if peer.retrieve == "c-get" else c_move_study
    return retrieve(peer, study_instance_uid, out_dir)
