"""Assemble the explorer page from its assets, with the lab's findings when there are any."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "DEMO_RESULTS",
    "PAGE_LIMIT_BYTES",
    "build_page",
    "find_results",
    "lab_summary",
    "write_page",
]

#: The page must stay a small single file.
PAGE_LIMIT_BYTES = 1_000_000


def _asset(name: str) -> str:
    return (
        resources.files(__package__).joinpath("assets").joinpath(name).read_text(encoding="utf-8")
    )


def lab_summary(results: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the lab's ``results.json`` that the page shows (its curves are left out).

    The keys keep their places in ``results.json``, so the page reads a full file, loaded by
    hand, the same way.
    """
    meta = results.get("meta", {})
    training = {
        name: {
            model: {
                "losses": {
                    loss: {
                        key: v.get(key)
                        for key in (
                            "lr",
                            "final_test_acc_mean",
                            "final_test_acc_std",
                            "epochs_to_95",
                        )
                    }
                    for loss, v in res["losses"].items()
                }
            }
            for model, res in per_model.items()
        }
        for name, per_model in results.get("training", {}).items()
    }
    summary: dict[str, Any] = {
        "meta": {k: meta.get(k) for k in ("seed", "quick", "infoloss_version")},
        "training": training,
    }
    grad = results.get("gradients", {}).get("y1")
    if grad is not None:
        summary["gradients"] = {
            "y1": {k: grad.get(k) for k in ("z_wrong8", "grad_ce_at_wrong8", "grad_se_at_wrong8")}
        }
    sat = results.get("saturation")
    if sat is not None and "binary" in sat:
        binary = sat["binary"]
        margin = sat["show_margin"]
        summary["saturation"] = {
            "show_margin": margin,
            "binary": {
                "dataset": binary["dataset"],
                "losses": binary["losses"],
                "runs": {
                    loss: {
                        margin: {
                            "epochs_to_recover_mean": binary["runs"][loss][margin][
                                "epochs_to_recover_mean"
                            ]
                        }
                    }
                    for loss in binary["losses"]
                },
            },
        }
    return summary


def build_page(results: Mapping[str, Any] | None = None, *, source: str = "results.json") -> str:
    """The explorer as one HTML string.

    Parameters
    ----------
    results
        The lab's results (the dict :func:`infoloss.lab.run_demo` returns and writes to
        ``results.json``), shown in the page's last section; None for none.
    source
        How the page names where the results came from.
    """
    from .. import __version__

    payload = "null" if results is None else json.dumps(lab_summary(results), allow_nan=False)
    # A JSON string may hold "</script>"; "<\/" is the same string to JSON and ends nothing.
    payload = payload.replace("</", "<\\/")
    page = _asset("explorer.html")
    replacements = {
        "/*__CSS__*/": _asset("explorer.css"),
        "/*__JS__*/": _asset("explorer.js"),
        "__RESULTS__": payload,
        "__RESULTS_SOURCE__": _attr(source),
        "__VERSION__": __version__,
    }
    for marker, value in replacements.items():
        page = page.replace(marker, value)
    size = len(page.encode("utf-8"))
    if size > PAGE_LIMIT_BYTES:  # pragma: no cover - a guard on the assets themselves
        raise RuntimeError(f"the explorer page grew to {size} bytes (limit {PAGE_LIMIT_BYTES})")
    return page


def _attr(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


#: Where ``infoloss demo`` writes its results by default, relative to the folder it runs in.
DEMO_RESULTS = Path("report") / "results.json"


def find_results(path: str | Path = "explore.html") -> Path | None:
    """The lab's ``results.json`` that the page written to ``path`` shows by default.

    Parameters
    ----------
    path
        Where the page is to be written.

    Returns
    -------
    pathlib.Path or None
        The first file that exists of: ``results.json`` beside the page, then
        ``report/results.json`` in the current folder (where ``infoloss demo`` writes it), then
        ``report/results.json`` beside the page; None when there is none.
    """
    folder = Path(path).parent
    for candidate in (folder / "results.json", DEMO_RESULTS, folder / DEMO_RESULTS):
        if candidate.is_file():
            return candidate
    return None


def write_page(
    path: str | Path = "explore.html",
    *,
    results: str | Path | Mapping[str, Any] | None = None,
) -> Path:
    """Write the explorer to ``path`` and return that path.

    Parameters
    ----------
    path
        Where to write the page.
    results
        The lab's ``results.json`` (a path) or its dict.  None looks for the file with
        :func:`find_results`, which tells the caller which file that is; the page names it
        too.  A file that cannot be read as the lab's results raises ``ValueError``.
    """
    out = Path(path)
    data: Mapping[str, Any] | None = None
    source = ""
    if results is None:
        results = find_results(out)
    if isinstance(results, (str, Path)):
        data = _read_results(Path(results))
        source = Path(results).as_posix()
    elif results is not None:
        data, source = results, "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_page(data, source=source), encoding="utf-8")
    return out


def _read_results(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ValueError(f"no such file: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("training"), dict):
        raise ValueError(f"{path}: not the lab's results.json (no 'training' entry)")
    return data
