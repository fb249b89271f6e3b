"""Safe loading: no pickle anywhere; checkpoints with weights_only; YAML with safe_load; numpy
without pickles; a config key that is not known is an error in every config."""

from __future__ import annotations

import ast

import pytest

from conftest import REPO
from emogcn.classic.config import SvmConfig
from emogcn.config import ConfigError, load_config
from emogcn.features.extract import FeatureConfig
from emogcn.graph.build import GraphConfig
from emogcn.training.config import TrainConfig

SOURCES = sorted(p for d in ("emogcn", "local", "benchmarks", "tests") for p in (REPO / d).rglob("*.py"))


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            yield node, f"{node.func.value.id}.{node.func.attr}"


def _kw(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_sources_never_unpickle():
    assert len(SOURCES) > 50
    problems = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                if any(n and n.split(".")[0] in ("pickle", "cPickle", "dill", "joblib") for n in names):
                    problems.append(f"{path}:{node.lineno}: imports a pickle module")
        for call, name in _calls(tree):
            where = f"{path.relative_to(REPO)}:{call.lineno}"
            if name == "torch.load":
                flag = _kw(call, "weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            elif name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load"):
                problems.append(f"{where}: {name} (use yaml.safe_load)")
            elif name == "np.load":
                flag = _kw(call, "allow_pickle")
                if not (isinstance(flag, ast.Constant) and flag.value is False):
                    problems.append(f"{where}: np.load without allow_pickle=False")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cls", [TrainConfig, GraphConfig, FeatureConfig, SvmConfig])
def test_unknown_config_keys_are_errors(tmp_path, cls):
    (tmp_path / "c.yaml").write_text("tua: 0.2\n")
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(cls, tmp_path / "c.yaml")


def test_yaml_tags_that_build_objects_are_refused(tmp_path):
    (tmp_path / "c.yaml").write_text("epochs: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError):
        load_config(TrainConfig, tmp_path / "c.yaml")
