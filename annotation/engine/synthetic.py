"""Synthetic chest X-ray reports for the benchmark and demo data.

Written from templates (no real report text), with headers FINDINGS / IMPRESSION, sometimes
INDICATION / COMPARISON / TECHNIQUE, normal studies, positive findings, negations, hedges,
resolution, persistence and support devices, so the benchmark exercises every code path.
"""
from __future__ import annotations

import random
from typing import Any

_INDICATIONS = [
    "Cough and fever.", "Shortness of breath.", "Chest pain.", "Rule out pneumonia.", "Preoperative evaluation.",
    "Evaluate line placement.", "Follow-up pleural effusion.", "Trauma, evaluate for pneumothorax.",
    "Hypoxia.", "Fever, evaluate for infection.", "Status post intubation.", "CHF exacerbation.",
    "History of lung cancer.", "Dyspnea on exertion.", "Fall with rib pain.",
]
_COMPARISONS = ["None.", "Prior radiograph from last month.", "Chest radiograph dated yesterday.",
                "Comparison is made to the prior study.", "CT chest from 2 weeks ago."]
_TECHNIQUES = ["PA and lateral views of the chest.", "Single portable AP view of the chest.",
               "Frontal and lateral chest radiographs.", "AP upright portable chest radiograph."]

_NORMAL = [
    "The lungs are clear.", "Lungs are well expanded and clear.", "Heart size is normal.",
    "The cardiomediastinal silhouette is within normal limits.", "No focal consolidation, pleural effusion or pneumothorax.",
    "There is no pleural effusion or pneumothorax.", "No pulmonary edema.", "The heart is normal in size.",
    "Pulmonary vascularity is within normal limits.", "No acute osseous abnormality.",
    "Mediastinal contours are unremarkable.", "No evidence of pneumonia.", "There is no focal airspace disease.",
    "No displaced rib fractures.", "The osseous structures are intact.", "No pneumothorax is seen.",
]
_SIDES = ["left", "right", "bilateral", "left basilar", "right basilar", "bibasilar", "right upper lobe",
          "left lower lobe", "right middle lobe", "lingular", "retrocardiac"]
_SIZES = ["small", "moderate", "large", "trace", "tiny", "mild"]
_POSITIVE = [
    "{size} {side} pleural effusion.", "{size} {side} pleural effusions.", "{side} atelectasis.",
    "Patchy {side} opacity, likely atelectasis.", "Mild cardiomegaly.", "The heart is enlarged.",
    "Moderate cardiomegaly with pulmonary vascular congestion.", "Mild interstitial pulmonary edema.",
    "{side} consolidation concerning for pneumonia.", "{size} {side} pneumothorax.",
    "Focal {side} airspace consolidation.", "A {size} nodule in the {side} lung.", "{side} lung mass.",
    "Healed {side} rib fractures.", "Acute displaced fracture of the {side} clavicle.",
    "{side} pleural thickening.", "Widened mediastinum.", "Stable mild cardiomegaly.",
    "Persistent {side} pleural effusion.", "Unchanged {side} basilar atelectasis.",
    "Increased {side} opacity consistent with pneumonia.", "Diffuse bilateral infiltrates.",
    "Subsegmental atelectasis at the {side} base.", "Atelectatic changes at the {side} base.",
    "{size} {side} effusion with adjacent compressive atelectasis.",
]
_HEDGED = [
    "{side} opacity may represent atelectasis or pneumonia.", "Possible {size} {side} pleural effusion.",
    "Pneumonia cannot be excluded.", "Questionable {side} pneumothorax.", "Findings suspicious for {side} pneumonia.",
    "Borderline heart size.", "Atelectasis versus consolidation at the {side} base.",
    "Differential includes edema and infection.", "Probable {side} atelectasis.",
    "Cannot exclude a small {side} pneumothorax.", "Increased interstitial markings may reflect mild edema.",
    "Likely {side} atelectasis.", "Opacity at the {side} base, concerning for aspiration pneumonia.",
]
_RESOLVED = [
    "Interval resolution of the {side} pleural effusion.", "The previously seen {side} pneumothorax has resolved.",
    "{side} consolidation is no longer seen.", "The endotracheal tube has been removed.",
    "Interval removal of the {side} chest tube.",
]
_DEVICES = [
    "Endotracheal tube terminates 4 cm above the carina.", "Right IJ central venous catheter tip in the SVC.",
    "Left PICC line tip in the lower SVC.", "Nasogastric tube courses below the diaphragm.",
    "Dual-chamber pacemaker leads in standard position.", "Median sternotomy wires are intact.",
    "ETT in good position.", "NGT tip in the stomach.", "Right chest tube in place.",
    "Left-sided AICD is unchanged.", "Enteric tube tip in the stomach.",
]
_NORMAL_IMPRESSIONS = ["No acute cardiopulmonary process.", "No acute cardiopulmonary abnormality.",
                       "Normal chest radiograph.", "No radiographic evidence of acute disease."]


