"""Sphinx configuration of the skdec documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` from the
repository root after ``pip install -e ".[docs]"``. The gallery runs every
``examples/plot_*.py`` during the build; nothing is fetched from the network.
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
# Let ``_gallery_order`` be imported by name (Sphinx caches the configuration,
# so sphinx-gallery's sort key must be importable rather than a local object).
sys.path.insert(0, str(Path(__file__).parent))

import skdec  # noqa: E402

project = "skdec"
author = "The skdec developers"
copyright = "The skdec developers"
release = version = skdec.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store"]
default_role = "literal"

# API reference: one page per object, generated from the docstrings.
autosummary_generate = True
autodoc_default_options = {"members": True}
# The class template lists the methods itself.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "doc_module": ("skdec",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skdec": None},
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "remove_config_comments": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skdec {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
