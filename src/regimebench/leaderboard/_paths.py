"""File names of the site's pages: one slug rule, shared by the aggregation and the renderer."""

from __future__ import annotations

import hashlib
import re

__all__ = ["safe_name"]


def safe_name(text: str, salt: str | None = None) -> str:
    """A file-name-safe slug of ``text``; with ``salt``, a short hash keeps distinct keys apart."""
    slug = re.sub(r"[^A-Za-z0-9._=,-]+", "_", text).strip("._")[:120] or "x"
    if salt is not None:
        slug += "-" + hashlib.sha1(salt.encode()).hexdigest()[:8]
    return slug
