"""The install routes (make, CI, conda) install the same locked versions, split by use.

pyproject.toml declares ranges: what a student needs to run the lectures, and the `instructor`,
`test` and `dev` extras. requirements.lock pins every package for every platform (`make lock`);
make and .ci/run install with it as pip constraints, and environment.yml's pip section does too.
constraints.txt is the lock's input that pins torch. A kernel started with a throw-away HOME (as
`make test` does) must still be this environment's Python.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lock_drift  # noqa: E402

LOCK = ROOT / "requirements.lock"
# What only contributors need: a student's `make lab` must not install any of it.
NOT_FOR_STUDENTS = ["playwright", "ruff", "pytest", "nbval", "pytest-xdist", "nbdime", "uv", "greenlet"]


def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def pyproject_requirements():
    project = pyproject()["project"]
    return project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]


def conda_environment():
    with open(ROOT / "environment.yml") as f:
        return yaml.safe_load(f)


def conda_pip_lines():
    pip_sections = [d["pip"] for d in conda_environment()["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one `pip:` section"
    return pip_sections[0]


def constraints():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def lock_parents():
    """``{package: names of the packages it is locked for}`` from the lock's ``# via`` comments."""
    parents, current = {}, None
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            current = canonicalize_name(Requirement(line.split("#")[0]).name)
            parents[current] = set()
        elif current and line.startswith(" ") and line.strip().startswith("#"):
            text = line.strip().lstrip("#").strip()  # "via ipykernel", "via", or one parent of a list
            text = text[len("via") :].strip() if text.startswith("via") else text
            if text:
                parents[current].add(text)
    return {k: {canonicalize_name(p.split(" ")[0]) for p in v} for k, v in parents.items()}


def student_closure(parents, roots):
    """Every locked package reachable from ``roots`` (names) through the lock's dependency edges."""
    needed = set(roots)
    grew = True
    while grew:
        grew = False
        for name, via in parents.items():
            if name not in needed and via & needed:
                needed.add(name)
                grew = True
    return needed


def test_environment_yml_installs_the_package_with_the_lock():
    lines = [" ".join(str(x).split()) for x in conda_pip_lines()]
    assert lines == ["--constraint requirements.lock", "--editable ."], lines


