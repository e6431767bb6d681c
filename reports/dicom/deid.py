"""De-identification on import, after DICOM PS3.15 Annex E's Basic Application Level
Confidentiality Profile, with its Retain Longitudinal Temporal Information with Modified Dates
option (dates shifted per patient, so intervals survive) and Retain Patient Characteristics
option (sex, age capped at 90, size, weight: images are read with them).

Why our own table rather than a library: the rules below are the ones the tests check tag by
tag, and the keyed UID remapping and per-patient date offsets are stored by the app (Patient
rows), which recipe-driven tools (pydicom/deid, dicognito) would keep elsewhere. The action
codes follow Table E.1-1 (D dummy, Z empty, X remove, U remap UID, K keep).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from reports.dicom.values import values_of

METHOD = "PS3.15 E.1 basic; modified dates; patient characteristics"  # LO: 64 characters at most
# CID 7050 codes for what was done (PS3.16).
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
)

# Replaced by the study's pseudonym (D).
PSEUDONYM_KEYWORDS = ("PatientName", "PatientID")
# Removed (X) or emptied (Z) by the basic profile; removing a Type 2 element is still valid for
# storage, and an absent element cannot leak.
REMOVE_KEYWORDS = frozenset({
    "AccessionNumber", "AdditionalPatientHistory", "AdmissionID", "AdmittingDiagnosesDescription",
    "Allergies", "Arbitrary", "AuthorObserverSequence", "BranchOfService", "CountryOfResidence",
    "CurrentPatientLocation", "DerivationDescription", "DeviceSerialNumber", "EthnicGroup",
    "FillerOrderNumberImagingServiceRequest", "ImageComments", "InstitutionAddress",
    "InstitutionCodeSequence", "InstitutionName", "InstitutionalDepartmentName",
    "InsurancePlanIdentification", "IssuerOfAdmissionID", "IssuerOfPatientID", "MedicalAlerts",
    "MedicalRecordLocator", "MilitaryRank", "NameOfPhysiciansReadingStudy", "Occupation",
    "OperatorsName", "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames",
    "PatientAddress", "PatientBirthDate", "PatientBirthName", "PatientBirthTime", "PatientComments",
    "PatientInsurancePlanCodeSequence", "PatientMotherBirthName", "PatientReligiousPreference",
    "PatientState", "PatientTelephoneNumbers", "PerformedProcedureStepDescription",
    "PerformedProcedureStepID", "PerformingPhysicianIdentificationSequence", "PerformingPhysicianName",
    "PersonAddress", "PersonName", "PersonTelephoneNumbers", "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence", "PhysiciansReadingStudyIdentificationSequence",
    "PlacerOrderNumberImagingServiceRequest", "ProtocolName", "ReferencedPatientPhotoSequence",
    "ReferencedPatientSequence", "ReferringPhysicianAddress", "ReferringPhysicianIdentificationSequence",
    "ReferringPhysicianName", "ReferringPhysicianTelephoneNumbers", "RegionOfResidence",
    "RequestAttributesSequence", "RequestedProcedureDescription", "RequestedProcedureID",
    "RequestingPhysician", "RequestingService", "ResponsibleOrganization", "ResponsiblePerson",
    "ScheduledPerformingPhysicianName", "SeriesDescription", "StationName", "StudyComments",
    "StudyDescription", "StudyID", "TextComments", "TextString",
})
# Retain Patient Characteristics: kept, age capped (HIPAA: ages over 89 identify).
KEEP_CHARACTERISTICS = ("PatientSex", "PatientAge", "PatientSize", "PatientWeight")
AGE_CAP = "090Y"
# UI elements that name a class or an encoding, not an instance: never remapped.
KEEP_UIDS = frozenset({
    "SOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID", "ImplementationClassUID",
    "ReferencedSOPClassUID", "ReferencedSOPClassUIDInFile", "SOPClassesInStudy", "CodingSchemeUID",
    "ContextGroupExtensionCreatorUID", "MappingResourceUID", "PrivateInformationCreatorUID",
    "RelatedGeneralSOPClassUID", "OriginalSpecializedSOPClassUID", "ReferencedTransferSyntaxUIDInFile",
})


class BurnedInAnnotation(ValueError):
    """The pixels themselves carry text (BurnedInAnnotation YES): not storable without review."""


@dataclass(frozen=True)
class DeidPolicy:
    pseudonym: str  # the patient's pseudonym in this protocol: replaces name and ID
    date_offset_days: int  # the patient's own shift, the same for all their studies
    uid_key: bytes  # the protocol's secret: the same UID always maps to the same new UID
    accession: str = ""  # an opaque study key for AccessionNumber ("" removes it)
    private_allowlist: frozenset[tuple[str, int]] = field(default_factory=frozenset)  # (creator, element & 0xFF)
    allow_burned_in: bool = False


def remap_uid(uid: str, key: bytes) -> str:
    """A new UID under 2.25 (PS3.5 B.2: a UUID-derived integer), keyed so outsiders cannot reverse it."""
    digest = hmac.new(key, uid.strip().encode("ascii", "replace"), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def shift_date(value: str, days: int) -> str | None:
    """Shift a DA (YYYYMMDD) or the date part of a DT; None when the value is not a date."""
    text = value.strip()
    if len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        day = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return (day + dt.timedelta(days=days)).strftime("%Y%m%d") + text[8:]


def _private_kept(dataset: Dataset, tag: BaseTag, allowlist: frozenset[tuple[str, int]]) -> bool:
    if not allowlist or tag.element < 0x1000:
        return False  # private creator elements go with their block
    creator_tag = BaseTag((tag.group << 16) | (tag.element >> 8))
    creator = dataset.get(creator_tag)
    return creator is not None and (str(creator.value), tag.element & 0xFF) in allowlist


def _clean(dataset: Dataset, policy: DeidPolicy) -> None:
    kept_creators: set[BaseTag] = set()
    for element in list(dataset):
        tag, keyword = element.tag, element.keyword
        if tag.is_private:
            if tag.element < 0x1000:
                continue  # a private creator: kept below only if one of its elements is
            if _private_kept(dataset, tag, policy.private_allowlist):
                kept_creators.add(BaseTag((tag.group << 16) | (tag.element >> 8)))
            else:
                del dataset[tag]
            continue
        if (tag.group & 0xFF00) in (0x5000, 0x6000) and tag.element in (0x3000, 0x4000):
            del dataset[tag]  # curve / overlay data and overlay comments can hold burned text
            continue
        if keyword in PSEUDONYM_KEYWORDS:
            element.value = policy.pseudonym
        elif keyword == "AccessionNumber" and policy.accession:
            element.value = policy.accession
        elif keyword in REMOVE_KEYWORDS:
            del dataset[tag]
        elif keyword == "PatientAge" and element.value and str(element.value).endswith("Y") and str(element.value)[:3].isdigit() and int(str(element.value)[:3]) > 89:
            element.value = AGE_CAP
        elif element.VR == "PN":
            del dataset[tag]  # any other person's name (physicians, operators, in any module)
        elif element.VR == "UI" and keyword not in KEEP_UIDS and element.value:
            element.value = _each(element, lambda uid: remap_uid(uid, policy.uid_key))
        elif element.VR in ("DA", "DT") and element.value:
            _shift_element(dataset, element, policy.date_offset_days)
        elif element.VR == "SQ":
            for item in element.value:
                _clean(item, policy)
    # Private creators stay only for the blocks we kept.
    for element in list(dataset):
        if element.tag.is_private and element.tag.element < 0x1000 and element.tag not in kept_creators:
            del dataset[element.tag]


def _values(element: DataElement) -> list[str]:
    return [str(value) for value in values_of(element.value)]


def _each(element: DataElement, change: Callable[[str], str | None]) -> str | list[str] | None:
    """The element's value(s) passed through `change`; None when any value could not be changed."""
    changed = [change(value) for value in _values(element)]
    if any(value is None for value in changed):
        return None
    return changed if len(changed) > 1 else changed[0]  # type: ignore[return-value]


