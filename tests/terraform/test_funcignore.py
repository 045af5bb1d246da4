"""`.funcignore`: `func azure functionapp publish` ships the app and nothing else.

Matching follows .gitignore rules closely enough for these paths: a pattern with
a trailing slash matches a directory, a pattern without a slash matches a name at
any depth, and `*` does not cross `/`.
"""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath

import pytest

from tests.terraform.hcl import REPO


def patterns() -> list[str]:
    lines = (REPO / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ignored(path: str) -> bool:
    parts = PurePosixPath(path).parts
    result = False
    for pattern in patterns():
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        directory_only = body.endswith("/")
        body = body.rstrip("/").lstrip("/")
        candidates = parts[:-1] if directory_only else parts
        if "/" in body:
            hit = fnmatch.fnmatchcase("/".join(parts[: body.count("/") + 1]), body)
        else:
            hit = any(fnmatch.fnmatchcase(part, body) for part in candidates)
        if hit:
            result = not negate
    return result


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
        ".ci/run",
        "Makefile",
        "package.json",
        "package-lock.json",
        "README.md",
        "pyproject.toml",
        "local.settings.json",
        "local.settings.json.example",
        ".git/HEAD",
        ".gitignore",
        ".github/workflows/ci.yml",
        "shared/__pycache__/settings.cpython-311.pyc",
        ".azurite/__azurite_db_table__.json",
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
