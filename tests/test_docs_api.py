"""Every name and dotted path printed in docs/api.md works as printed (issue 11, step 5).

The page promises that a name without a module path is importable from ``omnistock``
(and listed in ``omnistock.__all__``) and that ``omnistock.x.y`` paths resolve. This
test reads the page and resolves each one the way a user would: attribute access
from ``omnistock``, importing a submodule only when it is not yet an attribute.
"""

from __future__ import annotations

import builtins
import importlib
import re
from pathlib import Path
from typing import Any

import pytest

import omnistock

API_MD = Path(__file__).resolve().parents[1] / "docs" / "api.md"
TEXT = API_MD.read_text(encoding="utf-8")
SPANS = re.findall(r"`([^`]+)`", TEXT)
DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"


def resolve(path: str) -> Any:
    """The object at ``path`` (``omnistock.a.b``), as ``import omnistock; omnistock.a.b``."""
    parts = path.split(".")
    obj: Any = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        if not hasattr(obj, part):
            # A submodule a user imports first (``import omnistock.model.io``).
            importlib.import_module(".".join(parts[: i + 1]))
        obj = getattr(obj, part)
    return obj


def _module_paths() -> list[str]:
    """Every ``omnistock.x...`` dotted path printed on the page (calls: without args)."""
    return sorted({m for s in SPANS for m in re.findall(rf"\bomnistock\.{DOTTED}", s)})


def _top_level_names() -> list[str]:
    """Names the page prints without a module path: to be reached from ``omnistock``.

    Those are spans led by a capitalised name (``Plan``, ``StockPool.from_scenario``)
    and the first span of each bullet (``solve(...)``, ``samples.network(...)``);
    other lower-case spans are attributes or arguments (``kpis()``, ``frozen=``).
    """
    leads = [s for s in SPANS if re.match(r"[A-Z]", s)]
    leads += re.findall(r"^\s*- `([^`]+)`", TEXT, flags=re.MULTILINE)
    names = set()
    for span in leads:
        head = re.match(DOTTED, span)
        if (
            head
            and not head.group(0).startswith(("omnistock.", "pydantic."))
            and not hasattr(builtins, head.group(0))  # ``ValueError``
        ):
            names.add(head.group(0))
    return sorted(names)


def test_the_page_prints_paths_and_names() -> None:
    # Guards the extraction itself: an empty list would pass everything below.
    assert "omnistock.replanning.apply_moves" in _module_paths()
    assert {"Plan", "solve", "StockPool.from_scenario"} <= set(_top_level_names())


@pytest.mark.parametrize("path", _module_paths())
def test_dotted_path_resolves(path: str) -> None:
    try:
        obj = resolve(path)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"docs/api.md prints {path!r}, which does not resolve: {err}")
    if re.search(rf"`{re.escape(path)}\(", TEXT):
        assert callable(obj), f"docs/api.md calls {path!r}, which is not callable"


@pytest.mark.parametrize("name", _top_level_names())
def test_top_level_name_resolves_and_is_exported(name: str) -> None:
    try:
        resolve(f"omnistock.{name}")
    except (ImportError, AttributeError) as err:
        pytest.fail(
            f"docs/api.md prints {name!r}, not importable from omnistock: {err}"
        )
    assert name.split(".")[0] in omnistock.__all__


@pytest.mark.parametrize("name", sorted(omnistock.__all__))
def test_every_exported_name_exists(name: str) -> None:
    assert getattr(omnistock, name) is not None


# The other pages print module paths too; decisions.md and benchmarks.md are records
# of the past (they may quote a path as it was) and are left out.
OTHER_PAGES = sorted(
    p
    for p in API_MD.parent.glob("*.md")
    if p.name not in {"api.md", "decisions.md", "benchmarks.md"}
)


def _paths_of(page: Path) -> list[str]:
    spans = re.findall(r"`([^`]+)`", page.read_text(encoding="utf-8"))
    return sorted({m for s in spans for m in re.findall(rf"\bomnistock\.{DOTTED}", s)})


@pytest.mark.parametrize(
    ("page", "path"),
    [(p.name, m) for p in OTHER_PAGES for m in _paths_of(p)],
)
def test_dotted_paths_of_other_pages_resolve(page: str, path: str) -> None:
    try:
        resolve(path)
    except (ImportError, AttributeError) as err:
        pytest.fail(f"docs/{page} prints {path!r}, which does not resolve: {err}")
