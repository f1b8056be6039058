"""Every code block of README.md and docs/*.md runs, so a page cannot drift from the code.

A fenced block says its language. ``python`` blocks of one page run in order in one
namespace (a page reads like one session), ``bash`` blocks line by line through
bash, ``json`` blocks must parse (and validate when they are a scenario); ``text``
blocks are prose. Everything runs in a fresh temporary folder, with this Python's
``bin`` folder (where ``omnistock`` is installed) first on ``PATH``.

A block that must not run here (it creates a virtual environment, or is a
benchmark of minutes) says so on the line just before its fence::

    <!-- docs-test: skip: the reason -->
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LANGUAGES = {"python", "bash", "json", "text"}
_FENCE = re.compile(r"^```(\S*)\s*$")
_SKIP = re.compile(r"^<!--\s*docs-test:\s*skip:\s*(?P<reason>\S.*?)\s*-->$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it starts, its language, its code, why it is skipped."""

    page: Path
    line: int
    language: str
    code: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in order (a fence inside a fence is text)."""
    found: list[Block] = []
    lines = page.read_text("utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, language = i, match.group(1)
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"),
            len(lines),
        )
        before = next((s.strip() for s in reversed(lines[:start]) if s.strip()), "")
        marker = _SKIP.match(before)
        code = "\n".join(lines[start + 1 : end]) + "\n"
        found.append(
            Block(page, start + 1, language, code, marker and marker["reason"])
        )
        i = end + 1
    return found


ALL = [b for page in PAGES for b in blocks(page)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("block", ALL, ids=[b.where for b in ALL])
def test_every_block_names_a_known_language(block: Block) -> None:
    assert block.language in LANGUAGES, (
        f"{block.where}: a fenced block must say its language, one of "
        f"{sorted(LANGUAGES)}; got {block.language!r}"
    )


PYTHON_PAGES = sorted({b.page for b in ALL if b.language == "python" and not b.skip})


@pytest.mark.parametrize(
    "page", PYTHON_PAGES, ids=[str(p.relative_to(ROOT)) for p in PYTHON_PAGES]
)
def test_python_blocks_of_a_page_run_in_order(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(page):
        if block.language != "python" or block.skip:
            continue
        code = compile(block.code, block.where, "exec")
        exec(code, namespace)


SHELL = [b for b in ALL if b.language == "bash" and not b.skip]


@pytest.mark.slow
@pytest.mark.parametrize("block", SHELL, ids=[b.where for b in SHELL])
def test_shell_blocks_run(block: Block, tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.code],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{block.where} failed:\n{done.stdout}\n{done.stderr}"


JSON = [b for b in ALL if b.language == "json" and not b.skip]


@pytest.mark.parametrize("block", JSON, ids=[b.where for b in JSON])
def test_json_blocks_parse_and_scenarios_validate(block: Block) -> None:
    from omnistock import Scenario

    data = json.loads(block.code)
    if isinstance(data, dict) and "nodes" in data:
        Scenario.model_validate(data)


def test_skipped_blocks_say_why() -> None:
    """A skip marker without a reason does not parse, so its block would run."""
    for page in PAGES:
        for number, line in enumerate(page.read_text("utf-8").splitlines(), 1):
            if "docs-test:" in line:
                assert _SKIP.match(line.strip()), (
                    f"{page.relative_to(ROOT)}:{number}: write "
                    "'<!-- docs-test: skip: <reason> -->'"
                )
