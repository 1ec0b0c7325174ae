"""Sphinx configuration of archbound's documentation.

Build (from the repository root, after ``pip install '.[docs]'``)::

    python -m sphinx -W --keep-going -b doctest docs docs/_build/doctest && \
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The doctest builder executes every example of the pages; the HTML builder writes the site.
Both turn warnings into errors.

The API reference lists every name of ``archbound.__all__``: this file writes ``api.rst``
from it at each build (it is not committed), so a name added to ``__all__`` gets its page
without any edit here.
"""

import inspect
import re
from pathlib import Path

from sphinx import addnodes

import archbound

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent

project = "archbound"
author = "the archbound developers"
copyright = "the archbound developers"
release = archbound.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# The pages are written for GitHub as well: links between them are relative .md paths, their
# mathematics is plain text, and their headings get anchors as GitHub gives them.
myst_heading_anchors = 4
# Literal blocks in docstrings are plain-text formulas, not Python.
highlight_language = "text"

html_theme = "pydata_sphinx_theme"
html_title = f"archbound {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = []

# The API reference: autosummary writes one page per name, numpydoc renders the docstrings.
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # the numpydoc Parameters sections state types and shapes
# Class pages list their methods and properties through autodoc (`members`); numpydoc's own
# member tables would list them a second time.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# The numpydoc validator runs on every docstring of the API pages; its findings are warnings,
# so errors under -W. The checks: the sections and their order (GL03, GL05-GL08), the
# summary line (SS01, SS03), every parameter documented, none unknown, in the signature's
# order (PR01-PR03), standard type names (PR06), the Yields and See Also sections (YD01,
# SA02, SA04). Not checked: the layout of the summary (GL01, GL02, SS02, SS05, SS06), a
# type and a description for every parameter and return value (PR04, PR05, PR07-PR10,
# RT01-RT05: "X_test : array_like of shape (m, M0)" next to X_train needs no sentence),
# and the optional sections (SA01, EX01, ES01).
numpydoc_validation_checks = {
    "GL03", "GL05", "GL06", "GL07", "GL08", "SS01", "SS03",
    "PR01", "PR02", "PR03", "PR06", "YD01", "SA02", "SA04",
}  # fmt: skip
# A class documented by its Attributes and without a Parameters section (the result
# dataclasses, whose fields are the constructor's arguments) is not asked for Parameters.
numpydoc_validation_overrides = {
    "PR01": [r"\A(?![\s\S]*\n\s*Parameters\n\s*-{3,})[\s\S]*\n\s*Attributes\n\s*-{3,}"],
}

# Examples run by `-b doctest`: each page's blocks share one namespace, in order.
doctest_global_setup = "import numpy as np\nimport archbound"
doctest_test_doctest_blocks = "default"

# ---------------------------------------------------------------------------------------
# The API reference, generated from archbound.__all__.

_KIND_TITLES = {
    "function": "Functions",
    "class": "Classes (results, networks, monitors)",
    "exception": "Exceptions and warnings",
    "data": "Module data",
}


