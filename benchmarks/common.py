"""Shared helpers for benchmarks: where the data is, timing, JSON results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def data_root() -> Path:
    """../shared/data relative to the repo root (or $IMGRESTORE_DATA); exits with a clear skip."""
    root = Path(os.environ.get("IMGRESTORE_DATA", REPO.parent / "shared" / "data"))
    if not (root / "test").is_dir():
        print(f"SKIPPED: benchmark data not found at {root} (set IMGRESTORE_DATA to the shared/data folder)")
        sys.exit(0)
    return root


def reused_rows(results: dict[str, Any], source: Path) -> dict[str, Any]:
    """An earlier run's results (set -> condition -> method -> row), each row marked with the
    file it came from (kept if it was already reused), so a new run can keep the rows it does
    not measure again and still print everything side by side."""
    return {
        set_name: {condition: {method: {**row, "reused_from": row.get("reused_from", str(source))}
                               for method, row in rows.items()}
                   for condition, rows in conditions.items()}
        for set_name, conditions in results.items()
    }


def measured_line(row: dict[str, dict[str, Any]]) -> str:
    """The line a quality benchmark prints as each condition finishes: every method's PSNR/SSIM,
    starred where the row was reused from an earlier run rather than measured now."""
    return "  ".join(f"{method}{'*' if 'reused_from' in scores else ''} {scores['psnr']:.2f}/{scores['ssim']:.4f}"
                     for method, scores in row.items())


def methods_present(results: dict[str, dict[str, dict[str, Any]]], order: Sequence[str]) -> list[str]:
    """The methods (in `order`) that have a row anywhere in set -> condition -> method results:
    the columns of the closing table."""
    return [method for method in order if any(method in row for rows in results.values() for row in rows.values())]


def any_reused(results: dict[str, dict[str, dict[str, Any]]]) -> bool:
    """Whether any row of set -> condition -> method results came from an earlier run."""
    return any("reused_from" in scores for rows in results.values() for row in rows.values() for scores in row.values())


def model_file(name: str, override: Path | None = None) -> Path:
    """`override` when given (a model under test), else the shipped model `name`; exits with a
    clear message when neither exists."""
    if override is not None:
        return override
    from imgrestore.weights import WeightsError, locate

    try:
        return locate(name).file
    except WeightsError as error:
        sys.exit(f"{error}\n(no shipped model yet? point the benchmark at an exported .onnx file)")


def median_seconds(function: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> dict[str, Any]:
    import onnxruntime

    return {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "onnxruntime": onnxruntime.__version__,
            "providers": onnxruntime.get_available_providers()}


def save(name: str, payload: dict[str, Any], folder: Path = RESULTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2) + "\n")
    shown = path.resolve().relative_to(REPO) if path.resolve().is_relative_to(REPO) else path
    print(f"results written to {shown}")
    return path
