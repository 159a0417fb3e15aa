"""Operator architectures: networks mapping an input *field* to an output field.

Convention (operator tasks). The task's ``model_io`` is ``(in_shape, out_channels)`` where
``in_shape = (C, H, W)`` is the shape of one input sample (channels first) and the model maps an
array of that shape to ``(out_channels, H, W)``. Grid coordinates are *not* part of the input: an
architecture that needs them builds them itself from ``H`` and ``W``, at the cell centres
``((i + ½)/H, (j + ½)/W)`` of the unit square. Pointwise architectures (``mlp`` …) receive an
integer ``in_size`` and reject a shape, and operator architectures reject an integer, so pairing
an entry with the wrong kind of task fails at construction with a clear message.

* :class:`FNO2d` — the Fourier neural operator of Li et al. (ICLR 2021): pointwise lifting of the
  input and coordinate channels, Fourier layers ``v ← σ(K v + W v)`` whose kernel ``K`` multiplies
  the lowest ``modes1 × modes2`` Fourier coefficients (``jnp.fft.rfft2``) by learned complex
  matrices, and a pointwise two-layer projection. The weights do not depend on the grid, so the
  output has the resolution of the input (85 × 85 in, 85 × 85 out; 43 × 43 in, 43 × 43 out).
* :class:`DeepONet` — the deep operator network of Lu et al. (Nat. Mach. Intell. 2021): a branch
  MLP on the flattened input field and a trunk MLP on the coordinates, combined by an inner
  product of their ``latent`` features. The branch fixes the input resolution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp

from .architectures import MLP, activations, architectures, check_network_options, checked

__all__ = ["FNO2d", "SpectralConv2d", "DeepONet", "cell_centre_grid"]


def _field_shape(in_size, kind: str) -> tuple[int, int, int]:
    if isinstance(in_size, int) or len(tuple(in_size)) != 3:
        raise ValueError(
            f"architecture {kind!r} is an operator network: it needs an operator task, whose "
            f"input is a field of shape (channels, H, W); this task gives in_size={in_size!r}"
        )
    c, h, w = (int(s) for s in in_size)
    return c, h, w


def cell_centre_grid(h: int, w: int, dtype=jnp.float32) -> jax.Array:
    """Coordinates of the ``h × w`` cell centres of the unit square, shape ``(2, h, w)``."""
    x = (jnp.arange(h, dtype=dtype) + 0.5) / h
    y = (jnp.arange(w, dtype=dtype) + 0.5) / w
    return jnp.stack(jnp.meshgrid(x, y, indexing="ij"))


class _Pointwise(eqx.Module):
    """A 1 × 1 convolution: the same affine map of channels at every grid point."""

    weight: jax.Array
    bias: jax.Array

    def __init__(self, c_in: int, c_out: int, *, key: jax.Array):
        # PyTorch's default for Linear/Conv (uniform ±1/√fan_in), which Li et al.'s code uses
        kw, kb = jax.random.split(key)
        bound = 1.0 / math.sqrt(c_in)
        self.weight = jax.random.uniform(kw, (c_out, c_in), minval=-bound, maxval=bound)
        self.bias = jax.random.uniform(kb, (c_out,), minval=-bound, maxval=bound)

    def __call__(self, v: jax.Array) -> jax.Array:
        return jnp.einsum("oi,ihw->ohw", self.weight, v) + self.bias[:, None, None]


class SpectralConv2d(eqx.Module):
    """Fourier layer kernel: ``(K v)^ (k) = R(k) v^(k)`` for the kept modes, 0 for the others.

    Kept modes: ``k_x ∈ [0, modes1) ∪ [−modes1, 0)`` and ``k_y ∈ [0, modes2)`` of the ``rfft2``.
    The complex weights are stored as real and imaginary parts (two real arrays each), so that
    casting the parameters to a real dtype and every real-valued optimizer work unchanged.
    On a grid too small for the modes (``H < 2·modes1`` or ``W//2 + 1 < modes2``) the highest
    modes are dropped, so the layer is defined at every resolution.
    """

    re: jax.Array  # (2, c_out, c_in, modes1, modes2): [0] positive k_x block, [1] negative
    im: jax.Array
    modes1: int = eqx.field(static=True)
    modes2: int = eqx.field(static=True)

    def __init__(self, c_in: int, c_out: int, modes1: int, modes2: int, *, key: jax.Array):
        # Li et al.: scale · U[0, 1) for both parts, scale = 1 / (c_in · c_out)
        scale = 1.0 / (c_in * c_out)
        kr, ki = jax.random.split(key)
        shape = (2, c_out, c_in, modes1, modes2)
        self.re = scale * jax.random.uniform(kr, shape)
        self.im = scale * jax.random.uniform(ki, shape)
        self.modes1, self.modes2 = int(modes1), int(modes2)

    def __call__(self, v: jax.Array) -> jax.Array:
        _, h, w = v.shape
        m1 = min(self.modes1, h // 2)
        m2 = min(self.modes2, w // 2 + 1)
        v_hat = jnp.fft.rfft2(v, axes=(-2, -1))
        # lax.complex: the complex weights in the parameters' own precision (re + 1j·im would
        # need an implicit float → complex promotion)
        wgt = jax.lax.complex(self.re, self.im)[..., :m1, :m2].astype(v_hat.dtype)
        top = jnp.einsum("oixy,ixy->oxy", wgt[0], v_hat[:, :m1, :m2])
        bottom = jnp.einsum("oixy,ixy->oxy", wgt[1], v_hat[:, h - m1:, :m2])
        out = jnp.zeros((wgt.shape[1], h, w // 2 + 1), dtype=v_hat.dtype)
        out = out.at[:, :m1, :m2].set(top).at[:, h - m1:, :m2].set(bottom)
        return jnp.fft.irfft2(out, s=(h, w), axes=(-2, -1)).astype(v.dtype)


class FNO2d(eqx.Module):
    """2-D Fourier neural operator; input ``(C, H, W)`` → output ``(out_channels, H, W)``.

    Architecture (Li et al. 2021, ``fourier_2d.py``): append the two coordinate channels; lift
    pointwise to ``width`` channels; zero-pad ``padding`` cells on the high side of both axes
    (the domain is not periodic, so the FFT must not wrap the solution around); ``n_layers``
    Fourier layers ``v ← σ(K v + W v)`` with σ = GELU, omitted after the last layer; crop; project
    pointwise ``width → proj_width → out_channels`` with σ between.
    """

    lift: _Pointwise
    spectral: tuple[SpectralConv2d, ...]
    skip: tuple[_Pointwise, ...]
    proj1: _Pointwise
    proj2: _Pointwise
    padding: int = eqx.field(static=True)
    activation: Callable = eqx.field(static=True)

    def __init__(self, in_channels: int, out_channels: int, *, key: jax.Array, modes: int = 12,
                 width: int = 32, n_layers: int = 4, proj_width: int = 128, padding: int = 0,
                 activation: str = "gelu"):
        keys = jax.random.split(key, 2 * n_layers + 3)
        self.lift = _Pointwise(in_channels + 2, width, key=keys[0])
        self.spectral = tuple(SpectralConv2d(width, width, modes, modes, key=k)
                              for k in keys[1:1 + n_layers])
        self.skip = tuple(_Pointwise(width, width, key=k)
                          for k in keys[1 + n_layers:1 + 2 * n_layers])
        self.proj1 = _Pointwise(width, proj_width, key=keys[-2])
        self.proj2 = _Pointwise(proj_width, out_channels, key=keys[-1])
        self.padding = int(padding)
        self.activation = activations.get(activation)

    def __call__(self, a: jax.Array) -> jax.Array:
        _, h, w = a.shape
        v = jnp.concatenate([a, cell_centre_grid(h, w, a.dtype)], axis=0)
        v = self.lift(v)
        if self.padding:
            v = jnp.pad(v, ((0, 0), (0, self.padding), (0, self.padding)))
        last = len(self.spectral) - 1
        for i, (k, s) in enumerate(zip(self.spectral, self.skip)):
            v = k(v) + s(v)
            if i < last:
                v = self.activation(v)
        v = v[:, :h, :w]
        return self.proj2(self.activation(self.proj1(v)))


class DeepONet(eqx.Module):
    """Unstacked DeepONet: ``G(a)_c(y) = Σ_k b_{c,k}(a) t_k(y) + b0_c`` on the input's grid.

    The branch MLP sees the flattened input field (all channels, ``C·H·W`` numbers) and returns
    ``out_channels × latent`` coefficients; the trunk MLP maps a point ``y ∈ [0, 1]²`` to
    ``latent`` basis values, with the activation also applied to its last layer (Lu et al.). The
    trunk is evaluated at the cell centres of the input grid, so the output has the input's
    shape; the branch accepts only the resolution it was built for.
    """

    branch: MLP
    trunk: MLP
    bias: jax.Array
    in_shape: tuple[int, int, int] = eqx.field(static=True)
    latent: int = eqx.field(static=True)
    out_channels: int = eqx.field(static=True)
    activation: Callable = eqx.field(static=True)

    def __init__(self, in_shape: Sequence[int], out_channels: int, *, key: jax.Array,
                 latent: int = 128, branch_width: int = 256, branch_depth: int = 3,
                 trunk_width: int = 128, trunk_depth: int = 3, activation: str = "gelu"):
        kb, kt = jax.random.split(key)
        c, h, w = in_shape
        self.in_shape = (c, h, w)
        self.branch = MLP(c * h * w, out_channels * latent, key=kb, width=branch_width,
                          depth=branch_depth, activation=activation)
        self.trunk = MLP(2, latent, key=kt, width=trunk_width, depth=trunk_depth,
                         activation=activation)
        self.bias = jnp.zeros((out_channels,))
        self.latent, self.out_channels = int(latent), int(out_channels)
        self.activation = activations.get(activation)

    def __call__(self, a: jax.Array) -> jax.Array:
        if tuple(a.shape) != self.in_shape:
            raise ValueError(f"DeepONet was built for inputs of shape {self.in_shape}, "
                             f"got {tuple(a.shape)}: its branch fixes the resolution")
        _, h, w = a.shape
        b = self.branch(a.ravel()).reshape(self.out_channels, self.latent)
        pts = cell_centre_grid(h, w, a.dtype).reshape(2, -1).T
        t = self.activation(jax.vmap(self.trunk)(pts))  # (h·w, latent)
        return (b @ t.T).reshape(self.out_channels, h, w) + self.bias[:, None, None]


@architectures.register("fno")
@checked(check_network_options)
def make_fno(in_size, out_size: int, *, key: jax.Array, modes: int = 12, width: int = 32,
             n_layers: int = 4, proj_width: int = 128, padding: int = 0,
             activation: str = "gelu") -> FNO2d:
    """2-D Fourier neural operator (Li et al. 2021); output resolution follows the input's."""
    c, _, _ = _field_shape(in_size, "fno")
    return FNO2d(c, out_size, key=key, modes=modes, width=width, n_layers=n_layers,
                 proj_width=proj_width, padding=padding, activation=activation)


@architectures.register("deeponet")
@checked(check_network_options)
def make_deeponet(in_size, out_size: int, *, key: jax.Array, latent: int = 128,
                  branch_width: int = 256, branch_depth: int = 3, trunk_width: int = 128,
                  trunk_depth: int = 3, activation: str = "gelu") -> DeepONet:
    """DeepONet (Lu et al. 2021): branch MLP on the flattened field, trunk MLP on coordinates."""
    shape = _field_shape(in_size, "deeponet")
    return DeepONet(shape, out_size, key=key, latent=latent, branch_width=branch_width,
                    branch_depth=branch_depth, trunk_width=trunk_width, trunk_depth=trunk_depth,
                    activation=activation)
