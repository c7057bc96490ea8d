"""The three install routes (pip, conda, CI) must ask for the same packages.

pyproject.toml is the source of truth; environment.yml repeats its runtime dependencies plus the
`test` and `site` extras for conda users (and Binder), and constraints.txt pins torch for CI. A kernel started with a
throw-away HOME (as `make test` does) must still be this environment's Python.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def requirement_key(line):
    """Normalise one requirement line to (name, extras, specifiers, marker) for comparison."""
    req = Requirement(line)
    return (
        canonicalize_name(req.name),
        tuple(sorted(canonicalize_name(e) for e in req.extras)),
        tuple(sorted(str(s) for s in req.specifier)),
        str(req.marker) if req.marker else "",
    )


def compare_requirements(left, right, left_name="left", right_name="right"):
    """Return a message listing requirements found on one side only ("" when the lists agree)."""
    left_keys = {requirement_key(r) for r in left}
    right_keys = {requirement_key(r) for r in right}
    problems = []
    for keys, others, name, other in [
        (left_keys, right_keys, left_name, right_name),
        (right_keys, left_keys, right_name, left_name),
    ]:
        missing = sorted(keys - others)
        if missing:
            problems.append(f"in {name} but not in {other}: {missing}")
    duplicates = [
        n for n, lst in [(left_name, left), (right_name, right)] if len(lst) != len(set(map(requirement_key, lst)))
    ]
    if duplicates:
        problems.append(f"duplicate entries in {duplicates}")
    return "; ".join(problems)


def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def pyproject_requirements():
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    return project["dependencies"] + extras["test"] + extras["site"]


def conda_environment():
    with open(ROOT / "environment.yml") as f:
        return yaml.safe_load(f)


def conda_pip_requirements():
    pip_sections = [d["pip"] for d in conda_environment()["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one `pip:` section"
    return pip_sections[0]


def constraints():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def test_environment_yml_lists_the_same_requirements_as_pyproject():
    difference = compare_requirements(
        pyproject_requirements(), conda_pip_requirements(), "pyproject.toml", "environment.yml"
    )
    assert not difference, difference


def test_comparison_reports_differences_in_both_directions():
    # Guard against a check that can never fail: names are normalised, specifiers are not ignored.
    assert compare_requirements(["Scikit_Learn>=1.3", "torch>=2.2"], ["scikit-learn>=1.3", "torch>=2.2"]) == ""
    message = compare_requirements(["numpy>=1.24", "tqdm"], ["numpy>=1.25", "ruff"], "a", "b")
    assert "in a but not in b: [('numpy', (), ('>=1.24',), ''), ('tqdm', (), (), '')]" in message
    assert "in b but not in a: [('numpy', (), ('>=1.25',), ''), ('ruff', (), (), '')]" in message
    assert "duplicate" in compare_requirements(["tqdm", "tqdm"], ["tqdm"])


def test_environment_yml_python_satisfies_requires_python():
    pythons = [d for d in conda_environment()["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pythons) == 1, pythons
    version = pythons[0].split("=", 1)[1]
    requires = Requirement("python" + pyproject()["project"]["requires-python"]).specifier
    assert requires.contains(version), f"environment.yml's python={version} is outside requires-python {requires}"


def test_constraints_pin_torch_inside_the_pyproject_range():
    pins = {canonicalize_name(c.name): c for c in constraints()}
    assert "torch" in pins, "constraints.txt must pin torch (a bare torch pulls the multi-GB CUDA build)"
    (pin,) = pins["torch"].specifier
    assert pin.operator == "==", f"torch must be pinned with ==, got {pin}"
    declared = {canonicalize_name(Requirement(r).name): Requirement(r) for r in pyproject_requirements()}
    assert declared["torch"].specifier.contains(Version(pin.version)), (
        f"constraints.txt pins torch {pin.version}, outside pyproject.toml's torch{declared['torch'].specifier}"
    )
    unknown = sorted(set(pins) - set(declared))
    assert not unknown, f"constraints.txt constrains packages pyproject.toml does not declare: {unknown}"


def test_kernel_with_isolated_home_is_this_environment(tmp_path):
    # `make test` points HOME and the Jupyter/IPython folders at a temporary folder. The python3
    # kernel must still be found (through sys.prefix, not ~/.local) and run this very interpreter.
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "IPYTHON"))}
    env.update(
        HOME=str(tmp_path),
        IPYTHONDIR=str(tmp_path / "ipython"),
        MPLCONFIGDIR=str(tmp_path / "mpl"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
    )
    script = textwrap.dedent("""
        import sys
        import nbformat
        from jupyter_client.kernelspec import KernelSpecManager
        from nbclient import NotebookClient

        print(KernelSpecManager().get_kernel_spec("python3").resource_dir)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys; print(sys.prefix)")])
        NotebookClient(nb, kernel_name="python3", timeout=60, startup_timeout=60).execute()
        print(nb.cells[0].outputs[0]["text"].strip())
    """)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    spec_dir, kernel_prefix = result.stdout.split()
    assert Path(spec_dir).resolve().is_relative_to(Path(sys.prefix).resolve()), spec_dir
    assert Path(kernel_prefix).resolve() == Path(sys.prefix).resolve()
    assert not (tmp_path / ".local").exists(), "the kernel wrote into the (temporary) home folder"
