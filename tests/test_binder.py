"""Binder: environment.yml + postBuild must turn a fresh environment into one that runs the course.

BinderHub (repo2docker) creates a conda environment from environment.yml, whose packages all come
from pip, then runs postBuild. conda is not available where these tests run, so they rebuild that
sequence with a virtual environment:

- always: a new, empty venv that sees the packages of the environment.yml pip list (already installed
  in the test environment, whose versions are checked against that list) but not course_utils; then
  postBuild runs in it and must make ``import course_utils`` work from the fresh environment;
- with ``COURSE_BINDER_FULL=1`` (slow, needs the package index): a venv with nothing in it installs
  the environment.yml pip list with pip, then runs postBuild, then executes a lecture's first cell.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
POSTBUILD = ROOT / "postBuild"
COPY = (
    "pyproject.toml", "README.md", "LICENSE", "LICENSE-CONTENT", "environment.yml", "requirements.lock", "postBuild",
    "course_utils",
)  # fmt: skip


def pip_list():
    """The requirements that environment.yml's pip section installs.

    The section holds pip options: `--constraint requirements.lock` pins versions, and
    `--editable .` installs the course, that is pyproject.toml's runtime dependencies.
    """
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    (section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    requirements = [line for line in section if not line.startswith("-")]
    if "--editable ." in section or "-e ." in section:
        requirements += tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    return requirements


def _course_copy(dst: Path) -> Path:
    dst.mkdir(parents=True)
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dst / name)
    return dst


def _venv_python(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / "python"


def _run(python: Path, code: str, cwd: Path, env=None):
    return subprocess.run([str(python), "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_postbuild_is_an_executable_bash_script():
    assert os.access(POSTBUILD, os.X_OK)
    assert POSTBUILD.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(POSTBUILD)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(POSTBUILD)], check=True)


def test_environment_yml_asks_for_rise_and_a_python_the_course_supports():
    names = [Requirement(r).name for r in pip_list()]
    assert "jupyterlab-rise" in names, "lecturers present live with RISE in JupyterLab"
    assert "jupyterlab" in names and "ipywidgets" in names


@pytest.mark.slow
def test_postbuild_installs_the_course_into_a_fresh_environment(tmp_path):
    course = _course_copy(tmp_path / "course")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=300)
    python = _venv_python(env)
    site = Path(_run(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])", tmp_path).stdout.strip())
    # The environment.yml packages, without course_utils: this test environment's site-packages as a plain
    # path (its .pth files, among them the editable install of course_utils, are not processed).
    (site / "environment_yml_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    before = _run(python, "import course_utils", tmp_path)
    assert before.returncode != 0 and "ModuleNotFoundError" in before.stderr, "the fresh env must start without it"

    missing = []
    for line in pip_list():
        req = Requirement(line)
        if req.marker and not req.marker.evaluate():
            continue
        code = f"from importlib.metadata import version; print(version({req.name!r}))"
        found = _run(python, code, tmp_path)
        if found.returncode != 0 or not req.specifier.contains(found.stdout.strip(), prereleases=True):
            missing.append(f"{line}: {found.stdout.strip() or 'not installed'}")
    assert missing == [], "environment.yml asks for packages the environment does not satisfy"

    path = os.pathsep.join([str(python.parent), os.environ.get("PATH", "")])
    # Offline here: build the editable wheel with the setuptools already present instead of downloading one.
    env_vars = dict(os.environ, PATH=path, PIP_NO_BUILD_ISOLATION="0", PIP_NO_INDEX="1", VIRTUAL_ENV=str(env))
    env_vars.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", str(course / "postBuild")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600, env=env_vars)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "installed for Binder" in done.stdout
    after = _run(python, "import course_utils, course_utils.optim; print(course_utils.__file__)", tmp_path)
    assert after.returncode == 0, after.stderr
    assert Path(after.stdout.strip()).is_relative_to(course), "course_utils must come from the course folder"


@pytest.mark.slow
@pytest.mark.timeout(3600)  # installs torch, JupyterLab and the rest from the package index
@pytest.mark.skipif(os.environ.get("COURSE_BINDER_FULL") != "1", reason="set COURSE_BINDER_FULL=1 (downloads)")
def test_environment_yml_pip_list_and_postbuild_from_nothing(tmp_path):
    course = _course_copy(tmp_path / "course")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=300)
    python = _venv_python(env)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pip_list()) + "\n")
    install = [str(python), "-m", "pip", "install", "-r", str(requirements), "-c", str(ROOT / "constraints.txt")]
    subprocess.run(install, check=True, timeout=3000)
    path = os.pathsep.join([str(python.parent), os.environ.get("PATH", "")])
    subprocess.run(["bash", str(course / "postBuild")], check=True, timeout=600,
                   env=dict(os.environ, PATH=path, VIRTUAL_ENV=str(env)))  # fmt: skip
    first = next(c for c in __import__("nbformat").read(ROOT / "notebooks" / "01_start_here.ipynb", 4).cells
                 if c.cell_type == "code")  # fmt: skip
    code = first.source.replace("%matplotlib inline", "import matplotlib; matplotlib.use('Agg')")
    (course / "notebooks").mkdir()
    done = _run(python, code, course / "notebooks")
    assert done.returncode == 0, done.stderr[-3000:]
