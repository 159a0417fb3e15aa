"""Name → component registries, answering unknown names with the closest known ones.

Every pluggable component (architectures, optimizer phases, loss weightings, samplers) lives in
one :class:`Registry`. Adding a component is one decorated function or class::

    @architectures.register("mlp")
    def make_mlp(in_size, out_size, *, key, width=64, depth=4, activation="tanh"): ...

and looking up a typo fails with a message a user can act on::

    >>> architectures.get("mpl")
    UnknownComponentError: Unknown architecture 'mpl'. Did you mean 'mlp'?
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry", "UnknownComponentError", "did_you_mean"]

T = TypeVar("T")


class UnknownComponentError(KeyError):
    """A name that no registry entry answers to. ``str()`` is the one-line user message."""

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


def did_you_mean(name: str, known: list[str] | tuple[str, ...]) -> str:
    """`` Did you mean 'x'?`` (or the list of known names when nothing is close)."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if close:
        return " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    return " Known: " + ", ".join(sorted(known)) + "." if known else ""


class Registry(Generic[T]):
    """A named collection of components of one kind (``kind`` names it in error messages)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, *, doc: str | None = None) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; a duplicate name is a bug, so it raises."""

        def decorator(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            text = doc or (getattr(obj, "__doc__", None) or "").strip().splitlines()
            self._docs[name] = text if isinstance(text, str) else (text[0] if text else "")
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownComponentError(
                f"Unknown {self.kind} {name!r}." + did_you_mean(name, list(self._items))
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def names(self) -> list[str]:
        return sorted(self._items)

    def describe(self, name: str) -> str:
        """First line of the component's docstring, for ``bench list``."""
        self.get(name)
        return self._docs.get(name, "")
