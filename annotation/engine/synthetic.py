"""Synthetic chest X-ray reports for the benchmark and demo data.

Written from templates (no real report text), with headers FINDINGS / IMPRESSION, sometimes
INDICATION / COMPARISON / TECHNIQUE, normal studies, positive findings, negations, hedges,
resolution, persistence and support devices, so the benchmark exercises every code path.
"""
from __future__ import annotations

import random

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
