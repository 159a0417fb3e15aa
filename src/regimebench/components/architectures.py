"""Architectures: networks mapping one input to one output, built per seed.

Every factory takes ``(in_size, out_size, *, key, **options)`` and returns an ``eqx.Module``
that maps an input of shape ``(in_size,)`` to an output of shape ``(out_size,)``. The trainer
vmaps construction over seed keys, so a factory must be a pure function of its key.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._registry import Registry

__all__ = ["architectures", "activations", "Linear", "MLP"]

architectures: Registry[Callable[..., eqx.Module]] = Registry("architecture")
activations: Registry[Callable[[jax.Array], jax.Array]] = Registry("activation")

activations.register("tanh", doc="hyperbolic tangent")(jnp.tanh)
activations.register("sin", doc="sine (SIREN-style without the ω0 scaling)")(jnp.sin)
activations.register("gelu", doc="Gaussian error linear unit")(jax.nn.gelu)
activations.register("swish", doc="x·sigmoid(x)")(jax.nn.swish)


class Linear(eqx.Module):
    """Dense layer with Glorot-normal weights and zero bias (the PINN literature's default)."""

    weight: jax.Array
    bias: jax.Array

    def __init__(self, in_size: int, out_size: int, *, key: jax.Array):
        std = jnp.sqrt(2.0 / (in_size + out_size))
        self.weight = std * jax.random.normal(key, (out_size, in_size))
        self.bias = jnp.zeros((out_size,))

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.weight @ x + self.bias


class MLP(eqx.Module):
    """Fully connected network: ``depth`` hidden layers of ``width`` units."""

    layers: tuple[Linear, ...]
    activation: Callable = eqx.field(static=True)

    def __init__(self, in_size: int, out_size: int, *, key: jax.Array, width: int = 64,
                 depth: int = 4, activation: str = "tanh"):
        sizes = [in_size] + [width] * depth + [out_size]
        keys = jax.random.split(key, len(sizes) - 1)
        self.layers = tuple(Linear(a, b, key=k) for a, b, k in zip(sizes[:-1], sizes[1:], keys))
        self.activation = activations.get(activation)

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


@architectures.register("mlp")
def make_mlp(in_size: int, out_size: int, *, key: jax.Array, width: int = 64, depth: int = 4,
             activation: str = "tanh") -> MLP:
    """Multilayer perceptron (Raissi, Perdikaris & Karniadakis 2019)."""
    return MLP(in_size, out_size, key=key, width=width, depth=depth, activation=activation)