def _kind(obj):
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return "exception"
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def write_api_page(path=DOCS / "api.rst"):
    """Write the API reference page, one autosummary entry per name of ``__all__``."""
    groups = {kind: [] for kind in _KIND_TITLES}
    for name in archbound.__all__:
        groups[_kind(getattr(archbound, name))].append(name)
    lines = [
        "API reference",
        "=============",
        "",
        "Every public name of ``archbound`` (its ``__all__``). The docstrings state shapes,",
        "defaults and the paper's results they implement (arXiv:2504.05695).",
        "",
        ".. currentmodule:: archbound",
        "",
    ]
    for kind, title in _KIND_TITLES.items():
        if not groups[kind]:
            continue
        lines += [title, "-" * len(title), "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name in groups[kind]]
        lines.append("")
    text = "\n".join(lines)
    if not path.exists() or path.read_text() != text:  # keep the mtime for incremental builds
        path.write_text(text)


write_api_page()

# ---------------------------------------------------------------------------------------
# Norms in the docstrings.
#
# The docstrings write norms as in plain-text mathematics, |x~ - x_i| and ||W_l||, so that
# they read well in help() and in an editor. In reStructuredText |...| is a substitution
# reference; each bar of a docstring is therefore escaped before numpydoc and autodoc read
# it, except inside ``literals``, literal blocks (::) and doctest lines (>>>, ...). This
# renders the bars; it hides no warning: any other markup error of a docstring still fails
# the build.

_LITERAL = re.compile(r"(``.*?``)")


def _escape_bars(line):
    parts = _LITERAL.split(line)
    return "".join(part if i % 2 else part.replace("|", r"\|") for i, part in enumerate(parts))


def _indent(line):
    return len(line) - len(line.lstrip())


def _escape_docstring_bars(app, what, name, obj, options, lines):
    literal_indent = None  # the indent of the line that opened a literal block (::)
    for i, line in enumerate(lines):
        if literal_indent is not None:
            if not line.strip() or _indent(line) > literal_indent:
                continue
            literal_indent = None
        if line.lstrip().startswith((">>>", "...")):
            continue
        if line.rstrip().endswith("::"):
            literal_indent = _indent(line)
        lines[i] = _escape_bars(line)


# ---------------------------------------------------------------------------------------
# The README's example, executed on the getting-started page.
#
# The README is the one copy of the example. getting-started.md holds the placeholder line
# below; on reading that page it is replaced by the README's python block between the
# markers <!-- example --> and <!-- /example -->, as a `testcode` block, so that the
# doctest builder runs it.

README_EXAMPLE = re.compile(r"<!-- example -->\s*```python\n(.*?)```\s*<!-- /example -->", re.S)
PLACEHOLDER = "<!-- the README's example -->"


def readme_example():
    """The python code of the README's marked example."""
    match = README_EXAMPLE.search((ROOT / "README.md").read_text())
    if match is None:
        raise RuntimeError("README.md lost its marked example (<!-- example --> ... )")
    return match.group(1)


def _insert_readme_example(app, docname, source):
    if PLACEHOLDER in source[0]:
        # The printed numbers are not compared (they are rounding-level); the asserts are.
        output = "```{testoutput}\n:hide:\n:options: +ELLIPSIS\n\n...\n```"
        block = "```{testcode}\n" + readme_example() + "```\n\n" + output
        source[0] = source[0].replace(PLACEHOLDER, block)


# ---------------------------------------------------------------------------------------
# Links to files of the repository that are pages of this site.
#
# The Markdown pages link to bench/RESULTS.md by its path in the repository, as GitHub
# shows them; MyST makes such a link a download of the file. Here it becomes a link to the
# page that includes the file.

INCLUDED_PAGES = {ROOT / "bench" / "RESULTS.md": "benchmarks"}


def _included_page(source_dir, target):
    """The docname of the page that includes the repository file ``target`` links to."""
    path = Path(target.split("#")[0])
    path = (path if path.is_absolute() else source_dir / path).resolve()
    return INCLUDED_PAGES.get(path) or INCLUDED_PAGES.get(path.with_suffix(".md"))


def _link_included_pages(app, doctree):
    source_dir = Path(app.env.doc2path(app.env.docname)).parent
    downloads = list(doctree.findall(addnodes.download_reference))
    for node in downloads + list(doctree.findall(addnodes.pending_xref)):
        if node.get("reftype") != "myst":
            continue
        docname = _included_page(source_dir, node["reftarget"])
        if docname is None:
            continue
        xref = addnodes.pending_xref(
            "",
            *node.children,
            refdomain="std",
            reftype="doc",
            reftarget="/" + docname,
            refdoc=app.env.docname,
            refexplicit=True,
        )
        node.replace_self(xref)


def setup(app):
    app.connect("doctree-read", _link_included_pages)
    app.connect("source-read", _insert_readme_example)
    # Before numpydoc (priority 500) turns the sections into reStructuredText.
    app.connect("autodoc-process-docstring", _escape_docstring_bars, priority=100)