def _fill(template: str, rng: random.Random) -> str:
    sentence = template.format(side=rng.choice(_SIDES), size=rng.choice(_SIZES))
    return sentence[0].upper() + sentence[1:]


def generate_report(rng: random.Random) -> str:
    """One report; about a third normal, the rest with findings, hedges, resolution or devices."""
    parts: list[str] = []
    if rng.random() < 0.6:
        parts.append("INDICATION: " + rng.choice(_INDICATIONS))
    if rng.random() < 0.3:
        parts.append("TECHNIQUE: " + rng.choice(_TECHNIQUES))
    if rng.random() < 0.5:
        parts.append("COMPARISON: " + rng.choice(_COMPARISONS))
    findings: list[str] = []
    impression: list[str] = []
    kind = rng.random()
    normal = rng.sample(_NORMAL, k=rng.randint(2, 5))
    if kind < 0.33:
        findings.extend(normal)
        impression.append(rng.choice(_NORMAL_IMPRESSIONS))
    else:
        positives = [_fill(t, rng) for t in rng.sample(_POSITIVE, k=rng.randint(1, 3))]
        findings.extend(positives)
        if rng.random() < 0.5:
            findings.append(_fill(rng.choice(_HEDGED), rng))
        if rng.random() < 0.25:
            findings.append(_fill(rng.choice(_RESOLVED), rng))
        if rng.random() < 0.3:
            findings.extend(rng.sample(_DEVICES, k=rng.randint(1, 2)))
        findings.extend(normal[:2])
        rng.shuffle(findings)
        impression.extend(f"{i}. {s}" for i, s in enumerate(positives[:2], start=1))
        if rng.random() < 0.4:
            impression.append(_fill(rng.choice(_HEDGED), rng))
    parts.append("FINDINGS: " + " ".join(findings))
    parts.append("IMPRESSION: " + " ".join(impression))
    return ("\n" if rng.random() < 0.7 else "\n\n").join(parts)


def generate_reports(n: int, seed: int = 0) -> list[str]:
    """Return ``n`` deterministic synthetic chest X-ray reports for ``seed``."""
    rng = random.Random(seed)
    return [generate_report(rng) for _ in range(n)]


# -- mostly distinct reports ----------------------------------------------------------------------
# Real reports repeat stock phrases but most of their sentences carry something specific: a date,
# a measurement, a level, a side, a device position, a comparison. ``generate_distinct_reports``
# writes such reports from slot-filled templates (dates, sizes in mm / cm, lobes, ribs, vertebral
# levels, catheter tip positions, percentages, times), with several wordings per statement and
# sentences about other organs that name no chest finding, so that the segment cache cannot carry
# a benchmark: nearly every sentence is new. No random tokens: every sentence reads like a report.

_LOBES = ["right upper lobe", "right middle lobe", "right lower lobe", "left upper lobe", "left lower lobe",
          "lingula", "left lung base", "right lung base", "right apex", "left apex", "perihilar region",
          "superior segment of the right lower lobe", "posterior segment of the left upper lobe",
          "anterior segment of the right upper lobe", "lateral basal segment of the left lower lobe"]
