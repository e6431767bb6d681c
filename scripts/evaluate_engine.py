"""Measure the engine's accuracy against the reference data in ../shared/reference.

Sets: (a) IU / Open-i chest X-ray reports (findings + impression) vs NegBio's openi_gld_std14.csv
(positive-mention F1 per overlapping label, "normal" vs No Finding); (b) the CheXpert labeler's
sample reports (exact match per cell); (c) our hard cases (tests/engine/data/*.jsonl); (d) held-out
report sets (tests/engine/data/heldout_*.jsonl, written without looking at the rules) scored
CheXbert-style: per label and value (positive / negative / uncertain) F1, weighted by support, plus
mention F1 (mentioned vs absent) and uncertain F1.
The IU reports are read at evaluation time only and never copied into the repository.

    .venv/bin/python scripts/evaluate_engine.py [--reference ../shared/reference] [--json OUT]
    .venv/bin/python scripts/evaluate_engine.py --heldout FILE.jsonl [--schema chexpert|PATH.yaml] [-v]
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from annotation.engine import Labeler, load_builtin_schema, load_schema_yaml  # noqa: E402

IU_MAP = {
    "Atelectasis": "Atelectasis",
    "Cardiomegaly": "Cardiomegaly",
    "Consolidation": "Consolidation",
    "Edema": "Edema",
    "Effusion": "Pleural Effusion",
    "Pneumonia": "Pneumonia",
    "Pneumothorax": "Pneumothorax",
    "Pleural_Thickening": "Pleural Other",
    "Mass": "Lung Lesion",
    "Nodule": "Lung Lesion",
    "Infiltration": "Lung Opacity",
    "normal": "No Finding",
}
VALUES = ("positive", "negative", "uncertain")


def f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def evaluate_iu(reference: Path, labeler: Labeler) -> dict:
    gold: dict[str, dict[str, int]] = {}
    with open(reference / "negbio/examples/openi_gld_std14.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            gold[row["filename"].removeprefix("CXR")] = {k: int(v) for k, v in row.items() if k != "filename"}
    ids: list[str] = []
    texts: list[str] = []
    with open(reference / "iu-xray-openi/indiana_reports.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["uid"] not in gold:
                continue
            parts = []
            if row["findings"].strip():
                parts.append("FINDINGS: " + row["findings"].strip())
            if row["impression"].strip():
                parts.append("IMPRESSION: " + row["impression"].strip())
            ids.append(row["uid"])
            texts.append("\n".join(parts))
    results = labeler.label_many(texts)
    out: dict[str, dict] = {}
    for gold_name, ours in IU_MAP.items():
        tp = fp = fn = 0
        for uid, res in zip(ids, results, strict=True):
            g = gold[uid].get(gold_name, 0) == 1
            if gold_name in ("Mass", "Nodule"):
                g = gold[uid]["Mass"] == 1 or gold[uid]["Nodule"] == 1
            p = ours in res and res[ours].value == "positive"
            tp += g and p
            fp += (not g) and p
            fn += g and not p
        out[gold_name] = {"ours": ours, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn, "f1": round(f1(tp, fp, fn), 3)}
    core = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion", "Pneumonia", "Pneumothorax"]
    sup = sum(out[k]["support"] for k in core)
    out["_weighted_f1_core7"] = round(sum(out[k]["f1"] * out[k]["support"] for k in core) / sup, 3)
    out["_reports"] = len(ids)
    return out


def evaluate_chexpert_sample(reference: Path, labeler: Labeler) -> dict:
    code = {"positive": "1.0", "negative": "0.0", "uncertain": "-1.0"}
    cells = correct = 0
    wrong: list[str] = []
    with open(reference / "chexpert-labeler/labeled_reports.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            res = labeler.label(row["Reports"])
            for name in reader.fieldnames[1:]:
                expected = row[name].strip()
                got = code[res[name].value] if name in res else ""
                cells += 1
                if got == expected:
                    correct += 1
                else:
                    wrong.append(f"{row['Reports'][:40]!r} {name}: expected {expected or 'blank'} got {got or 'blank'}")
    return {"cells": cells, "correct": correct, "accuracy": round(correct / cells, 4), "wrong": wrong}


def evaluate_cases(path: Path, labeler: Labeler) -> dict:
    """Hard cases: each line {"text", "expected": {label: value|null}}; per-value F1 weighted by support."""
    counts = {v: Counter() for v in VALUES}
    failures: list[str] = []
    total = ok = 0
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        res = labeler.label(case["text"])
        for label, expected in case["expected"].items():
            got = res[label].value if label in res else None
            total += 1
            ok += got == expected
            if got != expected:
                failures.append(f"[{case.get('rule', '')}] {case['text'][:70]!r} {label}: expected {expected} got {got}")
            for v in VALUES:
                if expected == v and got == v:
                    counts[v]["tp"] += 1
                elif got == v:
                    counts[v]["fp"] += 1
                elif expected == v:
                    counts[v]["fn"] += 1
    per = {v: round(f1(c["tp"], c["fp"], c["fn"]), 3) for v, c in counts.items()}
    support = {v: counts[v]["tp"] + counts[v]["fn"] for v in VALUES}
    weighted = sum(per[v] * support[v] for v in VALUES) / max(sum(support.values()), 1)
    mention_tp = sum(counts[v]["tp"] for v in VALUES)
    return {
        "cells": total,
        "exact": round(ok / max(total, 1), 3),
        "f1": per,
        "support": support,
        "weighted_f1": round(weighted, 3),
        "mention_cells_correct": mention_tp,
        "failures": failures,
    }


def score_heldout(path: Path, labeler: Labeler, label_names: list[str]) -> dict:
    """CheXbert-style scoring of whole reports.

    Each line is {"id", "text", "expected": {label: value}}; a schema label missing from
    "expected" is absent. For every (label, value) pair F1 is computed over all reports; the
    weighted F1 averages those with the pair's gold support as weight. Mention F1 treats any
    value as "mentioned"; uncertain F1 is the support-weighted uncertain-value F1.
    """
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    results = labeler.label_many([c["text"] for c in cases])
    cells: dict[tuple[str, str], Counter] = {}
    errors: list[str] = []
    for case, res in zip(cases, results, strict=True):
        for label in label_names:
            gold = case["expected"].get(label)
            got = res[label].value if label in res else None
            if gold != got:
                errors.append(f"{case['id']} {label}: expected {gold} got {got}")
            for value in (*VALUES, "mention"):
                g = gold is not None if value == "mention" else gold == value
                p = got is not None if value == "mention" else got == value
                c = cells.setdefault((label, value), Counter())
                c["tp"] += g and p
                c["fp"] += p and not g
                c["fn"] += g and not p

    def weighted(values: tuple[str, ...]) -> tuple[float, int]:
        num = den = 0
        for (_, value), c in cells.items():
            if value in values:
                support = c["tp"] + c["fn"]
                num += f1(c["tp"], c["fp"], c["fn"]) * support
                den += support
        return (round(num / den, 3) if den else 0.0), den

    out = {"reports": len(cases)}
    for key, values in (("weighted_f1", VALUES), ("positive_f1", ("positive",)), ("negative_f1", ("negative",)),
                        ("uncertain_f1", ("uncertain",)), ("mention_f1", ("mention",))):
        out[key], out[key.replace("f1", "support")] = weighted(values)
    out["errors"] = errors
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", default=str(ROOT.parent / "shared" / "reference"))
    parser.add_argument("--json", help="write the full figures here")
    parser.add_argument("--heldout", action="append", help="score only these held-out report files")
    parser.add_argument("--schema", default="chexpert", help="schema for --heldout: chexpert or a YAML path")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every wrong cell")
    args = parser.parse_args()
    if args.heldout:
        schema = load_builtin_schema("chexpert") if args.schema == "chexpert" else load_schema_yaml(args.schema)
        labeler = Labeler(schema)
        names = [spec.name for spec in schema.labels]
        if schema.no_finding and schema.no_finding.label not in names:
            names.append(schema.no_finding.label)
        for path in args.heldout:
            res = score_heldout(Path(path), labeler, names)
            print(path, json.dumps({k: v for k, v in res.items() if k != "errors"}))  # noqa: T201 (a command-line script: printing is its output)
            for line in res["errors"] if args.verbose else []:
                print("   ", line)  # noqa: T201 (a command-line script: printing is its output)
        return
    reference = Path(args.reference)
    chexpert = Labeler(load_builtin_schema("chexpert"))
    report: dict = {}
    if (reference / "iu-xray-openi/indiana_reports.csv").exists():
        report["iu_openi"] = evaluate_iu(reference, chexpert)
    report["chexpert_sample"] = evaluate_chexpert_sample(reference, chexpert)
    data = ROOT / "tests/engine/data"
    if (data / "hard_cases.jsonl").exists():
        report["hard_cases_chest"] = evaluate_cases(data / "hard_cases.jsonl", chexpert)
    if (data / "head_ct_cases.jsonl").exists():
        head = Labeler(load_schema_yaml(str(data / "head_ct_schema.yaml")))
        report["hard_cases_head_ct"] = evaluate_cases(data / "head_ct_cases.jsonl", head)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    for name, section in report.items():
        brief = {k: v for k, v in section.items() if k not in ("wrong", "failures")}
        print(name, json.dumps(brief))  # noqa: T201 (a command-line script: printing is its output)
        for line in (section.get("wrong") or section.get("failures") or [])[:40]:
            print("   ", line)  # noqa: T201 (a command-line script: printing is its output)


if __name__ == "__main__":
    main()
