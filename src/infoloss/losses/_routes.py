"""Routes: how a framework adapter takes over the softmax cross-entropy for its arrays.

:func:`infoloss.softmax_cross_entropy` parses its arguments once (the class axis moved
last, the targets' pieces, the data checks) into a :class:`SoftmaxCall`.  NumPy arrays
then go to the compiled kernels; arrays of another library go to the route registered
for that library, if any, and otherwise to the array-API code.  A route is a function
``route(call) -> result or None``: the loss (with :class:`~infoloss.losses.LossAndGrad`
when ``call.return_grad``) computed as the array-API code would compute it, or None where
the route does not apply (then the array-API code runs).

Adapters register downward: :mod:`infoloss.torch` and :mod:`infoloss.jax` import this
module and call :func:`register_route` when they are imported; nothing in
:mod:`infoloss.losses` imports an adapter.  An adapter that is not imported yet is loaded
by the loader that :mod:`infoloss._frameworks` installs (:func:`set_loader`), which holds
the one table from library names to adapter modules.

The kernels count bad entries in the pass that computes the loss; :func:`needed_checks`
turns those counts (:class:`BadCounts`) into the checks that must still run, so good data
costs no second read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .._options import LossSpec
from .._validate import Check
from .._xp import Array
from ._targets import SoftmaxChecks, SoftmaxTargets

__all__ = [
    "BadCounts",
    "Route",
    "SoftmaxCall",
    "kernel_options",
    "library_of",
    "needed_checks",
    "register_route",
    "route_for",
    "set_loader",
]


class SoftmaxCall(NamedTuple):
    """One parsed call of a softmax loss: what the kernels and a route read."""

    z: Array  # the logits, class axis last
    targets: SoftmaxTargets
    checks: SoftmaxChecks  # the data checks, not yet enforced
    spec: LossSpec
    axis: int  # where the class axis was: the gradient goes back there
    return_grad: bool
    grad_out: Any  # the caller's gradient buffer (class axis at ``axis``), or None


Route = Callable[[SoftmaxCall], Any]

_ROUTES: dict[str, Route] = {}
_LOADERS: list[Callable[[str], None]] = []


def library_of(x: Any) -> str:
    """The top-level package of ``x``'s type: the key of the routes (``"torch"``,
    ``"jax"`` or ``"jaxlib"``, ``"numpy"``...)."""
    return type(x).__module__.split(".", 1)[0]


def register_route(library: str, route: Route) -> None:
    """Send the softmax cross-entropy of ``library``'s arrays to ``route``."""
    _ROUTES[library] = route


def set_loader(loader: Callable[[str], None]) -> None:
    """Install ``loader(library)``, called once for a library without a route, which may
    import the adapter that registers one."""
    _LOADERS[:] = [loader]


def route_for(library: str) -> Route | None:
    """The route registered for ``library``, loading its adapter on first use."""
    route = _ROUTES.get(library)
    if route is None and _LOADERS:
        _LOADERS[0](library)
        route = _ROUTES.get(library)
    return route


class BadCounts(NamedTuple):
    """What the kernels counted: bad logits, and bad target entries (probability
    targets) or labels out of range."""

    logits: int
    targets: int

    @classmethod
    def of(cls, forwards: Sequence[Any]) -> BadCounts:
        """The counts of the kernels' forward results, summed over blocks of rows."""
        targets = sum(f.target_stats.nbad for f in forwards if f.target_stats is not None)
        return cls(sum(f.nbad for f in forwards), targets)


def needed_checks(checks: SoftmaxChecks, counts: BadCounts, *, labels: bool) -> list[Check]:
    """The checks still to run once the kernels have counted: an argument's entry checks
    cost a read of its data, so they run only where the kernels counted bad entries; the
    other checks (labels, row masses, weights) always run."""
    logits = list(checks.logits) if counts.logits else []
    targets = list(checks.targets)
    if not labels and counts.targets == 0:
        targets = [c for c in targets if c.kind != "entry"]
    return [*logits, *targets, *checks.weight]


def kernel_options(softcap: float | None, lse_square_scale: float) -> dict[str, Any]:
    """The keyword options of the kernels' entry points (``xent_forward`` and the rest)
    for soft-capping and the z-loss: only those that are set, so that a call without
    them is the call it always was."""
    opts: dict[str, Any] = {}
    if softcap is not None:
        opts["softcap"] = softcap
    if lse_square_scale:
        opts["lse_square_scale"] = lse_square_scale
    return opts