_SIDE_WORDS = ["right", "left", "bilateral"]
_ADJ_SIZE = ["small", "moderate", "large", "trace", "tiny", "mild", "moderate to large", "small to moderate"]
_CHANGE = ["slightly increased", "slightly decreased", "unchanged", "increased", "decreased", "similar",
           "minimally increased", "mildly decreased", "not significantly changed"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_EXAMS = ["chest radiograph", "portable chest radiograph", "CT chest", "CT angiogram of the chest",
          "PA and lateral chest radiographs", "outside chest film", "CT abdomen and pelvis"]
_DOCTORS = ["Dr. Patel", "Dr. Nguyen", "Dr. Garcia", "Dr. Okafor", "Dr. Rossi", "Dr. Kim", "Dr. Lindqvist",
            "Dr. Haddad", "the covering resident", "the referring physician", "the ICU team", "the ED physician"]
_CONTRAST = ["without contrast", "with IV contrast", "with and without contrast"]


def _date(rng: random.Random) -> str:
    year, month, day = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28)
    style = rng.random()
    if style < 0.45:
        return f"{month}/{day}/{year}"
    if style < 0.7:
        return f"{year}-{month:02d}-{day:02d}"
    return f"{_MONTHS[month - 1]} {day}, {year}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"


def _mm(rng: random.Random) -> str:
    return str(rng.randint(2, 35))


def _cm(rng: random.Random) -> str:
    return f"{rng.randint(0, 9)}.{rng.randint(0, 9)}"


def _vertebra(rng: random.Random) -> str:
    region, top = rng.choice([("C", 7), ("T", 12), ("L", 5)])
    return f"{region}{rng.randint(1, top)}"


def _disc(rng: random.Random) -> str:
    region, top = rng.choice([("C", 6), ("T", 11), ("L", 4)])
    level = rng.randint(1, top)
    return f"{region}{level}-{region}{level + 1}" if rng.random() < 0.5 else f"{region}{level}-{level + 1}"


def _rib(rng: random.Random) -> str:
    n = rng.randint(2, 11)
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(n if n < 4 else 0, "th")
    return f"{rng.choice(_SIDE_WORDS[:2])} {n}{suffix}"


def _cap(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


_DISTINCT_TEMPLATES: dict[str, tuple[str, ...]] = {
    "normal": (
        "Lung volumes are {volumes}; no focal consolidation in the {lobe} or {lobe2}.",
        "No pleural effusion or pneumothorax on the {view} view obtained {date} at {time}.",
        "Heart size is normal, cardiothoracic ratio {ctr_normal}% (previously {ctr_normal2}%).",
        "No pneumothorax following {procedure} on {date} at {time}.",
        "The cardiomediastinal silhouette is {normal_words}, unchanged from {date}.",
        "No focal airspace opacity in the {lobe}.",
        "Lungs are {expanded} with the diaphragm at the {post_rib} posterior rib on the {view} view of {date}.",
        "No new consolidation since the {exam} of {date}.",
        "The lungs are clear.",
        "No acute osseous abnormality.",
    ),
    "finding": (
        "{Size} {side} pleural effusion, {change} since {date}.",
        "{Side} pleural effusion measuring {mm} mm in depth on the lateral view, previously {mm2} mm.",
        "Patchy opacity in the {lobe} measuring {cm} cm, {favour} atelectasis.",
        "Consolidation in the {lobe}, {change} compared with the {exam} of {date}.",
        "A {mm} mm nodule in the {lobe} (series {series}, image {image}), previously {mm2} mm.",
        "{Size} {side} apical pneumothorax measuring {cm} cm from the apex.",
        "Cardiomegaly with cardiothoracic ratio of {ctr_large}%, {change} since {date}.",
        "{Severity} pulmonary edema, {change} since {date}.",
        "Acute fracture of the {rib} rib{displacement}.",
        "Healed fractures of the {rib} and {rib2} ribs.",
        "{Lobe} mass measuring {cm} x {cm2} cm.",
        "Subsegmental atelectasis in the {lobe} with {minimal} volume loss.",
        "Streaky bibasilar opacities, {favour} atelectasis, {change} since {date}.",
        "Multifocal airspace disease in the {lobe} and {lobe2}, consistent with pneumonia.",
        "{Size} {side} effusion with compressive atelectasis of the {lower_lobe}.",
    ),
    "hedged": (
        "Questionable {mm} mm opacity in the {lobe}, possibly a nipple shadow; repeat with nipple markers.",
        "Possible early pneumonia in the {lobe} cannot be excluded.",
        "Opacity in the {lobe} may represent atelectasis or pneumonia in the appropriate clinical setting.",
        "Borderline heart size, cardiothoracic ratio {ctr_border}% on the {view} view of {date}.",
        "Mild interstitial prominence in the {lobe}, {maybe} mild edema versus chronic change since {date}.",
        "Blunting of the {side} costophrenic angle may reflect a {size} effusion or {mm} mm pleural thickening.",
    ),
    "device": (
        "Endotracheal tube tip {cm} cm above the carina at {time}.",
        "{Right} internal jugular central venous catheter tip at the {svc}, {mm} mm {above} the prior position.",
        "{Right} PICC tip projects over the {svc}, unchanged since {date}.",
        "Enteric tube courses below the diaphragm, tip {gi_tip}; side port {mm} mm below the GE junction since {date}.",
        "{Right} chest tube in place, side hole {within} the thorax, placed at {time}.",
        "Dual-chamber pacemaker with leads in the right atrium and ventricle, placed {date}.",
    ),
    "other": (
        "Degenerative changes of the thoracic spine with {severity} loss of height at {vertebra}.",
        "Compression deformity of {vertebra} with {pct}% height loss, unchanged since {date}.",
        "Disc space narrowing at {disc} and {disc2}.",
        "Surgical clips in the {quadrant}, present since {date}.",
        "Aortic knob calcification; aorta measures {cm} cm at the {aorta}, previously {cm2} cm.",
        "Visualized upper abdomen is unremarkable apart from {mm} mm splenic calcifications; gallbladder {gallbladder}.",
        "Anterior cervical fusion hardware from {vertebra} to {vertebra2} is intact.",
        "Thyroid nodule measuring {mm} mm, incompletely imaged on the study of {date}.",
    ),
    "resolved": (
        "Interval resolution of the {side} pleural effusion seen on {date}.",
        "The {side} pneumothorax seen at {time} has resolved after chest tube placement.",
        "Consolidation in the {lobe} is no longer seen on the {exam} of {date}.",
        "Endotracheal tube removed since {date}.",
    ),
}


def _ordinal(n: int) -> str:
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n if n < 4 else 0, 'th')}"