def _shift_element(dataset: Dataset, element: DataElement, days: int) -> None:
    shifted = _each(element, lambda value: shift_date(value, days))
    if shifted is None:
        del dataset[element.tag]  # not a date we can shift: keeping it would keep the real one
        return
    element.value = shifted


def deidentify(dataset: Dataset, policy: DeidPolicy) -> Dataset:
    """De-identify `dataset` in place (file meta included) and return it.

    Raises BurnedInAnnotation when the image says its pixels carry text and the protocol does
    not allow such images.
    """
    if str(dataset.get("BurnedInAnnotation", "")).upper() == "YES" and not policy.allow_burned_in:
        raise BurnedInAnnotation("BurnedInAnnotation is YES: the pixels carry text that may identify the patient")
    _clean(dataset, policy)
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = METHOD
    dataset.DeidentificationMethodCodeSequence = Sequence([_code(value, meaning) for value, meaning in METHOD_CODES])
    dataset.LongitudinalTemporalInformationModified = "MODIFIED"
    return dataset


def _code(value: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
    return item


def identifying_values(dataset: Dataset) -> Iterable[str]:
    """Every string value in the dataset, sequences included: what a leak check searches."""
    for element in dataset.iterall():
        if element.VR in ("SQ", "OB", "OW", "OF", "OD", "UN"):
            continue
        if element.value is not None:
            yield from _values(element)
