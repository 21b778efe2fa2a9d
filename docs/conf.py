"""Sphinx configuration of the sb3-grpo documentation site (``sphinx-build -W docs docs/_build/html``).

The pages are the Markdown files of ``docs/`` (MyST; the changelog page includes ``CHANGELOG.md``) and an
API reference generated from the docstrings.
"""

from __future__ import annotations

import re
from typing import Any

import sb3_grpo

project = "sb3-grpo"
author = "sb3-grpo contributors"
release = version = sb3_grpo.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
# The Markdown pages are also read on GitHub, where they start at "##" under the README's title.
suppress_warnings = ["myst.header"]

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = False
# The API's signatures name torch, numpy, gymnasium and SB3 types that this site does not document.
nitpicky = False

html_theme = "furo"
html_title = f"sb3-grpo {release}"


def _markdown_to_rest(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Docstrings written in Markdown, as Gymnasium's envs are (``## Heading``, fenced code, pipe
    tables), become reST: rubrics, code blocks and list-tables."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        heading = re.fullmatch(r"(\s*)#{1,6} (.+)", lines[i])
        if heading:
            out += [f"{heading[1]}.. rubric:: {heading[2]}", ""]
            i += 1
            continue
        fence = re.fullmatch(r"(\s*)```(\w*)", lines[i])
        if fence:
            out += [f"{fence[1]}.. code-block:: {fence[2] or 'text'}", ""]
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                out.append(f"{fence[1]}   {lines[i][len(fence[1]) :]}" if lines[i].strip() else "")
                i += 1
            out.append("")
            i += 1
            continue
        is_table = (
            i + 1 < len(lines)
            and lines[i].lstrip().startswith("|")
            and set(lines[i + 1].strip()) <= set("|-: ")
        )
        if not is_table:
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        rows = [lines[i]]
        i += 2  # the header and its separator
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            rows.append(lines[i])
            i += 1
        out += [f"{indent}.. list-table::", f"{indent}   :header-rows: 1", ""]
        for row in rows:
            cells = [
                re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", c.strip())
                for c in row.strip().strip("|").split("|")
            ]
            out += [f"{indent}   * - {cells[0]}", *(f"{indent}     - {c}" for c in cells[1:])]
        out.append("")
    lines[:] = out


def setup(app: Any) -> None:
    app.connect("autodoc-process-docstring", _markdown_to_rest)
