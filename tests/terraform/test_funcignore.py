"""`.funcignore`: `func azure functionapp publish` ships the app and nothing else.

Matching follows .gitignore rules closely enough for these paths: a pattern with
a trailing slash matches a directory, a pattern without a slash matches a name at
any depth, and `*` does not cross `/`.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path, PurePosixPath

import pytest

from tests.terraform.hcl import REPO


def patterns() -> list[str]:
    lines = (REPO / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def matches(pattern: str, path: str) -> bool:
    """Does ``pattern`` (without a leading ``!``) name ``path`` (a file) or a folder above it?"""
    parts = PurePosixPath(path).parts
    directory_only = pattern.endswith("/")
    body = pattern.rstrip("/").lstrip("/")
    candidates = parts[:-1] if directory_only else parts
    if "/" in body:
        return fnmatch.fnmatchcase("/".join(parts[: body.count("/") + 1]), body)
    return any(fnmatch.fnmatchcase(part, body) for part in candidates)


def ignored(path: str) -> bool:
    result = False
    for pattern in patterns():
        negate = pattern.startswith("!")
        if matches(pattern[1:] if negate else pattern, path):
            result = not negate
    return result


#: What a checkout grows by itself (virtualenvs, caches, npm ci, Azurite's files, an editor's
#: settings, local.settings.json copied from the example): need not be in the repository.
GENERATED_LOCALLY = frozenset(
    {
        ".vscode/",
        ".idea/",
        ".venv*/",
        "__pycache__/",
        "*.pyc",
        ".pytest_cache/",
        ".mypy_cache/",
        ".ruff_cache/",
        ".hypothesis/",
        ".import_linter_cache/",
        "node_modules/",
        ".azurite/",
        "__azurite_db*",
        "__blobstorage__/",
        "__queuestorage__/",
        "local.settings.json",
        ".python_packages/",
    }
)


def repository_files() -> list[str]:
    """Every file of the checkout, relative, leaving out .git and what GENERATED_LOCALLY names."""
    found = []
    for folder, subfolders, files in os.walk(REPO):
        relative = PurePosixPath(Path(folder).relative_to(REPO).as_posix())
        subfolders[:] = [
            name
            for name in subfolders
            if name != ".git" and not any(matches(p, f"{relative / name}/x") for p in GENERATED_LOCALLY if p.endswith("/"))
        ]
        found.extend(str(relative / name) for name in files)
    return found


@pytest.mark.parametrize(
    "path",
    [
        "function_app.py",
        "host.json",
        "requirements.txt",
        "shared/__init__.py",
        "shared/domain/planning.py",
        "shared/adapters/arm.py",
        "TimerStarter/__init__.py",
        "HttpStarter/__init__.py",
        "UpgradeOrchestrator/__init__.py",
        "UpgradeLeadEnvironment/__init__.py",
        "UpgradeFollowerEnvironment/__init__.py",
        "CheckUpgradeProgress/__init__.py",
        "RecordValidatedVersion/__init__.py",
        # the dependencies scripts/build-package.sh builds from requirements.lock, for publish --no-build
        ".python_packages/lib/site-packages/azure/functions/__init__.py",
    ],
)
def test_the_app_is_published(path: str) -> None:
    assert not ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "tests/unit/test_settings.py",
        "tests/terraform/test_funcignore.py",
        "terraform/main.tf",
        "terraform/examples/default/main.tf",
        "ops/__main__.py",
        "node_modules/azurite/package.json",
        ".venv/bin/python",
        ".venv-checkov/bin/checkov",
        "docs/deployment.md",
        "scripts/check-terraform.sh",
        "scripts/terraform_docs.py",
        "requirements.lock",
        "requirements-browser.txt",
        "LICENSE",
        "terraform/README.md",
        "terraform/examples/default/backend.tf.example",
        ".ci/run",
        "Makefile",
        "package.json",
        "package-lock.json",
        "README.md",
        "pyproject.toml",
        ".pre-commit-config.yaml",
        "local.settings.json",
        "local.settings.json.example",
        ".git/HEAD",
        ".gitignore",
        ".github/workflows/ci.yml",
        "shared/__pycache__/settings.cpython-311.pyc",
        ".azurite/__azurite_db_table__.json",
        # lint-imports (make lint, pre-commit) caches the import graph in the checkout
        ".import_linter_cache/shared.meta.json",
        ".mypy_cache/3.11/shared/settings.meta.json",
        ".ruff_cache/CACHEDIR.TAG",
        ".pytest_cache/v/cache/nodeids",
        ".hypothesis/examples/0a/1b",
    ],
)
def test_everything_else_stays_home(path: str) -> None:
    assert ignored(path)


def test_every_function_folder_in_the_repository_is_published() -> None:
    folders = [
        path.name
        for path in REPO.iterdir()
        if path.is_dir() and path.name[:1].isupper() and (path / "__init__.py").exists()
    ]
    for folder in folders:
        assert not ignored(f"{folder}/__init__.py"), f"{folder}/ would be left out of the package"


def test_every_pattern_names_a_file_of_the_repository_or_one_a_checkout_grows() -> None:
    files = repository_files()
    stale = [p for p in patterns() if p.lstrip("!") not in GENERATED_LOCALLY and not any(matches(p.lstrip("!"), f) for f in files)]
    assert stale == [], f".funcignore lists what the repository does not have: {stale}"
