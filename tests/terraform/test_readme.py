"""terraform/README.md: its inputs, outputs, resources and requirements are generated from the HCL
(scripts/terraform_docs.py, terraform-docs' table format) and must match the module as it is; the
remote-backend example keeps the state behind Entra ID."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hcl2
import pytest

from tests.terraform.hcl import MODULE_DIR, REPO, Module, load_module

GENERATOR = REPO / "scripts" / "terraform_docs.py"


@pytest.fixture(scope="module")
def module() -> Module:
    return load_module(MODULE_DIR)


def test_the_readme_tables_are_generated_from_the_module_as_it_is() -> None:
    process = subprocess.run([sys.executable, str(GENERATOR), "--check"], cwd=REPO, capture_output=True, text=True, timeout=60)

    assert process.returncode == 0, process.stderr


def test_the_readme_names_every_input_and_output(module: Module) -> None:
    readme = (MODULE_DIR / "README.md").read_text(encoding="utf-8")

    for name in module.variables:
        assert f'<a name="input_{name}"></a>' in readme
    for name in module.outputs:
        assert f'<a name="output_{name}"></a>' in readme


def test_a_stale_readme_is_caught(tmp_path: Path) -> None:
    copy = tmp_path / "terraform"
    copy.mkdir()
    for path in MODULE_DIR.glob("*.tf"):
        (copy / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (copy / "README.md").write_text((MODULE_DIR / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    with (copy / "variables.tf").open("a", encoding="utf-8") as variables:
        variables.write('\nvariable "added_later" {\n  type        = string\n  default     = "x"\n  description = "A new input, e.g. `x`."\n}\n')

    process = subprocess.run([sys.executable, str(GENERATOR), "--check", "--module", str(copy)], cwd=REPO, capture_output=True, text=True, timeout=60)

    assert process.returncode == 1 and "out of date" in process.stderr


def test_the_remote_backend_example_uses_entra_id_and_no_key() -> None:
    with (MODULE_DIR / "examples" / "default" / "backend.tf.example").open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)

    [terraform] = parsed["terraform"]
    [backend] = terraform["backend"]
    settings = backend['"azurerm"']
    assert settings["use_azuread_auth"] is True
    assert not {"access_key", "sas_token", "client_secret"} & set(settings)
