"""Server-side SVG geometry for the training results pages (no chart library, no CDN).

Each builder returns a plain dict that templates/training/job_chart.html draws: axes with ticks,
series as SVG path data, point markers with a label, and a legend. Every value drawn comes from
the run's stored results (computed from its predictions) or its trials' rows.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

# Colours with at least 3:1 contrast on white (WCAG 1.4.11 for graphics).
PALETTE = ("#1f5fa8", "#c0392b", "#1e7b3a", "#7b3fa0", "#8a5a00", "#a3336b", "#00707a", "#555555")
WIDTH, HEIGHT = 360, 260
MARGIN = {"left": 52, "right": 12, "top": 12, "bottom": 40}


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100 or abs(value) < 0.01:
        return f"{value:.0e}" if abs(value) < 0.01 else f"{value:.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def chart(
    *,
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[dict[str, Any]],
    markers: Sequence[dict[str, Any]] = (),
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    log_x: bool = False,
    diagonal: bool = False,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> dict[str, Any]:
    """A line / scatter chart. series: [{"name", "points": [(x, y)], "dashed": bool, "dots": bool}]."""
    xs = [x for s in series for x, _ in s["points"]] + [m["x"] for m in markers]
    ys = [y for s in series for _, y in s["points"]] + [m["y"] for m in markers]
    tx = (lambda v: math.log10(max(v, 1e-12))) if log_x else (lambda v: v)
    if x_range is None:
        x_range = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if y_range is None:
        y_range = (min(ys), max(ys)) if ys else (0.0, 1.0)
    x0, x1 = tx(x_range[0]), tx(x_range[1])
    y0, y1 = y_range
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if y1 == y0:
        y0, y1 = y0 - 0.05, y1 + 0.05
    left, right, top, bottom = MARGIN["left"], width - MARGIN["right"], MARGIN["top"], height - MARGIN["bottom"]

    def px(v: float) -> float:
        return round(left + (tx(v) - x0) / (x1 - x0) * (right - left), 1)

    def py(v: float) -> float:
        return round(bottom - (v - y0) / (y1 - y0) * (bottom - top), 1)

    drawn = []
    for index, s in enumerate(series):
        colour = s.get("colour") or PALETTE[index % len(PALETTE)]
        points = [(px(x), py(y)) for x, y in s["points"]]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(points))
        drawn.append({
            "name": s["name"], "colour": colour, "path": path if not s.get("dots") else "",
            "dots": [{"cx": x, "cy": y, "title": f"{s['name']}: {_fmt(vx)}, {_fmt(vy)}"}
                     for (x, y), (vx, vy) in zip(points, s["points"], strict=True)] if s.get("dots") else [],
            "dashed": bool(s.get("dashed")),
        })
    marks = [
        {"cx": px(m["x"]), "cy": py(m["y"]), "label": m.get("label", ""), "title": m.get("title", m.get("label", "")),
         "colour": m.get("colour", "#111111")}
        for m in markers
    ]
    x_ticks = [10**v for v in _ticks(x0, x1)] if log_x else _ticks(x0, x1)
    return {
        "title": title, "x_label": x_label, "y_label": y_label, "width": width, "height": height,
        "left": left, "right": right, "top": top, "bottom": bottom, "mid_x": (left + right) / 2, "mid_y": (top + bottom) / 2,
        "x_ticks": [{"x": px(v), "label": _fmt(v)} for v in x_ticks],
        "y_ticks": [{"y": py(v), "label": _fmt(v)} for v in _ticks(y0, y1)],
        "series": drawn, "markers": marks,
        "diagonal": f"M{px(x_range[0])},{py(y0)} L{px(x_range[1])},{py(y1)}" if diagonal else "",
        "empty": not xs,
    }


def learning_curves(trials: Sequence[Any]) -> dict[str, Any]:
    series = []
    for trial in trials:
        points = [(row["epoch"], row["val_metric"]) for row in trial.curve if row.get("val_metric") is not None]
        if points:
            series.append({"name": f"Trial {trial.number} ({trial.state})", "points": points, "dashed": trial.state != "complete"})
    return chart(title="Learning curves: validation macro AUROC per epoch", x_label="Epoch", y_label="Macro AUROC",
                 series=series)


def search_history(trials: Sequence[Any]) -> dict[str, Any]:
    done = [t for t in trials if t.value is not None and t.number is not None]
    done.sort(key=lambda t: t.number)
    best, best_points = -math.inf, []
    for t in done:
        if t.state == "complete":
            best = max(best, t.value)
        if best > -math.inf:
            best_points.append((t.number, best))
    series = [{"name": "Trial value", "points": [(t.number, t.value) for t in done], "dots": True},
              {"name": "Best so far", "points": best_points}]
    return chart(title="Search history", x_label="Trial number", y_label="Validation macro AUROC", series=series)


def params_vs_metric(trials: Sequence[Any]) -> list[dict[str, Any]]:
    done = [t for t in trials if t.value is not None and t.params]
    names = sorted({name for t in done for name in t.params})
    charts = []
    for name in names:
        points = [(float(t.params[name]), t.value) for t in done if name in t.params]
        log_x = name in ("lr", "weight_decay") and all(x > 0 for x, _ in points)
        charts.append(chart(title=f"{name} against the metric", x_label=name, y_label="Validation macro AUROC",
                            series=[{"name": name, "points": points, "dots": True}], log_x=log_x, width=260, height=200))
    return charts


def roc_chart(label: str, curves: dict[str, Any], readers: Sequence[dict[str, Any]], *, other: dict[str, Any] | None = None,
              names: tuple[str, str] = ("Model", "Engine soft labels")) -> dict[str, Any]:
    series = [{"name": names[0], "points": [tuple(p) for p in curves.get("roc", [])]},
              {"name": names[1], "points": [tuple(p) for p in curves.get("roc_baseline", [])], "dashed": True}]
    if other is not None:
        series[1] = {"name": names[1], "points": [tuple(p) for p in other.get("roc", [])], "dashed": True}
    markers = [
        {"x": 1 - r["specificity"], "y": r["sensitivity"], "label": r["reader"],
         "title": f"Reader {r['reader']}: sensitivity {r['sensitivity']:.2f}, specificity {r['specificity']:.2f} (n={r['n']})"}
        for r in readers
    ]
    return chart(title=f"ROC, {label} (test)", x_label="1 - specificity", y_label="Sensitivity", series=series,
                 markers=markers, x_range=(0, 1), y_range=(0, 1), diagonal=True)


def pr_chart(label: str, curves: dict[str, Any]) -> dict[str, Any]:
    series = [{"name": "Model", "points": [tuple(p) for p in curves.get("pr", [])]},
              {"name": "Engine soft labels", "points": [tuple(p) for p in curves.get("pr_baseline", [])], "dashed": True}]
    return chart(title=f"Precision-recall, {label} (test)", x_label="Recall", y_label="Precision", series=series,
                 x_range=(0, 1), y_range=(0, 1))


def calibration_chart(label: str, curves: dict[str, Any]) -> dict[str, Any]:
    points = [(c["predicted"], c["observed"]) for c in curves.get("calibration", [])]
    return chart(title=f"Calibration, {label} (test)", x_label="Predicted p", y_label="Observed rate",
                 series=[{"name": "Model", "points": points, "dots": True}], x_range=(0, 1), y_range=(0, 1), diagonal=True)
