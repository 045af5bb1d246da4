"""requirements.lock: what CI tests is what gets deployed.

requirements.txt holds ranges; requirements.lock (generated from it by scripts/lock-requirements.sh)
pins every runtime package, transitive ones included, with the hashes of its files. CI installs the
lock with ``--require-hashes`` and the publish step builds the package from it, so a release cannot
pick up a version nobody tested. These tests fail when the two files drift apart, when the tools'
constraints would move a runtime package, or when the app imports something the lock leaves out.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def requirement_lines(path: Path) -> list[str]:
    """The requirement lines of a pip requirements file: no comments, no options, no -r includes."""
    lines = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            lines.append(line)
    return lines


def locked() -> dict[str, tuple[str, list[str]]]:
    """canonical name -> (version, hashes) of every pin in requirements.lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for raw in (REPO / "requirements.lock").read_text().splitlines():
        match = _PIN.match(raw)
        if match:
            current = canonicalize_name(match[1])
            pins[current] = (match[2].rstrip(" \\"), [])
        elif current is not None and raw.strip().startswith("--hash="):
            pins[current][1].append(raw.strip().removeprefix("--hash=").rstrip(" \\"))
    return pins


def constraints() -> dict[str, str]:
    pins = {}
    for line in requirement_lines(REPO / "constraints.txt"):
        match = _PIN.match(line)
        assert match, f"constraints.txt: {line!r} is not an exact pin"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_every_runtime_requirement_is_locked_at_a_version_its_range_allows() -> None:
    pins = locked()
    for line in requirement_lines(REPO / "requirements.txt"):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is in requirements.txt but not in requirements.lock: run scripts/lock-requirements.sh"
        version = pins[name][0]
        assert requirement.specifier.contains(Version(version), prereleases=True), (
            f"requirements.lock pins {requirement.name}=={version}, outside requirements.txt's {requirement.specifier}: "
            "run scripts/lock-requirements.sh"
        )


def test_every_locked_package_carries_sha256_hashes() -> None:
    pins = locked()
    assert pins, "requirements.lock pins nothing"
    for name, (_, hashes) in pins.items():
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), f"{name} has no sha256 hash in requirements.lock"


def test_the_lock_names_no_package_source() -> None:
    """A lock that carried this machine's index or wheel folder would not install anywhere else."""
    text = (REPO / "requirements.lock").read_text()
    for option in ("--index-url", "--extra-index-url", "--find-links", "file://"):
        assert option not in text


def test_the_tools_constraints_never_move_a_runtime_package() -> None:
    pins = locked()
    disagreements = {name: (version, pins[name][0]) for name, version in constraints().items() if name in pins and pins[name][0] != version}
    assert disagreements == {}, f"constraints.txt and requirements.lock pin different versions (constraints, lock): {disagreements}"


def test_the_benchmarks_resource_client_is_a_development_requirement_only() -> None:
    runtime = {canonicalize_name(Requirement(line).name) for line in requirement_lines(REPO / "requirements.txt")}
    development = {canonicalize_name(Requirement(line).name) for line in requirement_lines(REPO / "requirements-dev.txt")}
    assert "azure-mgmt-resource" not in runtime and "azure-mgmt-resource" not in locked()
    assert {"azure-mgmt-resource", "rich"} <= development


_IMPORTED_DISTRIBUTIONS = """
import importlib.metadata, json, sys
before = set(sys.modules)  # what the interpreter loaded by itself (site, .pth hooks)
import function_app  # the app as the Functions host loads it: every function folder and shared/
import shared.adapters.telemetry
owners = {}
for dist in importlib.metadata.distributions():
    for file in dist.files or ():
        owners[str(dist.locate_file(file))] = dist.metadata["Name"]
modules = [module for name, module in list(sys.modules.items()) if name not in before]
used = sorted({owners[m.__file__] for m in modules if getattr(m, "__file__", None) in owners})
print(json.dumps(used))
"""


def test_the_app_imports_only_locked_packages() -> None:
    """Every distribution the app's modules are loaded from is in the lock (the deployment has nothing else)."""
    process = subprocess.run(
        [sys.executable, "-c", _IMPORTED_DISTRIBUTIONS], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    used = {canonicalize_name(name) for name in json.loads(process.stdout.strip().splitlines()[-1])}
    assert used, "no installed distribution was imported: the check would prove nothing"
    assert used - set(locked()) == set(), "the app imports packages requirements.lock does not pin"
