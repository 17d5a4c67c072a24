"""The package's metadata: one TensorFlow on every machine, the GPU extra completes it, and the README says the same.

``tensorflow``, ``tensorflow-cpu`` and their kin all install the same
``tensorflow`` package: two of them in one environment overwrite each other's
files, and removing either one breaks the other. So pyproject.toml requires one
distribution per machine, the same one its ``gpu`` extra adds CUDA to, and the
README's GPU commands name the same version range. Reads files only: no
network, no installs.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
README = (ROOT / "README.md").read_text()

TENSORFLOWS = frozenset({"tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"})
"""Distributions that install the ``tensorflow`` package."""

MACHINES = [
    ("linux", "x86_64"),
    ("linux", "aarch64"),
    ("darwin", "arm64"),
    ("darwin", "x86_64"),
    ("win32", "AMD64"),
]
"""(sys_platform, platform_machine) pairs the markers are evaluated for."""


def requirements(sys_platform: str, machine: str, extra: str | None = None) -> list[Requirement]:
    """The base requirements (or an extra's) whose markers hold on that machine."""
    lines = PROJECT["dependencies"] if extra is None else PROJECT["optional-dependencies"][extra]
    environment = {"sys_platform": sys_platform, "platform_machine": machine, "platform_system": "", "extra": ""}
    found = [Requirement(line) for line in lines]
    return [r for r in found if r.marker is None or r.marker.evaluate(environment)]


def tensorflows(found: list[Requirement]) -> list[Requirement]:
    return [r for r in found if canonicalize_name(r.name) in TENSORFLOWS]


def base_tensorflow(sys_platform: str = "linux", machine: str = "x86_64") -> Requirement:
    (tensorflow,) = tensorflows(requirements(sys_platform, machine))
    return tensorflow


@pytest.mark.parametrize(("sys_platform", "machine"), MACHINES)
def test_exactly_one_tensorflow_is_required_on_every_machine(sys_platform, machine):
    named = [r.name for r in tensorflows(requirements(sys_platform, machine))]
    assert len(named) == 1, f"{sys_platform}/{machine}: pyproject.toml requires {named}"


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_gpu_extra_adds_cuda_to_the_same_tensorflow(machine):
    """``.[gpu]`` must not bring a second TensorFlow beside the base one (tensorflow-cpu beside tensorflow)."""
    base = base_tensorflow("linux", machine)
    (gpu,) = tensorflows(requirements("linux", machine, extra="gpu"))
    assert canonicalize_name(gpu.name) == canonicalize_name(base.name) == "tensorflow"
    assert gpu.extras == {"and-cuda"}
    assert gpu.specifier == base.specifier


def test_keras_is_at_least_3_15():
    """Keras 3.15 divides the activity penalty by the batch, and is past the safe_mode bypasses of 3.13.2."""
    (keras,) = [r for r in requirements("linux", "x86_64") if canonicalize_name(r.name) == "keras"]
    assert keras.specifier.contains("3.15.0") and not keras.specifier.contains("3.14.2"), keras


def gpu_section() -> str:
    """The README's "On an NVIDIA GPU" subsection, up to the next heading."""
    start = README.index("### On an NVIDIA GPU")
    following = re.search(r"^##", README[start + 3 :], flags=re.M)
    return README[start : start + 3 + following.start()] if following else README[start:]


def test_the_readme_gpu_install_uses_the_gpu_extra_and_checks_for_the_gpu():
    section = gpu_section()
    commands = "\n".join(re.findall(r"```bash\n(.*?)\n```", section, flags=re.S))
    installed_extras = {e.strip() for group in re.findall(r'pip install -e "\.\[([^\]]+)\]"', commands) for e in group.split(",")}
    assert "gpu" in installed_extras
    assert installed_extras <= set(PROJECT["optional-dependencies"])
    assert "tf.config.list_physical_devices('GPU')" in commands


def test_the_readme_gpu_commands_name_the_range_pyproject_requires():
    """A version range the README's GPU section names is the one pyproject.toml requires: they cannot drift."""
    base = base_tensorflow()
    named = re.findall(r"\b(tensorflow(?:-cpu)?(?:\[[\w,-]+\])?[<>=!~][^\s\"'`)]*)", gpu_section())
    assert named, "the GPU section names no TensorFlow version range"
    for text in named:
        assert Requirement(text).specifier == base.specifier, f"README: {text}; pyproject.toml: {base}"
    minimum = re.search(r">=\s*([\d.]+)", str(base.specifier)).group(1)
    assert f"TensorFlow ≥ {minimum}" in README  # the Requirements section


def test_the_readme_removes_tensorflow_cpu_and_never_installs_it():
    mentions = re.findall(r"pip (\w+)[^\n`]*tensorflow-cpu", README)
    assert mentions and set(mentions) == {"uninstall"}, mentions


def test_this_environment_holds_one_tensorflow():
    """Two would share one ``tensorflow`` folder: the first install's files, partly overwritten by the second's."""
    installed = sorted(
        {canonicalize_name(d.metadata["Name"]) for d in importlib.metadata.distributions()} & TENSORFLOWS
    )
    assert len(installed) == 1, (
        f"installed: {installed}; keep one: pip uninstall -y tensorflow-cpu, then "
        f"pip install --force-reinstall --no-deps \"{base_tensorflow()}\" (README, On an NVIDIA GPU)"
    )
