"""DIMSE: C-FIND studies and C-MOVE them to a Storage SCP we run for the length of the move.

pynetdicom does the protocol; this module only wires a find, and a move whose destination is a
short-lived storage server writing into a folder, which the folder import then reads.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from reports.pacs.dicomweb import FoundStudy, PacsError

TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class DimsePeer:
    host: str
    port: int
    ae_title: str  # the PACS's AE title
    our_ae_title: str = "RADLABEL"  # known to the PACS as a move destination
    our_port: int = 11113  # where our Storage SCP listens during a C-MOVE
    listen_host: str = "127.0.0.1"  # the interface it listens on (the PACS must reach it there)


def _query(**filters: str) -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = filters.get("StudyInstanceUID", "")
    query.AccessionNumber = filters.get("AccessionNumber", "")
    query.StudyDate = filters.get("StudyDate", "")
    query.PatientID = filters.get("PatientID", "")
    query.ModalitiesInStudy = ""
    return query


def c_find_studies(peer: DimsePeer, **filters: str) -> list[FoundStudy]:
    from pynetdicom import AE
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind

    ae = AE(ae_title=peer.our_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_SECONDS
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title)
    if not assoc.is_established:
        raise PacsError(f"C-FIND: no association with {peer.ae_title} at {peer.host}:{peer.port}")
    found = []
    try:
        for status, identifier in assoc.send_c_find(_query(**filters), StudyRootQueryRetrieveInformationModelFind):
            if status and status.Status in (0xFF00, 0xFF01) and identifier is not None:
                modalities = identifier.get("ModalitiesInStudy", "")
                found.append(FoundStudy(
                    study_instance_uid=str(identifier.get("StudyInstanceUID", "")),
                    accession=str(identifier.get("AccessionNumber", "")),
                    study_date=str(identifier.get("StudyDate", "")),
                    patient_id=str(identifier.get("PatientID", "")),
                    modalities="\\".join(modalities) if isinstance(modalities, list) or type(modalities).__name__ == "MultiValue" else str(modalities),
                ))
            elif status is None or status.Status not in (0x0000, 0xFF00, 0xFF01):
                raise PacsError(f"C-FIND failed with status {getattr(status, 'Status', 'none')}")
    finally:
        assoc.release()
    return found


def c_move_study(peer: DimsePeer, study_instance_uid: str, out_dir: Path) -> list[Path]:
    """Ask the PACS to send the study to our temporary Storage SCP; returns the received files."""
    from pynetdicom import AE, AllStoragePresentationContexts, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove

    out_dir.mkdir(parents=True, exist_ok=True)
    received: list[Path] = []
    lock = threading.Lock()

    def on_store(event: evt.Event) -> int:
        with lock:
            path = out_dir / f"{len(received):06d}.dcm"
            received.append(path)
        with path.open("wb") as out:
            out.write(event.encoded_dataset(include_meta=True))
        return 0x0000

    ae = AE(ae_title=peer.our_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_SECONDS
    ae.supported_contexts = AllStoragePresentationContexts
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelMove)
    server = ae.start_server((peer.listen_host, peer.our_port), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title)
        if not assoc.is_established:
            raise PacsError(f"C-MOVE: no association with {peer.ae_title} at {peer.host}:{peer.port}")
        try:
            query = _query(StudyInstanceUID=study_instance_uid)
            final = None
            for status, _identifier in assoc.send_c_move(query, peer.our_ae_title, StudyRootQueryRetrieveInformationModelMove):
                final = status
            if final is None or final.Status not in (0x0000, 0xB000):
                raise PacsError(f"C-MOVE failed with status {getattr(final, 'Status', 'none')}")
        finally:
            assoc.release()
    finally:
        server.shutdown()
    return received
