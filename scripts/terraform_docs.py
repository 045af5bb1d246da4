#!/usr/bin/env python3
"""Write the inputs, outputs, resources and requirements of a terraform module into its README, in
terraform-docs' "markdown table" format, read from the HCL with python-hcl2 (a development
requirement), so no terraform-docs binary is needed.

The generated part sits between ``<!-- BEGIN_TF_DOCS -->`` and ``<!-- END_TF_DOCS -->`` (the markers
terraform-docs itself uses); the rest of the README is written by hand and kept.

    .venv/bin/python scripts/terraform_docs.py            # rewrite terraform/README.md
    .venv/bin/python scripts/terraform_docs.py --check    # exit 1 when it is out of date (a test runs this)
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "terraform"
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
REGISTRY = "https://registry.terraform.io/providers/{source}/latest/docs/{kind}/{name}"


def _unquote(text: str) -> str:
    """A string literal as HCL wrote it, without its quotes and escapes; an expression without ``${}``."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        body = text[1:-1]
        if body.startswith("<<-") or body.startswith("<<"):
            return _heredoc(body)
        return body.replace('\\"', '"').replace("\\\\", "\\")
    if text.startswith("${") and text.endswith("}"):
        return text[2:-1]
    return text


def _heredoc(body: str) -> str:
    lines = body.split("\n")
    return textwrap.dedent("\n".join(lines[1:-1])).strip()


def _plain(value: Any) -> Any:
    """A default value as plain Python (string literals unquoted, comments and block markers dropped)."""
    if isinstance(value, str):
        return _unquote(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {_unquote(k): _plain(v) for k, v in value.items() if not k.startswith("__")}
    return value


def _blocks(directory: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get(kind, []):
            for name, body in block.items():
                found.append((_unquote(name), body))
    return found


def _resources(directory: Path, kind: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get(kind, []):
            for type_, named in block.items():
                for name in named:
                    if not name.startswith("__"):
                        found.append((_unquote(type_), _unquote(name)))
    return sorted(found)


def _cell(text: str) -> str:
    """Text for one table cell: pipes escaped, line breaks as <br/>."""
    return text.replace("|", "\\|").replace("\n", "<br/>")


def _anchor(prefix: str, name: str) -> str:
    return f'<a name="{prefix}_{name}"></a> [{name}](#{prefix}\\_{name.replace("_", chr(92) + "_")})'


def _default(value: Any) -> str:
    if isinstance(value, (dict, list)) and value:
        return "<pre>" + json.dumps(value, indent=2).replace("\n", "<br/>") + "</pre>"
    return f"`{json.dumps(value)}`"


def _requirements(directory: Path) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    requirements: list[tuple[str, str]] = []
    providers: list[tuple[str, str]] = []
    for path in sorted(directory.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get("terraform", []):
            if "required_version" in block:
                requirements.append(("terraform", _unquote(block["required_version"])))
            for listed in block.get("required_providers", []):
                for name, spec in listed.items():
                    if not name.startswith("__"):
                        requirements.append((name, _unquote(spec.get("version", '"n/a"'))))
                        providers.append((name, _unquote(spec.get("source", f'"hashicorp/{name}"'))))
    return requirements, providers


def render(directory: Path = MODULE) -> str:
    """The generated part of the README, markers included."""
    requirements, providers = _requirements(directory)
    sources = dict(providers)
    out = [BEGIN, "## Requirements", "", "| Name | Version |", "|------|---------|"]
    out += [f"| {_anchor('requirement', name)} | {_cell(version)} |" for name, version in requirements]
    out += ["", "## Providers", "", "| Name | Version |", "|------|---------|"]
    out += [f"| {_anchor('provider', name)} | {_cell(dict(requirements).get(name, 'n/a'))} |" for name, _ in providers]
    out += ["", "## Resources", "", "| Name | Type |", "|------|------|"]
    for kind, label, docs in (("resource", "resource", "resources"), ("data", "data source", "data-sources")):
        for type_, name in _resources(directory, kind):
            provider = type_.split("_", 1)[0]
            url = REGISTRY.format(source=sources.get(provider, f"hashicorp/{provider}"), kind=docs, name=type_.split("_", 1)[1])
            out.append(f"| [{type_}.{name}]({url}) | {label} |")
    out += ["", "## Inputs", "", "| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
    for name, body in sorted(_blocks(directory, "variable")):
        required = "default" not in body
        default = "n/a" if required else _default(_plain(body["default"]))
        type_ = _unquote(body["type"]) if "type" in body else "any"
        description = _unquote(body.get("description", '""'))
        out.append(f"| {_anchor('input', name)} | {_cell(description)} | `{_cell(type_)}` | {default} | {'yes' if required else 'no'} |")
    out += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name, body in sorted(_blocks(directory, "output")):
        description = _unquote(body.get("description", '""'))
        out.append(f"| {_anchor('output', name)} | {_cell(description)} |")
    out.append(END)
    return "\n".join(out)


def updated(readme: str, generated: str) -> str:
    """``readme`` with its generated part replaced (appended when it has none yet)."""
    if BEGIN in readme and END in readme:
        head, rest = readme.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + generated + tail
    return readme.rstrip("\n") + "\n\n" + generated + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check: exit 1 when the README is out of date")
    parser.add_argument("--module", type=Path, default=MODULE, help="the module folder (default: terraform/)")
    args = parser.parse_args(argv)
    readme_path = args.module / "README.md"
    current = readme_path.read_text(encoding="utf-8") if readme_path.exists() else ""
    wanted = updated(current, render(args.module))
    if args.check:
        if current != wanted:
            print(f"{readme_path} is out of date: run .venv/bin/python scripts/terraform_docs.py", file=sys.stderr)
            return 1
        return 0
    readme_path.write_text(wanted, encoding="utf-8")
    print(f"wrote {readme_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
