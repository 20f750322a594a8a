"""environment.yml mirrors pyproject.toml; the README names the two commands; CI calls the test one."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in ("notebooks", "test"):
        reqs += meta["optional-dependencies"][extra]
    return {_norm(Requirement(r).name): str(Requirement(r).specifier) for r in reqs}


def _environment_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out: dict[str, str] = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            if item.startswith("-e") or item.split("=")[0] in ("python", "pip"):
                continue
            r = Requirement(item.replace("==", "==", 1))
            out[_norm(r.name)] = str(r.specifier)
    return out


def test_environment_yml_mirrors_pyproject():
    assert _environment_requirements() == _pyproject_requirements()


def test_environment_installs_the_project_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip
    assert "python=3.11" in env["dependencies"]


def test_readme_commands_and_ci_agree():
    readme = (ROOT / "README.md").read_text()
    assert "python3 tasks.py report" in readme
    assert "python3 tasks.py test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in ci