_SLOTS: dict[str, Any] = {
    "lobe": lambda r: r.choice(_LOBES), "lobe2": lambda r: r.choice(_LOBES),
    "lower_lobe": lambda r: r.choice(["right lower lobe", "left lower lobe", "lingula"]),
    "side": lambda r: r.choice(_SIDE_WORDS), "size": lambda r: r.choice(_ADJ_SIZE),
    "change": lambda r: r.choice(_CHANGE), "date": _date, "time": _time, "mm": _mm, "mm2": _mm,
    "cm": _cm, "cm2": _cm, "rib": _rib, "rib2": _rib, "vertebra": _vertebra, "vertebra2": _vertebra,
    "disc": _disc, "disc2": _disc, "exam": lambda r: r.choice(_EXAMS),
    "pct": lambda r: str(r.randint(10, 60)), "series": lambda r: str(r.randint(2, 9)),
    "image": lambda r: str(r.randint(12, 240)), "ctr_normal": lambda r: str(r.randint(38, 49)), "ctr_normal2": lambda r: str(r.randint(38, 49)),
    "ctr_large": lambda r: str(r.randint(52, 68)), "ctr_border": lambda r: str(r.randint(48, 53)),
    "post_rib": lambda r: _ordinal(r.randint(9, 11)),
    "volumes": lambda r: r.choice(["low", "normal", "slightly low", "diminished"]),
    "view": lambda r: r.choice(["frontal", "lateral", "portable", "upright"]),
    "procedure": lambda r: r.choice(["line placement", "thoracentesis", "chest tube removal", "bronchoscopy"]),
    "normal_words": lambda r: r.choice(["within normal limits", "normal", "unremarkable", "stable"]),
    "expanded": lambda r: r.choice(["hyperinflated", "well expanded", "clear", "low in volume"]),
    "favour": lambda r: r.choice(["likely", "probably", "compatible with", "most likely", "favored to represent"]),
    "severity": lambda r: r.choice(["mild", "moderate", "severe"]),
    "displacement": lambda r: r.choice(["", " with mild displacement", ", nondisplaced", " with callus formation"]),
    "minimal": lambda r: r.choice(["minimal", "mild", "no"]),
    "maybe": lambda r: r.choice(["possibly", "which may reflect", "could represent"]),
    "right": lambda r: r.choice(["Right", "Left"]), "above": lambda r: r.choice(["above", "below"]),
    "svc": lambda r: r.choice(["cavoatrial junction", "mid SVC", "lower SVC", "right atrium", "upper SVC"]),
    "gi_tip": lambda r: r.choice(["in the gastric body", "in the duodenum", "in the gastric fundus"]),
    "within": lambda r: r.choice(["within", "outside"]),
    "quadrant": lambda r: r.choice(["right upper quadrant", "left upper quadrant", "epigastrium"]),
    "aorta": lambda r: r.choice(["arch", "descending segment", "root"]),
    "gallbladder": lambda r: r.choice(["surgically absent", "distended", "not seen", "contracted"]),
}


