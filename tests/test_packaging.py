"""Packaging and the shell's common ground: one version, ranges in pyproject.toml with the exact pins
in tools/constraints.txt (and the shared environment's key), the label maps shipped as package data,
and every steps/*.sh on steps/lib.sh."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib

from packaging.requirements import Requirement

from conftest import REPO

import emogcn
from emogcn.graph.build import PACKAGED, _labels_path


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _pins(path=REPO / "tools" / "constraints.txt") -> dict[str, Requirement]:
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return {Requirement(ln).name.lower(): Requirement(ln) for ln in lines if ln}


def test_the_version_has_one_source():
    project = _pyproject()
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "emogcn.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", emogcn.__version__)


def test_dependencies_are_ranges_and_the_pins_fall_in_them():
    project = _pyproject()["project"]
    deps = {Requirement(d).name.lower(): Requirement(d) for d in project["dependencies"]}
    assert all("==" not in str(r.specifier) for r in deps.values()), "exact pins belong in tools/constraints.txt"
    pins = _pins()
    assert {"torch", "torchvision", "torchaudio"} <= set(pins)
    for name, pin in pins.items():
        (version,) = [s.version for s in pin.specifier if s.operator == "=="]
        if name in deps:
            assert deps[name].specifier.contains(version), f"{pin} outside pyproject's {deps[name]}"


def _env_key(root, tmp_path) -> str:
    """The venv key tools/setup_env.sh computes for the checkout at `root`, stopped before it builds."""
    fake = tmp_path / "python3"
    fake.write_text(f'#!/bin/bash\n[ "$1 $2" != "-m venv" ] || exit 9\nexec {sys.executable} "$@"\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "EMOGCN_PYTHON"}
    env.update(EMOGCN_BASE_PYTHON=str(fake), EMOGCN_ENV_CACHE=str(tmp_path / "cache"))
    p = subprocess.run(["bash", "-x", str(root / "tools" / "setup_env.sh")], env=env, capture_output=True, text=True)
    (key,) = re.findall(r"^\+ key=(\w+)$", p.stderr, re.M)
    return key


def test_the_env_key_follows_the_resolved_packages(tmp_path):
    root = tmp_path / "root"
    (root / "tools").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root)
    for f in ("setup_env.sh", "constraints.txt"):
        shutil.copy(REPO / "tools" / f, root / "tools")
    key = _env_key(root, tmp_path)
    # the key of the dependency list with the pins in place (what the environment holds)
    project = _pyproject()["project"]
    pins = {n: str(r) for n, r in _pins().items()}
    resolved = sorted(pins.get(Requirement(d).name.lower(), d)
                      for d in project["dependencies"] + project["optional-dependencies"]["test"])
    text = "\n".join(resolved) + "\n" + sys.version + "\n"
    assert key == hashlib.sha1(text.encode()).hexdigest()[:12]
    # a widened range around the same pin keeps it; another pin, or a new one, makes a new environment
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"torch>=2.4"', '"torch>=2.0"'))
    assert _env_key(root, tmp_path) == key
    constraints = root / "tools" / "constraints.txt"
    original = constraints.read_text()
    constraints.write_text(re.sub(r"torch==\S+", "torch==0.0.1", original))
    other = _env_key(root, tmp_path)
    constraints.write_text(original + "numpy==1.26.4\n")
    assert len({key, other, _env_key(root, tmp_path)}) == 3


def test_label_maps_ship_in_the_package_and_conf_links_to_them(tmp_path, monkeypatch):
    resources = REPO / "emogcn" / "resources"
    assert "resources/*.yaml" in _pyproject()["tool"]["setuptools"]["package-data"]["emogcn"]
    for name in PACKAGED:
        conf = REPO / "conf" / name
        assert conf.is_symlink() and conf.resolve() == (resources / name).resolve(), conf
    monkeypatch.chdir(tmp_path)  # no conf/ here: the package's copies
    for name in PACKAGED:
        assert _labels_path(f"conf/{name}") == resources / name
    (tmp_path / "conf").mkdir()  # a recipe's own conf/ wins
    (tmp_path / "conf" / "emotions.yaml").write_text("classes: [anger]\n")
    assert _labels_path("conf/emotions.yaml").resolve() == (tmp_path / "conf" / "emotions.yaml").resolve()


def test_every_step_sources_lib_sh_the_same_way():
    line = '. "$(dirname "$0")/lib.sh"'
    for script in sorted((REPO / "steps").glob("*.sh")):
        if script.name == "lib.sh":
            continue
        text = script.read_text(encoding="utf-8")
        assert text.splitlines().count(line) == 1, f"{script.name}: source lib.sh as {line}"
        assert not re.search(r"^\s*(\.|source)\s+\S*path\.sh", text, re.M), f"{script.name} sources path.sh itself"
        assert not re.search(r"^\s*(function\s+)?(log|die)\s*\(\)", text, re.M), f"{script.name} defines log/die"
