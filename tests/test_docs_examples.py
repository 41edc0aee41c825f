"""The API reference covers every public object; gallery examples follow the rules.

Building the documentation runs every example and takes minutes, so it is
left to ``sphinx-build -W`` (see docs/README.md); these checks are the fast
part that catches a new public object without a page or a malformed example.
"""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
PUBLIC_MODULES = [
    "skdec",
    "skdec.metrics",
    "skdec.datasets",
    "skdec.plotting",
    "skdec.callbacks",
    "skdec.networks",
    "skdec.anndata",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_lists_every_public_object(module_name):
    api = (ROOT / "docs" / "api.rst").read_text()
    module = importlib.import_module(module_name)
    public = [name for name in module.__all__ if not name.startswith("_")]
    missing = [name for name in public if not re.search(rf"\b{name}\b", api)]
    assert not missing, f"docs/api.rst does not mention {module_name}.{missing}"


def test_the_gallery_has_the_required_examples():
    names = {path.name for path in EXAMPLES}
    assert len(names) >= 4
    assert (ROOT / "examples" / "README.txt").is_file()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_examples_have_a_title_and_say_they_are_cut_down_for_the_build(path):
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    assert docstring, "sphinx-gallery needs a docstring with a title"
    title = docstring.strip().splitlines()
    assert re.fullmatch(r"=+", title[0]) and re.fullmatch(r"=+", title[2]), (
        "the docstring must open with a title between two '=' lines"
    )
    if "Clusterer(" in source:
        assert re.search(r"#.*documentation build", source), (
            "say in a comment that the model is cut down (a small network, few "
            "epochs) to keep the documentation build fast"
        )