class _Slots(dict):  # type: ignore[type-arg]
    """Fills a template's slots on demand; a capitalised slot name gives a capitalised value."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self._rng = rng

    def __missing__(self, key: str) -> str:
        value = _SLOTS[key.lower()](self._rng)
        if key[0].isupper():
            value = _cap(value)
        self[key] = value
        return value


def _distinct_sentence(kind: str, rng: random.Random) -> str:
    """One sentence of ``kind`` with its slots filled (most combinations occur once in 50,000 reports)."""
    return rng.choice(_DISTINCT_TEMPLATES[kind]).format_map(_Slots(rng))


def generate_distinct_report(rng: random.Random) -> str:
    """One report whose sentences carry dates, measurements, levels and sides (see above)."""
    parts: list[str] = []
    if rng.random() < 0.7:
        age = rng.randint(18, 95)
        reason = rng.choice(["cough and fever", "shortness of breath", "chest pain", "hypoxia", "fall",
                             "preoperative evaluation", "line placement", "follow-up of pneumonia"])
        parts.append(f"INDICATION: {age}-year-old {rng.choice(['man', 'woman', 'patient'])} with {reason}.")
    if rng.random() < 0.4:
        parts.append(f"TECHNIQUE: {rng.choice(['PA and lateral views', 'Single portable AP view', 'Axial CT images ' + rng.choice(_CONTRAST)])} obtained at {_time(rng)}.")
    if rng.random() < 0.6:
        parts.append(f"COMPARISON: {_cap(rng.choice(_EXAMS))} dated {_date(rng)}.")
    findings: list[str] = []
    if rng.random() < 0.3:
        findings += [_distinct_sentence("normal", rng) for _ in range(rng.randint(2, 4))]
    else:
        findings += [_distinct_sentence("finding", rng) for _ in range(rng.randint(1, 3))]
        findings += [_distinct_sentence("normal", rng) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.4:
            findings.append(_distinct_sentence("hedged", rng))
        if rng.random() < 0.3:
            findings.append(_distinct_sentence("device", rng))
        if rng.random() < 0.2:
            findings.append(_distinct_sentence("resolved", rng))
    findings += [_distinct_sentence("other", rng) for _ in range(rng.randint(0, 1))]
    rng.shuffle(findings)
    parts.append("FINDINGS: " + " ".join(findings))
    impression = [_distinct_sentence(rng.choice(["finding", "finding", "hedged", "normal"]), rng)
                  for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.25:
        impression.append(f"Findings discussed with {rng.choice(_DOCTORS)} at {_time(rng)} on {_date(rng)}.")
    numbered = rng.random() < 0.5
    parts.append("IMPRESSION: " + " ".join(f"{i}. {s}" if numbered else s for i, s in enumerate(impression, 1)))
    return ("\n" if rng.random() < 0.7 else "\n\n").join(parts)


def generate_distinct_reports(n: int, seed: int = 0) -> list[str]:
    """Return ``n`` deterministic reports in which most sentences occur once (see above)."""
    rng = random.Random(seed)
    return [generate_distinct_report(rng) for _ in range(n)]
