"""Architectures: networks mapping one input to one output, built per seed.

Every factory takes ``(in_size, out_size, *, key, **options)`` and returns an ``eqx.Module``
that maps an input of shape ``(in_size,)`` to an output of shape ``(out_size,)``. The trainer
vmaps construction over seed keys, so a factory must be a pure function of its key.

Registered kinds (``bench list components`` shows their options):

=============== ==============================================================================
``mlp``          multilayer perceptron (tanh, sin, gelu, swish)
``modified-mlp`` modified MLP with two encoder gates (Wang, Teng & Perdikaris 2021)
``piratenet``    residual-gated PirateNet (Wang, Li, Chen & Perdikaris 2024)
=============== ==============================================================================

Two options are shared by these kinds:

* ``embedding`` — an input embedding applied first (PINN inputs are already rescaled to
  ``[-1, 1]^d``), one table or a list of tables applied in order, from :data:`embeddings`:
  ``{ kind = "fourier", dim = 128, scale = 1.0 }`` (random Fourier features, Tancik et al. 2020;
  Wang, Wang & Perdikaris 2021) or ``{ kind = "periodic", periods = [0.0, 2.0] }`` (exact
  periodicity, Dong & Ni 2021), with periods in the rescaled coordinates and ``0`` meaning "not
  periodic" (a period of 2 is the whole box).
* ``rwf`` — random weight factorisation (Wang et al. 2022) of every dense layer,
  ``W = diag(exp(s)) V`` with ``s ~ N(mean, std)`` trained together with ``V``, e.g.
  ``rwf = { mean = 1.0, std = 0.1 }`` (jaxpi's defaults). At initialisation ``W`` equals the
  unfactorised Glorot draw.

Operator architectures (FNO, DeepONet) live in their own module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import equinox as eqx
import jax
import jax.numpy as jnp

from .._registry import Registry

__all__ = ["architectures", "activations", "embeddings", "Linear", "FactorizedLinear", "MLP",
           "FourierFeatures", "PeriodicEmbedding", "ModifiedMLP", "PirateNet",
           "periods_from_task", "pirate_physics_init"]

architectures: Registry[Callable[..., eqx.Module]] = Registry("architecture")
embeddings: Registry[Callable[..., eqx.Module]] = Registry("embedding")
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


# ---------------------------------------------------------------------------------------------
# Building blocks shared by the zoo: factorised dense layers and input embeddings.


class FactorizedLinear(eqx.Module):
    """Dense layer with random weight factorisation (Wang, Wang, Wang & Perdikaris 2022).

    ``W = diag(exp(s)) V``: each output unit's scale ``exp(s)`` is trained apart from the
    direction ``V``. ``s ~ N(mean, std)`` and ``V = W₀ / exp(s)`` for a Glorot draw ``W₀``, so the
    layer computes exactly the unfactorised layer at initialisation.
    """

    log_scale: jax.Array
    weight: jax.Array
    bias: jax.Array

    def __init__(self, in_size: int, out_size: int, *, key: jax.Array, mean: float = 1.0,
                 std: float = 0.1):
        k_w, k_s = jax.random.split(key)
        w0 = Linear(in_size, out_size, key=k_w).weight
        self.log_scale = mean + std * jax.random.normal(k_s, (out_size,))
        self.weight = w0 / jnp.exp(self.log_scale)[:, None]
        self.bias = jnp.zeros((out_size,))

    def __call__(self, x: jax.Array) -> jax.Array:
        return (jnp.exp(self.log_scale)[:, None] * self.weight) @ x + self.bias


def dense(in_size: int, out_size: int, *, key: jax.Array, rwf: dict | None = None):
    """A :class:`Linear` layer, or a :class:`FactorizedLinear` one when ``rwf`` is given."""
    if rwf is None:
        return Linear(in_size, out_size, key=key)
    unknown = set(rwf) - {"mean", "std"}
    if unknown:
        raise ValueError(f"rwf: unknown option(s) {sorted(unknown)}; use mean and std")
    return FactorizedLinear(in_size, out_size, key=key, mean=float(rwf.get("mean", 1.0)),
                            std=float(rwf.get("std", 0.1)))


class FourierFeatures(eqx.Module):
    """Random Fourier features ``[cos(Bx), sin(Bx)]`` with ``B ~ N(0, scale²)``, ``dim/2 × d``.

    ``B`` is drawn once per seed and never trained: it sits behind ``stop_gradient``, so every
    optimizer sees a zero gradient for it.
    """

    B: jax.Array

    def __init__(self, in_size: int, *, key: jax.Array, dim: int = 128, scale: float = 1.0):
        if dim < 2 or dim % 2:
            raise ValueError(f"fourier embedding: 'dim' must be an even number ≥ 2, got {dim}")
        self.B = scale * jax.random.normal(key, (dim // 2, in_size))

    @property
    def out_size(self) -> int:
        return 2 * self.B.shape[0]

    def __call__(self, x: jax.Array) -> jax.Array:
        z = jax.lax.stop_gradient(self.B) @ x
        return jnp.concatenate([jnp.cos(z), jnp.sin(z)])


class PeriodicEmbedding(eqx.Module):
    """Exact periodicity: periodic input ``x_d`` ↦ ``cos(2πk x_d/P_d), sin(2πk x_d/P_d)``, k ≤ M.

    Non-periodic inputs (period 0) pass through unchanged. Any network of the embedding is then
    exactly ``P_d``-periodic in ``x_d`` (Dong & Ni 2021; used by jaxpi).
    """

    periods: tuple[float, ...] = eqx.field(static=True)
    harmonics: int = eqx.field(static=True)

    def __init__(self, in_size: int, *, key: jax.Array | None = None,
                 periods: list[float] | tuple[float, ...] = (), harmonics: int = 1):
        del key  # deterministic
        periods = tuple(float(p) for p in periods)
        if len(periods) != in_size:
            raise ValueError(f"periodic embedding: 'periods' needs one value per input "
                             f"({in_size}), got {len(periods)}; use 0 for non-periodic inputs")
        if any(p < 0 for p in periods) or not any(p > 0 for p in periods):
            raise ValueError("periodic embedding: periods must be ≥ 0 with at least one > 0")
        if harmonics < 1:
            raise ValueError(f"periodic embedding: 'harmonics' must be ≥ 1, got {harmonics}")
        self.periods = periods
        self.harmonics = int(harmonics)

    @property
    def out_size(self) -> int:
        return sum(2 * self.harmonics if p > 0 else 1 for p in self.periods)

    def __call__(self, x: jax.Array) -> jax.Array:
        parts = []
        k = jnp.arange(1, self.harmonics + 1, dtype=x.dtype)
        for i, p in enumerate(self.periods):
            if p > 0:
                z = 2 * jnp.pi * k * x[i] / p
                parts += [jnp.cos(z), jnp.sin(z)]
            else:
                parts.append(x[i:i + 1])
        return jnp.concatenate(parts)


embeddings.register("fourier")(FourierFeatures)
embeddings.register("periodic")(PeriodicEmbedding)


class Embedding(eqx.Module):
    """A chain of embeddings (possibly empty: the identity)."""

    parts: tuple[eqx.Module, ...]
    out_size: int = eqx.field(static=True)

    def __init__(self, in_size: int, spec, *, key: jax.Array, default_dim: int | None = None):
        if spec is None:
            spec = []
        elif isinstance(spec, dict):
            spec = [spec]
        parts, size = [], in_size
        for k, item in zip(jax.random.split(key, max(1, len(spec))), spec):
            if not isinstance(item, dict) or "kind" not in item:
                raise ValueError("embedding: expected a table with a 'kind' key, "
                                 f"got {item!r}")
            opts = {kk: v for kk, v in item.items() if kk != "kind"}
            if item["kind"] == "fourier" and default_dim is not None:
                opts.setdefault("dim", default_dim)
            part = embeddings.get(item["kind"])(size, key=k, **opts)
            parts.append(part)
            size = part.out_size
        self.parts = tuple(parts)
        self.out_size = size

    def __call__(self, x: jax.Array) -> jax.Array:
        for part in self.parts:
            x = part(x)
        return x


# ---------------------------------------------------------------------------------------------
# MLP with embedding and weight factorisation options.


class EmbeddedMLP(eqx.Module):
    """``MLP ∘ embedding`` with optionally factorised dense layers (see the module docstring)."""

    embedding: Embedding
    layers: tuple[eqx.Module, ...]
    activation: Callable = eqx.field(static=True)

    def __init__(self, in_size, out_size, *, key, width, depth, activation, embedding, rwf):
        k_e, k_l = jax.random.split(key)
        self.embedding = Embedding(in_size, embedding, key=k_e)
        sizes = [self.embedding.out_size] + [width] * depth + [out_size]
        keys = jax.random.split(k_l, len(sizes) - 1)
        self.layers = tuple(dense(a, b, key=k, rwf=rwf)
                            for a, b, k in zip(sizes[:-1], sizes[1:], keys))
        self.activation = activations.get(activation)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.embedding(x)
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)


class ModifiedMLP(eqx.Module):
    """Modified MLP (Wang, Teng & Perdikaris 2021, "gradient pathologies", Sec. 3.2).

    Two encoders ``U = σ(W_u x + b_u)``, ``V = σ(W_v x + b_v)`` of the (embedded) input gate
    every hidden layer: ``Z = σ(W_l H + b_l)``, ``H ← Z ⊙ U + (1 − Z) ⊙ V``; the output layer is
    linear. The gates carry the input's information to every depth multiplicatively.
    """

    embedding: Embedding
    encoder_u: eqx.Module
    encoder_v: eqx.Module
    layers: tuple[eqx.Module, ...]
    activation: Callable = eqx.field(static=True)

    def __init__(self, in_size, out_size, *, key, width, depth, activation, embedding, rwf):
        k_e, k_u, k_v, k_l = jax.random.split(key, 4)
        self.embedding = Embedding(in_size, embedding, key=k_e)
        d0 = self.embedding.out_size
        self.encoder_u = dense(d0, width, key=k_u, rwf=rwf)
        self.encoder_v = dense(d0, width, key=k_v, rwf=rwf)
        sizes = [d0] + [width] * depth + [out_size]
        keys = jax.random.split(k_l, len(sizes) - 1)
        self.layers = tuple(dense(a, b, key=k, rwf=rwf)
                            for a, b, k in zip(sizes[:-1], sizes[1:], keys))
        self.activation = activations.get(activation)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = self.embedding(x)
        u = self.activation(self.encoder_u(x))
        v = self.activation(self.encoder_v(x))
        h = x
        for layer in self.layers[:-1]:
            z = self.activation(layer(h))
            h = z * u + (1 - z) * v
        return self.layers[-1](h)


class PirateBlock(eqx.Module):
    """One PirateNet residual block: three gated dense layers and an adaptive skip ``α``."""

    dense1: eqx.Module
    dense2: eqx.Module
    dense3: eqx.Module
    alpha: jax.Array

    def __init__(self, width: int, *, key, rwf):
        k1, k2, k3 = jax.random.split(key, 3)
        self.dense1 = dense(width, width, key=k1, rwf=rwf)
        self.dense2 = dense(width, width, key=k2, rwf=rwf)
        self.dense3 = dense(width, width, key=k3, rwf=rwf)
        self.alpha = jnp.zeros(())  # the block starts as the identity

    def __call__(self, h, u, v, act):
        f = act(self.dense1(h))
        z1 = f * u + (1 - f) * v
        g = act(self.dense2(z1))
        z2 = g * u + (1 - g) * v
        out = act(self.dense3(z2))
        return self.alpha * out + (1 - self.alpha) * h


class PirateNet(eqx.Module):
    """PirateNet (Wang, Li, Chen & Perdikaris 2024, "PirateNets: physics-informed deep
    learning with residual adaptive networks").

    ``Φ = embedding(x)`` (Fourier features of ``width`` outputs by default), gates
    ``U = σ(W_u Φ)``, ``V = σ(W_v Φ)``, then ``blocks`` residual blocks
    ``H ← α·σ(W₃ z₂) + (1 − α)·H`` with ``α`` trainable and initialised at 0, and a linear output.
    At initialisation every block is the identity, so the network is ``W_out Φ(x) + b_out``: a
    linear model on the embedding, which deepens as the ``α`` grow.
    """

    embedding: Embedding
    encoder_u: eqx.Module
    encoder_v: eqx.Module
    blocks: tuple[PirateBlock, ...]
    output: eqx.Module
    activation: Callable = eqx.field(static=True)

    def __init__(self, in_size, out_size, *, key, width, blocks, activation, embedding, rwf):
        k_e, k_u, k_v, k_b, k_o = jax.random.split(key, 5)
        self.embedding = Embedding(in_size, embedding, key=k_e, default_dim=width)
        if self.embedding.out_size != width:
            raise ValueError(f"piratenet: the embedding outputs {self.embedding.out_size} "
                             f"features but the residual stream has width {width}; they must "
                             "match (end the embedding with a fourier embedding of dim = width)")
        self.encoder_u = dense(width, width, key=k_u, rwf=rwf)
        self.encoder_v = dense(width, width, key=k_v, rwf=rwf)
        self.blocks = tuple(PirateBlock(width, key=k, rwf=rwf)
                            for k in jax.random.split(k_b, blocks))
        self.output = dense(width, out_size, key=k_o, rwf=rwf)
        self.activation = activations.get(activation)

    def features(self, x: jax.Array) -> jax.Array:
        """The residual stream entering the linear output layer (``width`` features)."""
        h = self.embedding(x)
        u = self.activation(self.encoder_u(h))
        v = self.activation(self.encoder_v(h))
        for block in self.blocks:
            h = block(h, u, v, self.activation)
        return h

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.output(self.features(x))


def _check_sizes(**sizes) -> None:
    for name, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"architecture option {name!r} must be a positive integer, got {v!r}")


# Upper limits of the sizes an entry may ask for: far above any published PINN or neural operator
# (widths ≤ 1024, depths ≤ 16), low enough that a typo (depth = 1000 for 10) is an error before
# minutes of compilation rather than after.
MAX_WIDTH = 16384
MAX_DEPTH = 128
_DEPTHS = ("depth", "blocks", "n_layers", "branch_depth", "trunk_depth")


def _number(v) -> bool:
    import math

    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_embedding(spec) -> None:
    import inspect

    from .._registry import did_you_mean

    items = [] if spec is None else [spec] if isinstance(spec, dict) else spec
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"embedding: expected a table or a list of tables, got {spec!r}")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
            raise ValueError(f"embedding: expected a table with a 'kind' key, got {item!r}")
        cls = embeddings.get(item["kind"])  # unknown kinds: "Did you mean …?"
        known = [n for n in inspect.signature(cls).parameters if n not in ("in_size", "key")]
        opts = {k: v for k, v in item.items() if k != "kind"}
        for k in opts:
            if k not in known:
                raise ValueError(f"embedding {item['kind']!r}: unknown option {k!r}."
                                 + did_you_mean(k, known))
        dim = opts.get("dim", 2)
        if isinstance(dim, bool) or not isinstance(dim, int) or not (
                2 <= dim <= MAX_WIDTH and dim % 2 == 0):
            raise ValueError(f"fourier embedding: 'dim' must be an even integer in [2, "
                             f"{MAX_WIDTH}], got {dim!r}")
        scale = opts.get("scale", 1.0)
        if not (_number(scale) and scale > 0):
            raise ValueError(f"fourier embedding: 'scale' must be a number > 0, got {scale!r}")
        periods = opts.get("periods", [1.0])
        if periods == "task":  # the task's declared periods (regimebench.task_wiring)
            periods = [1.0]
        if not (isinstance(periods, (list, tuple)) and all(_number(p) and p >= 0 for p in periods)
                and any(p > 0 for p in periods)):
            raise ValueError("periodic embedding: 'periods' must be \"task\" or a list of numbers "
                             f"≥ 0 with at least one > 0, got {periods!r}")
        _check_sizes(harmonics=opts.get("harmonics", 1))


def check_network_options(*, activation: str = "tanh", embedding=None, rwf=None,
                          padding: int = 0, **sizes) -> None:
    """The option checks of every network factory, run before it builds anything (and alone,
    as ``factory.check_options``, by ``bench validate``, which has no task to build for):
    sizes are positive integers up to :data:`MAX_WIDTH` (:data:`MAX_DEPTH` for depths), the
    activation and embedding kinds exist (with "did you mean"), embedding options and ``rwf``
    are in range. Raises ``ValueError`` or the registries' ``UnknownComponentError``."""
    _check_sizes(**sizes)
    for name, v in sizes.items():
        limit = MAX_DEPTH if name in _DEPTHS else MAX_WIDTH
        if v > limit:
            raise ValueError(f"architecture option {name!r} = {v} is above the limit {limit}")
    if isinstance(padding, bool) or not isinstance(padding, int) or not 0 <= padding <= MAX_WIDTH:
        raise ValueError(f"architecture option 'padding' must be an integer in [0, {MAX_WIDTH}],"
                         f" got {padding!r}")
    if not isinstance(activation, str):
        raise ValueError(f"architecture option 'activation' must be a name, got {activation!r}")
    activations.get(activation)
    _check_embedding(embedding)
    if rwf is not None:
        if not isinstance(rwf, dict) or set(rwf) - {"mean", "std"}:
            raise ValueError(f"rwf: expected a table of mean and std, got {rwf!r}")
        for k, v in rwf.items():
            if not _number(v):
                raise ValueError(f"rwf: {k!r} must be a finite number, got {v!r}")
        if rwf.get("std", 0.1) < 0:
            raise ValueError(f"rwf: 'std' must be ≥ 0, got {rwf['std']!r}")


def checked(check):
    """Declare a factory's option checks: ``check(**options)`` runs before the factory builds,
    and ``factory.check_options`` lets :mod:`regimebench.solver` run it alone."""
    import functools
    import inspect

    def wrap(factory):
        sig = inspect.signature(factory)

        @functools.wraps(factory)
        def build(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            check(**{k: v for k, v in bound.arguments.items()
                     if k not in ("in_size", "out_size", "key")})
            return factory(*args, **kwargs)

        build.check_options = check
        return build

    return wrap


@architectures.register("mlp")
@checked(check_network_options)
def make_mlp(in_size: int, out_size: int, *, key: jax.Array, width: int = 64, depth: int = 4,
             activation: str = "tanh", embedding=None, rwf: dict | None = None) -> eqx.Module:
    """Multilayer perceptron (Raissi, Perdikaris & Karniadakis 2019), optional embedding/RWF."""
    if embedding is None and rwf is None:
        # The plain network, drawn exactly as before the options existed (same seeds, same θ₀).
        return MLP(in_size, out_size, key=key, width=width, depth=depth, activation=activation)
    return EmbeddedMLP(in_size, out_size, key=key, width=width, depth=depth,
                       activation=activation, embedding=embedding, rwf=rwf)


@architectures.register("modified-mlp")
@checked(check_network_options)
def make_modified_mlp(in_size: int, out_size: int, *, key: jax.Array, width: int = 64,
                      depth: int = 4, activation: str = "tanh", embedding=None,
                      rwf: dict | None = None) -> ModifiedMLP:
    """Modified MLP with input-encoder gates (Wang, Teng & Perdikaris 2021)."""
    return ModifiedMLP(in_size, out_size, key=key, width=width, depth=depth,
                       activation=activation, embedding=embedding, rwf=rwf)


@architectures.register("piratenet")
@checked(check_network_options)
def make_piratenet(in_size: int, out_size: int, *, key: jax.Array, width: int = 64,
                   blocks: int = 2, activation: str = "tanh", embedding=None,
                   rwf: dict | None = None) -> PirateNet:
    """PirateNet: Fourier embedding, gated residual blocks with α = 0 at init (Wang et al. 2024)."""
    if embedding is None:
        embedding = {"kind": "fourier", "scale": 1.0}
    return PirateNet(in_size, out_size, key=key, width=width, blocks=blocks,
                     activation=activation, embedding=embedding, rwf=rwf)


# Linear in its output layer at initialisation (every block is the identity): the
# physics-informed initialisation applies (regimebench.physics_init).
make_piratenet.linear_head = True


# ---------------------------------------------------------------------------------------------
# Pieces wired from the task: periods for the exact periodic embedding.


def periods_from_task(task, fallback: Mapping[int, float] | None = None) -> tuple[float, ...]:
    """Periods of ``task``'s inputs in the model's rescaled coordinates, for
    :class:`PeriodicEmbedding` (``0`` for a non-periodic input).

    Pointwise tasks may declare ``periods: ClassVar[Mapping[int, float] | None]`` — input index
    → period in *physical* units. The model sees ``z = 2(x − lower)/(upper − lower) − 1``, so a
    physical period ``P`` of input ``i`` is ``2P/(upper_i − lower_i)`` in ``z`` (the whole box is
    2). ``fallback`` is used when the task declares none.

    Raises ``ValueError`` (one line) when neither gives a period, or an index is out of range.
    """
    declared = getattr(task, "periods", None)
    periods = declared if declared is not None else fallback
    if not periods:
        raise ValueError(f"task {getattr(task, 'problem', task)!r} declares no periods; the "
                         "periodic embedding needs at least one periodic input")
    lower, upper = tuple(task.lower), tuple(task.upper)
    out = [0.0] * len(lower)
    for i, p in periods.items():
        if not 0 <= int(i) < len(lower) or not float(p) > 0:
            raise ValueError(f"periods: input {i} with period {p} is not valid for inputs "
                             f"0..{len(lower) - 1} (periods must be positive)")
        out[int(i)] = 2.0 * float(p) / (upper[int(i)] - lower[int(i)])
    return tuple(out)


def pirate_physics_init(net: PirateNet, inputs: jax.Array, targets: jax.Array,
                        ridge: float = 1e-8) -> PirateNet:
    """PirateNet's physics-informed initialisation: the output layer fitted by least squares.

    Wang, Li, Chen & Perdikaris (2024), Sec. 3.3: at initialisation every block is the identity
    (α = 0), so the network is linear in its output layer, ``net(x) = W Φ(x) + b``; fitting
    ``W, b`` to available data (e.g. the initial condition at t = 0) starts training from a
    network that already satisfies it. This solves

        min_{W, b} Σ_i ‖W Φ(x_i) + b − y_i‖² + ridge · (‖W‖² + b²) · m

    by the normal equations (ridge relative to the number of points ``m``), pure and
    vmappable. Works for any α (it fits the last layer on the current features).

    Arguments:
        net: a :class:`PirateNet`.
        inputs: model inputs ``(m, in_size)`` (rescaled coordinates, as the model sees them).
        targets: ``(m, out_size)`` (or ``(m,)`` for one output).
        ridge: Tikhonov regularisation of the fit.

    Returns:
        ``net`` with its output layer replaced (a factorised layer keeps its scales ``exp(s)``
        and takes ``V = W / exp(s)``).
    """
    feats = jax.vmap(net.features)(inputs)
    y = targets.reshape(targets.shape[0], -1)
    A = jnp.concatenate([feats, jnp.ones((feats.shape[0], 1), feats.dtype)], axis=1)
    gram = A.T @ A + ridge * A.shape[0] * jnp.eye(A.shape[1], dtype=A.dtype)
    coef = jnp.linalg.solve(gram, A.T @ y.astype(A.dtype))  # (width + 1, out)
    w, b = coef[:-1].T, coef[-1]
    out = net.output
    if isinstance(out, FactorizedLinear):
        w = w / jnp.exp(out.log_scale)[:, None]
    out = eqx.tree_at(lambda layer: (layer.weight, layer.bias), out,
                      (w.astype(out.weight.dtype), b.astype(out.bias.dtype)))
    return eqx.tree_at(lambda n: n.output, net, out)
