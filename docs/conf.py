"""Sphinx configuration of the course website (built by `make site`, i.e. tools/build_site.py).

tools/build_site.py copies this folder, the notebooks and INSTRUCTORS.md into a staging folder
(build/site/src) with the repository's layout, so that relative links between notebooks keep
working, and runs Sphinx there. The notebooks are rendered from their committed outputs:
nothing is executed (nb_execution_mode = "off").
"""

import course_utils

project = "Adam from first principles"
author = "The authors of Adam from first principles"
copyright = "2026, the authors of Adam from first principles. Text and figures CC BY 4.0, code MIT"
version = release = course_utils.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinxcontrib.bibtex",
]
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "_originals/**"]

# Notebooks: never executed here; the committed outputs are the content.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # lectures number their sections by hand ("## 1. ...")

# API reference from docstrings (reST with `.. math::`, numpydoc sections).
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "description"
napoleon_numpy_docstring = True

bibtex_bibfiles = ["docs/references.bib"]
bibtex_default_style = "plain"

# Math is typeset by MathJax 3, served from the site itself (no CDN: the site works offline).
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "furo"
html_title = "Adam from first principles"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_js_files = ["explorers.js"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