def test_environment_yml_python_satisfies_requires_python():
    pythons = [d for d in conda_environment()["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pythons) == 1, pythons
    version = pythons[0].split("=", 1)[1]
    requires = Requirement("python" + pyproject()["project"]["requires-python"]).specifier
    assert requires.contains(version), f"environment.yml's python={version} is outside requires-python {requires}"


def test_lock_pins_every_declared_requirement_inside_its_range():
    pins = lock_drift.pins(LOCK)
    problems = []
    for line in pyproject_requirements():
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{name} is not in requirements.lock")
        elif not req.specifier.contains(Version(pins[name]), prereleases=True):
            problems.append(f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {req.specifier}")
    assert not problems, "run `make lock`:\n" + "\n".join(problems)


def test_lock_keeps_the_constraints():
    pins = lock_drift.pins(LOCK)
    for c in constraints():
        (spec,) = c.specifier
        assert pins.get(canonicalize_name(c.name)) == spec.version, f"requirements.lock must keep {c} (make lock)"


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


def test_a_student_install_has_no_test_tools():
    parents = lock_parents()
    roots = {canonicalize_name(Requirement(r).name) for r in pyproject()["project"]["dependencies"]}
    needed = student_closure(parents, roots)
    assert {"numpy", "jupyterlab", "torch", "ipykernel"} <= needed
    assert sorted(needed & set(NOT_FOR_STUDENTS)) == []
    # the closure does follow edges: with the test extra's roots it reaches playwright's greenlet
    test_roots = {
        canonicalize_name(Requirement(r).name) for r in pyproject()["project"]["optional-dependencies"]["test"]
    }
    assert "greenlet" in student_closure(parents, test_roots)


def test_make_lab_installs_only_the_student_dependencies():
    makefile = (ROOT / "Makefile").read_text()
    lab = re.search(r"^lab: (.*)$", makefile, re.M).group(1).split()
    assert lab == ["$(STUDENT_STAMP)"], lab
    recipe = re.search(r"^\$\(STUDENT_STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "install -e . -c $(LOCK)" in recipe and "[" not in recipe, recipe


def _install_commands(tmp_path, path=None, **variables):
    """The commands `make` would run to create a student environment in ``tmp_path`` (make -n: nothing runs)."""
    # not the variables of a `make` this test runs under (make test-latest passes LOCK=... down to it)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    if path is not None:
        env["PATH"] = path
    args = [f"{k}={v}" for k, v in variables.items()]
    venv = tmp_path / "venv"
    cmd = ["make", "-n", "-B", "--no-print-directory", f"{venv}/.installed-student", f"VENV={venv}", *args]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


CPU_INDEX = "--index-url 'https://download.pytorch.org/whl/cpu' torch -c requirements.lock"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_linux_without_nvidia_smi_takes_torch_from_the_cpu_index_first(tmp_path):
    if sys.platform != "linux" or shutil.which("nvidia-smi"):
        pytest.skip("the CPU index is the default only on Linux without nvidia-smi")
    out = _install_commands(tmp_path)
    torch_step, main_step = out.index(CPU_INDEX), out.index("install -e . -c requirements.lock")
    assert torch_step < main_step, out  # torch first, so that the main install keeps the CPU build
    assert "--no-deps" in out[:main_step], "only torch comes from PyTorch's index; the rest from the lock's"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_a_machine_with_nvidia_smi_or_an_empty_torch_index_installs_plain_pip(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\nexit 0\n")
    (fake / "nvidia-smi").chmod(0o755)
    with_gpu = _install_commands(tmp_path, path=f"{fake}{os.pathsep}{os.environ['PATH']}")
    assert "download.pytorch.org" not in with_gpu and "install -e . -c requirements.lock" in with_gpu
    switched_off = _install_commands(tmp_path, TORCH_INDEX="")
    assert "download.pytorch.org" not in switched_off and "install -e . -c requirements.lock" in switched_off


@pytest.mark.parametrize("tool", ["execute_notebooks.py", "normalize_notebooks.py"])
def test_contributor_tools_print_their_usage(tool):
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / tool), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "usage" in proc.stdout, proc.stderr


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
        NotebookClient(nb, kernel_name="python3", timeout=300, startup_timeout=300).execute()
        print(nb.cells[0].outputs[0]["text"].strip())
    """)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=500)
    assert result.returncode == 0, result.stderr
    spec_dir, kernel_prefix = result.stdout.split()
    assert Path(spec_dir).resolve().is_relative_to(Path(sys.prefix).resolve()), spec_dir
    assert Path(kernel_prefix).resolve() == Path(sys.prefix).resolve()
    assert not (tmp_path / ".local").exists(), "the kernel wrote into the (temporary) home folder"


def test_the_wheel_ships_the_type_marker_and_data(tmp_path):
    # pyproject.toml declares py.typed as package data: the file must exist and end up in the wheel.
    assert (ROOT / "course_utils" / "py.typed").is_file()
    src = tmp_path / "src"  # a copy: setuptools writes build/ and *.egg-info next to the sources
    shutil.copytree(ROOT / "course_utils", src / "course_utils", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    wheel_cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    proc = subprocess.run([*wheel_cmd, str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("course_utils-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "course_utils/py.typed" in names
    assert "course_utils/grading/public_data/ex08_adam.json" in names
    assert "course_utils/execution.py" in names
    # the per-assignment subpackages (public questions, and the instructor's half for `pip install .[instructor]`)
    assert "course_utils/grading/questions/ex08_adam.py" in names
    assert "course_utils/instructor/hidden/ex08_adam.py" in names


def test_public_api_is_annotated():
    # Every public function and factory names the types of its parameters and of its result.
    import inspect

    import course_utils
    from course_utils import optim, problems

    public = [course_utils.optimize, course_utils.device, optim.TorchOptimizer.__init__, optim.TorchOptimizer.step]
    public += [getattr(optim, n) for n in ("sgd", "adagrad", "rmsprop", "adam", "adamw", "nadam", "adamax")]
    public += [getattr(problems, n) for n in ("rosenbrock", "quadratic", "scaled", "logistic_regression", "mlp")]
    missing = []
    for fn in public:
        sig = inspect.signature(fn)
        for name, p in sig.parameters.items():
            if name != "self" and p.annotation is inspect.Parameter.empty:
                missing.append(f"{fn.__qualname__}({name})")
        if sig.return_annotation is inspect.Signature.empty:
            missing.append(f"{fn.__qualname__} -> ?")
    assert missing == []
