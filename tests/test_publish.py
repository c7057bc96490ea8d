"""Publishing: licences, citation, changelog, and tools/publish_notebooks.py (footer, install check).

Slide metadata has its own file, tests/test_slides.py.
"""

import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

import course_utils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import publish_notebooks as pub  # noqa: E402

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _load(path):
    return nbformat.read(path, as_version=4)


# --- licences, citation, changelog -------------------------------------------------------------------


def test_code_is_mit_and_text_is_cc_by_4():
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    content = (ROOT / "LICENSE-CONTENT").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International" in content
    assert "Section 1 – Definitions." in content, "the full legal code, not only a summary"
    with open(ROOT / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert project["license"] == "MIT"
    assert "LICENSE" in project["license-files"]


def test_citation_cff_describes_this_version():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert str(cff["version"]) == course_utils.__version__
    assert set(cff["license"]) == {"MIT", "CC-BY-4.0"}
    assert cff["title"] and cff["authors"] and cff["message"]


def test_changelog_has_an_entry_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{course_utils.__version__}]" in changelog


# --- the notebooks: footer and install check ---------------------------------------------------------


def test_every_notebook_is_published():
    assert pub.run(ROOT, check=True) == [], "run: python tools/publish_notebooks.py"


@pytest.mark.parametrize("path", [p for p, _ in pub.targets(ROOT)], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_footer_is_the_last_cell_exactly_once(path):
    cells = _load(path).cells
    footers = [c for c in cells if c.get("id") == pub.FOOTER_ID]
    assert len(footers) == 1 and cells[-1] is footers[0]
    assert "CC BY 4.0" in cells[-1].source and "MIT" in cells[-1].source


def _unpublish(nb):
    """The notebook as it was before tools/publish_notebooks.py: no footer, no install check, no slides."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not pub.is_footer(c)]
    for cell in nb.cells:
        cell.metadata.pop("slideshow", None)
        if pub.GUARD_BEGIN in cell.source:
            lines = cell.source.split("\n")
            start = lines.index(pub.GUARD_BEGIN)
            end = lines.index(pub.GUARD_END, start) + 1
            del lines[start : end + 1]  # the block and the blank line after it
            cell.source = "\n".join(lines)
    return nb


def _outputs(nb):
    return [(c.get("execution_count"), json.dumps(c.get("outputs"), sort_keys=True)) for c in nb.cells
            if c.cell_type == "code"]  # fmt: skip


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_publishing_touches_no_output_and_running_twice_changes_nothing(tmp_path, path):
    original = _unpublish(_load(path))
    (tmp_path / "notebooks").mkdir()
    target = tmp_path / "notebooks" / path.name
    nbformat.write(original, target)
    assert pub.run(tmp_path) == [target]
    once = target.read_text(encoding="utf-8")
    assert pub.run(tmp_path) == [], "a second run must change nothing"
    assert target.read_text(encoding="utf-8") == once
    published = _load(target)
    assert _outputs(published) == _outputs(original), "outputs and execution counts must stay as executed"
    assert len(published.cells) == len(original.cells) + 1
    assert published.cells[-1].id == pub.FOOTER_ID
    assert [c.source for c in published.cells[:-1] if c.cell_type == "markdown"] == [
        c.source for c in original.cells if c.cell_type == "markdown"
    ]
    assert published == _load(path), "the committed lecture is exactly what the script makes of it"


@pytest.mark.parametrize("path", LECTURES, ids=lambda p: p.stem)
def test_first_code_cell_checks_for_course_utils(path):
    cells = [c for c in _load(path).cells if c.cell_type == "code"]
    assert cells[0].source.count(pub.GUARD_BEGIN) == 1
    assert all(pub.GUARD_BEGIN not in c.source for c in cells[1:])
    assert cells[0].source.startswith("%matplotlib inline\n" + pub.GUARD_BEGIN)


def _run_guard(cwd, hide_course_utils):
    code = pub.GUARD
    if hide_course_utils:  # what a kernel without the package sees
        code = "import sys\nsys.modules['course_utils'] = None\n" + code
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_install_check_is_silent_when_course_utils_is_installed():
    done = _run_guard(ROOT / "notebooks", hide_course_utils=False)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_install_check_names_the_exact_command_inside_the_course(tmp_path):
    course = tmp_path / "my course"
    (course / "course_utils").mkdir(parents=True)
    (course / "notebooks").mkdir()
    done = _run_guard(course / "notebooks", hide_course_utils=True)
    assert done.returncode == 1
    assert f'%pip install -e "{course}"' in done.stderr
    assert "restart the kernel" in done.stderr and "Traceback" not in done.stderr


def test_install_check_explains_what_to_download_outside_the_course(tmp_path):
    done = _run_guard(tmp_path, hide_course_utils=True)
    assert done.returncode == 1
    assert '%pip install -e "PATH/TO/THE/COURSE"' in done.stderr and "pyproject.toml" in done.stderr


def test_guard_is_replaced_not_stacked():
    source = "%matplotlib inline\nimport numpy as np"
    once = pub.with_guard(source)
    assert pub.with_guard(once) == once
    assert once.endswith("\n\nimport numpy as np")
    older = once.replace("import course_utils  # noqa: F401", "import course_utils")
    assert pub.with_guard(older) == once


def test_sections_start_cells_of_their_own_with_the_same_text():
    md = nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(cells=[
        md("# Title\n\n## Learning goals\n- a"),
        md("Reading the figure.\n\n## 2. Next section\nText.\n\n```\n## not a heading\n```\n### Sub\nmore"),
    ])  # fmt: skip
    nb.cells[1].id = "abc"
    pub.split_sections(nb)
    assert [c.source for c in nb.cells] == [
        "# Title\n\n## Learning goals\n- a",
        "Reading the figure.",
        "## 2. Next section\nText.\n\n```\n## not a heading\n```\n### Sub\nmore",
    ]
    assert [c.id for c in nb.cells[1:]] == ["abc", "abc-1"]
    before = copy.deepcopy(nb)
    pub.split_sections(nb)
    assert nb == before
