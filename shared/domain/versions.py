"""Kubernetes versions as AKS spells them ("1.30.5"), ordered numerically, and the one-hop rule.

AKS cannot skip a minor version in one upgrade, and its upgrade profile lists versions in no
guaranteed order, so ordering and hop checks live here instead of trusting list positions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version


@dataclass(frozen=True, order=True)
class KubernetesVersion:
    """A GA-shaped version: exactly major.minor.patch, compared numerically (1.30.10 > 1.30.9)."""

    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def minor_line(self) -> tuple[int, int]:
        """The (major, minor) pair that a patch upgrade stays within."""
        return (self.major, self.minor)


def parse(text: str) -> KubernetesVersion:
    """Parse "1.30.5" (a leading "v" is tolerated); anything else raises ValueError naming the text.

    packaging does the lexing so that odd spellings ("1.30", "1.30.5-rc1", "1.30.5+abc") are
    refused rather than guessed at: a version we cannot read is never a version we upgrade to.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"not a Kubernetes version: {text!r}")
    raw = text.strip()
    try:
        parsed = Version(raw)
    except InvalidVersion as exc:
        raise ValueError(f"not a Kubernetes version: {text!r}") from exc
    # ``is not None``: ".dev0" and ".post0"/"-0" carry a 0 that is falsy; "0!" is an epoch all the same.
    extras = (parsed.pre, parsed.dev, parsed.post, parsed.local)
    if len(parsed.release) != 3 or any(x is not None for x in extras) or "!" in raw:
        raise ValueError(f"not a Kubernetes version (want major.minor.patch): {text!r}")
    major, minor, patch = parsed.release
    return KubernetesVersion(major, minor, patch)


def is_version(text: object) -> bool:
    """True when ``text`` parses as a Kubernetes version."""
    try:
        parse(text)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


def is_one_hop(current: KubernetesVersion, candidate: KubernetesVersion) -> bool:
    """True when AKS can move ``current`` to ``candidate`` in one upgrade, without a downgrade.

    One hop is any newer patch of the same minor, or any version of the next minor.
    """
    if candidate < current or candidate.major != current.major:
        return False
    return candidate.minor - current.minor in (0, 1)


def newest(versions: Iterable[KubernetesVersion]) -> KubernetesVersion | None:
    """The highest version, or None for an empty collection (input order is irrelevant)."""
    return max(versions, default=None)
