"""Read the terraform module with python-hcl2 into plain Python values.

python-hcl2 8.x keeps HCL's surface: block labels and string literals keep their
quotes, expressions come back as ``"${...}"`` and comments as ``__comments__``
keys. :func:`load_module` turns that into something tests can compare:

- a string literal (``"1.2"``) becomes the Python string ``1.2``;
- an expression or a template (``var.x``, ``"asp-${var.name}"``) becomes an
  :class:`Expr` holding the expression text, so a test can tell a literal from a
  reference and cannot mistake one for the other;
- numbers, booleans, lists and blocks stay as they are (blocks are lists of dicts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
MODULE_DIR = REPO / "terraform"


@dataclass(frozen=True)
class Expr:
    """An HCL expression or template, e.g. ``var.target_scopes`` or ``asp-${var.name}``."""

    text: str

    def refers_to(self, reference: str) -> bool:
        """True when the expression mentions ``reference`` as a whole word (``var.name`` not ``var.names``)."""
        return re.search(rf"(?<![\w.]){re.escape(reference)}(?![\w])", self.text) is not None


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _value(raw: Any) -> Any:
    if isinstance(raw, str):
        if raw.startswith("${") and raw.endswith("}") and raw.count("${") == 1:
            return Expr(raw[2:-1])
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            inner = raw[1:-1]
            if "${" in inner:
                return Expr(inner)
            return inner.replace('\\"', '"').replace("\\\\", "\\")
        if raw.startswith("${"):
            return Expr(raw)
        return raw
    if isinstance(raw, list):
        return [_value(item) for item in raw]
    if isinstance(raw, dict):
        return {_unquote(key): _value(val) for key, val in raw.items() if not key.startswith("__")}
    return raw


@dataclass
class Module:
    """Every top-level block of the ``*.tf`` files in one directory."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)

    def resource(self, type_: str, name: str) -> dict[str, Any]:
        assert (type_, name) in self.resources, f"resource {type_}.{name} is missing"
        return self.resources[(type_, name)]

    def resources_of(self, type_: str) -> dict[str, dict[str, Any]]:
        return {name: body for (kind, name), body in self.resources.items() if kind == type_}


def _labelled(blocks: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for block in blocks:
        for type_, by_name in block.items():
            for name, body in by_name.items():
                found[(type_, name)] = body
    return found


def load_module(directory: Path = MODULE_DIR) -> Module:
    module = Module()
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text()
        module.source[path.name] = text
        parsed = _value(hcl2.loads(text))
        module.resources.update(_labelled(parsed.get("resource", [])))
        module.data.update(_labelled(parsed.get("data", [])))
        for block in parsed.get("variable", []):
            module.variables.update(block)
        for block in parsed.get("output", []):
            module.outputs.update(block)
        for block in parsed.get("module", []):
            module.modules.update(block)
        for block in parsed.get("locals", []):
            module.locals.update(block)
        module.terraform.extend(parsed.get("terraform", []))
    return module


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block ``name`` of a resource body."""
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected exactly one {name} block, got {blocks!r}"
    return blocks[0]


def hcl_regex(pattern: str) -> re.Pattern[str]:
    """Compile a regex written inside an HCL string literal (backslashes doubled) for Python."""
    return re.compile(pattern.replace("\\\\", "\\"))
