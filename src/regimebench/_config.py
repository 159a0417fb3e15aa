"""One process, one numeric policy: platform, float64, matmul precision and compile cache.

:func:`configure` is called once by the CLI (and by ``tests/conftest.py``) before anything is
traced. Library modules never call ``jax.config.update`` themselves. The values in force are read
back by :func:`numeric_policy` and stored in every run record.

Float64 is always *enabled* (references are computed and compared in float64); each solver entry
still trains in its declared dtype because the trainer casts parameters and collocation points
explicitly. Matmul precision is ``"highest"``: float32 PINNs differentiate through matmuls several
times, and TF32/bf16 passes on GPUs visibly change the error floor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["configure", "numeric_policy"]

_CONFIGURED: dict[str, Any] = {}


def configure(
    *,
    platform: str | None = None,
    matmul_precision: str = "highest",
    compile_cache: bool | Path = True,
) -> dict[str, Any]:
    """Set the process-wide JAX policy. Safe to call twice with the same values.

    Arguments:
        platform: ``"cpu"``, ``"gpu"`` or ``None`` (JAX picks; ``$JAX_PLATFORMS`` is honoured).
        matmul_precision: ``"highest"`` (default), ``"high"`` or ``"default"``.
        compile_cache: ``True`` for the per-user persistent compilation cache, a path for a
            specific folder, ``False`` to disable it.
    """
    if platform:
        os.environ["JAX_PLATFORMS"] = platform
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", matmul_precision)
    if compile_cache:
        from .reference import cache_dir

        path = Path(compile_cache) if isinstance(compile_cache, Path) else cache_dir() / "xla"
        try:
            path.mkdir(parents=True, exist_ok=True)
            jax.config.update("jax_compilation_cache_dir", str(path))
            # Small PINN programs compile in ~1 s; cache them all, they are what we re-run.
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        except OSError:
            pass  # a read-only home must not stop a run; compilation just is not cached
    _CONFIGURED.update(platform=platform, matmul_precision=matmul_precision,
                       compile_cache=str(compile_cache))
    return numeric_policy()


def numeric_policy() -> dict[str, Any]:
    """The policy in force, for run records."""
    import jax

    return {
        "x64": bool(jax.config.jax_enable_x64),
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
        "device_count": jax.device_count(),
    }
