"""Checkpointing of long loops: the binomial (revolve) schedule and the snapshots it keeps.

A checkpointed loop's adjoint is not one taped forward run and one reversed run: the forward
sweep runs the loop *untaped*, saving the loop-carried state (a *snapshot*) at the start of
some segments; the adjoint sweep then follows a schedule of four actions, in the words of
Griewank's revolve:

* ``("load", k, k)``: the state before iteration ``k`` is put back from its snapshot;
* ``("run", lo, hi)``: iterations ``lo .. hi - 1`` run untaped (the state advances);
* ``("save", k, k)``: a snapshot of the state before iteration ``k`` is taken;
* ``("reverse", lo, hi)``: iterations ``lo .. hi - 1`` run taped, then are reversed -- the
  plain adjoint of that piece of the loop.

The loop is cut into segments of ``length`` iterations (one iteration when a number of
snapshots is asked for); with ``snapshots`` snapshots the schedule reverses ``m`` segments
with the fewest re-runs there are (``C(s + r, s) >= m`` segments with ``r`` re-runs each at
most).  With a memory budget, the segment length and the number of snapshots are chosen so
that the snapshots and one segment's tape fit: one re-run when the budget allows it, more
(binomially) when it does not.  A loop whose length is known only at its end (``while``)
saves online, thinning its snapshots as it goes (``Online``), and reverses each piece between
two snapshots by the offline schedule.

Generated code uses ``Checkpoints`` only through ``forward``, ``save``, ``load`` and
``backward`` (and ``Online.step`` in a ``while`` loop).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from .errors import S2SADError

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}

# what one value costs on the Python tape: a list slot, and a float object (tuples: their
# header and a slot per item)
_SLOT = 8
_NUMBER = 32
_TUPLE = 48


def checkpointed(iterable, snapshots: int | None = None, memory: int | str | None = None):
    """Mark a loop for checkpointing: ``for t in s2sad.checkpointed(range(n), snapshots=100)``.

    Run as plain Python it is the iterable itself.  In a function s2sad differentiates, the
    loop's adjoint keeps at most ``snapshots`` copies of the loop-carried state (or what fits
    in ``memory`` bytes, e.g. ``"64MB"``) and re-runs iterations from them (revolve)."""
    return iterable


def parse_memory(memory: int | str | None) -> int | None:
    """Bytes from ``64MB``, ``"1.5 GiB"``, ``"512k"`` or an int (None stays None)."""
    if memory is None:
        return None
    if isinstance(memory, bool):
        raise S2SADError(f"memory={memory!r}: give a number of bytes or a string like '64MB'")
    if isinstance(memory, (int, float)):
        value = memory
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", str(memory))
        unit = m.group(2).lower() if m else None
        if unit not in _UNITS:
            raise S2SADError(f"memory={memory!r}: give a number of bytes or a string like "
                             "'64MB' (units: B, KB, MB, GB; KiB, MiB, GiB)")
        value = float(m.group(1)) * _UNITS[unit]
    if not value > 0:
        raise S2SADError(f"memory={memory!r}: the budget must be positive")
    return int(value)


def size_of(value: Any) -> int:
    """About how many bytes a snapshot of ``value`` takes."""
    if isinstance(value, np.ndarray):
        return value.nbytes + 112
    if isinstance(value, (list, tuple)):
        return sys.getsizeof(value) + sum(size_of(v) for v in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(v) for v in value.values())
    return sys.getsizeof(value)


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, dict)):
        import copy

        return copy.deepcopy(value)
    return value


class _Kept:
    """A snapshot of an array, list or dict: the object itself (names and the tape may hold
    it) and a copy of its contents then."""

    __slots__ = ("obj", "contents")

    def __init__(self, obj: Any) -> None:
        self.obj, self.contents = obj, _copy(obj)


def _refill(obj: Any, saved: Any) -> None:
    """Put a snapshot's contents back into the object itself (other names may share it;
    the snapshot stays as it was, for a later load)."""
    if isinstance(obj, np.ndarray):
        obj[...] = saved
    elif isinstance(obj, list):
        obj[:] = _copy(saved)
    elif isinstance(obj, dict):
        obj.clear()
        obj.update(_copy(saved))
    else:  # pragma: no cover - the transformation saves only arrays, lists and dicts so
        raise TypeError(f"cannot restore a {type(obj).__name__} in place")


# -- the schedule ---------------------------------------------------------------------------

def repetitions(steps: int, snapshots: int) -> int:
    """The fewest re-runs ``r`` with which ``snapshots`` snapshots reverse ``steps`` steps:
    the least ``r`` with ``C(snapshots + r, snapshots) >= steps``."""
    if steps <= 1:
        return 0
    if snapshots <= 0:
        return steps - 1
    r = 0
    while math.comb(snapshots + r, snapshots) < steps:
        r += 1
    return r


def split(steps: int, free: int) -> int:
    """Where (after how many of ``steps``) to take the next snapshot when ``free`` slots are
    left besides the one holding the start, so that the reversal re-runs the fewest steps:
    ``max(C(s + r - 2, s), steps - C(s + r - 1, s - 1))`` with ``s = free + 1`` and ``r`` the
    repetitions ``s`` snapshots need (checked against the dynamic programme in the tests)."""
    if free <= 0 or steps <= 1:
        return 0
    s = free + 1
    r = repetitions(steps, s)
    m = max(math.comb(s + r - 2, s) if r >= 2 else 1, steps - math.comb(s + r - 1, s - 1))
    return min(max(m, 1), steps - 1)


def schedule(steps: int, snapshots: int) -> Iterator[tuple[str, int, int]]:
    """The whole binomial schedule over ``steps`` unit steps with ``snapshots`` snapshots
    (the one of the start included): first the forward run (``save``/``run`` to the end),
    then the reversal (``load``, ``run``, ``save``, ``reverse``)."""
    if steps <= 0:
        return
    if snapshots < 1:
        raise ValueError("a schedule needs one snapshot at least")
    # the forward run: from each snapshot, advance to the next; the last piece runs to the end
    yield ("save", 0, 0)
    chain = [(0, snapshots - 1)]  # (where a snapshot is, slots free beyond it)
    at, free = 0, snapshots - 1
    while steps - at > 1 and free > 0:
        m = split(steps - at, free)
        yield ("run", at, at + m)
        yield ("save", at + m, at + m)
        at, free = at + m, free - 1
        chain.append((at, free))
    yield ("run", at, steps)
    # the reversal: each snapshot, deepest first, covers the steps up to the one after it
    end = steps
    for start, free in reversed(chain):
        yield from _reverse(start, end, free, loaded=False)
        end = start


def _reverse(a: int, b: int, free: int, loaded: bool) -> Iterator[tuple[str, int, int]]:
    """Reverse steps ``a .. b - 1``, the state before ``a`` being a snapshot (the current
    state when ``loaded``), ``free`` slots left for more."""
    while b > a:
        if b - a == 1:
            if not loaded:
                yield ("load", a, a)
            yield ("reverse", a, b)
            return
        if free == 0:
            for k in range(b - 1, a - 1, -1):
                if not loaded:
                    yield ("load", a, a)
                loaded = False
                if k > a:
                    yield ("run", a, k)
                yield ("reverse", k, k + 1)
            return
        m = split(b - a, free)
        if not loaded:
            yield ("load", a, a)
        yield ("run", a, a + m)
        yield ("save", a + m, a + m)
        yield from _reverse(a + m, b, free - 1, loaded=True)
        b, loaded = a + m, False


def runs(steps: int, snapshots: int) -> int:
    """How many steps the schedule runs untaped, the forward run included."""
    return sum(hi - lo for op, lo, hi in schedule(steps, snapshots) if op == "run")


# -- the object generated code uses ---------------------------------------------------------

class Checkpoints:
    """The snapshots of one run of a checkpointed loop of ``n`` iterations and its schedule.

    ``snapshots`` (a count) cuts the loop into single iterations; ``memory`` (bytes) chooses
    the segment length and the count from ``state`` (the loop-carried values, measured) and
    ``tape`` (the values one iteration pushes: numbers, tuples, arrays); with neither, the
    loop is cut into about sqrt(n) segments of about sqrt(n) iterations."""

    def __init__(self, n: int | None, state: tuple = (), tape: tuple = (0, 0, 0),
                 snapshots: int | None = None, memory: int | str | None = None,
                 where: tuple = ()) -> None:
        self.n = n
        self.online = n is None  # (a while loop, or one that may exit early)
        self.where = where
        self.saved: dict[int, tuple] = {}
        self._after_forward: dict[int, tuple] | None = None  # (the forward run's snapshots)
        memory = parse_memory(memory)
        if snapshots is not None and (isinstance(snapshots, bool) or not isinstance(
                snapshots, int) or snapshots < 1):
            raise S2SADError(f"snapshots={snapshots!r}: give a whole number, 1 or more", *where)
        if self.online:
            self._online(snapshots, memory, state, tape)
            return
        if snapshots is not None:
            self.length, self.snapshots = 1, snapshots
        elif memory is not None:
            self.length, self.snapshots = self._fit(memory, state, tape)
        else:
            self.length = max(1, math.isqrt(max(n - 1, 0)) + 1)
            self.snapshots = max(1, -(-n // self.length))
        self.steps = -(-n // self.length) if n > 0 else 0
        self._plan = schedule(self.steps, self.snapshots)

    # -- a loop whose length is known at its end ------------------------------------------
    def _online(self, snapshots, memory, state, tape) -> None:
        """Snapshots every ``spacing`` iterations, at most half the slots; when they are
        full, every other one is dropped and the spacing doubles.  The other half of the
        slots serve the offline schedule of each piece between two snapshots."""
        if snapshots is not None:
            self.length, total = 1, snapshots
        elif memory is not None:
            self.length, total = self._fit(memory, state, tape, unknown=True)
        else:
            self.length, total = 1024, 64
        self.total = max(total, 2)
        self.cap = max(self.total // 2, 1)
        self.spacing = self.length
        self.next = 0

    def end(self, n: int) -> None:
        """The loop ran ``n`` iterations: the reversal can be planned."""
        self.n = n

    def _online_plan(self) -> Iterator[tuple[str, int, int]]:
        marks = sorted(self.saved) + [self.n]
        for j in range(len(marks) - 2, -1, -1):
            start, stop = marks[j], marks[j + 1]
            free = self.total - (j + 1)  # the pieces before keep theirs
            steps = -(-(stop - start) // self.length)
            plan = schedule(steps, max(free, 0) + 1)
            next(plan)  # ("save", 0, 0): it is the online snapshot
            yield ("load", start, start)
            for op, lo, hi in plan:
                yield (op, min(start + lo * self.length, stop),
                       min(start + hi * self.length, stop))

    def _fit(self, memory: int, state: tuple, tape: tuple,
             unknown: bool = False) -> tuple[int, int]:
        """(segment length, snapshots) for a budget of ``memory`` bytes (``unknown``: the
        number of iterations is not known yet).  A tenth of the budget is left for what the
        estimate does not see: the tape list's spare capacity, the allocator's rounding."""
        memory = int(memory * 0.9)
        # (an array, list or dict: the object kept alive and a copy of its contents)
        snap = _TUPLE + sum(size_of(v) * (2 if isinstance(v, (np.ndarray, list, dict)) else 1)
                            for v in state)
        largest = max([v.nbytes for v in state if isinstance(v, np.ndarray)], default=0)
        numbers, tuples, arrays = tape
        step = (_SLOT * (numbers + arrays) + _NUMBER * numbers + _TUPLE * tuples
                + arrays * (largest + 112)) or _SLOT
        n = max(self.n or 1, 1)
        if not unknown and n * step <= memory - snap:  # the whole tape fits: one segment
            return n, 1
        # one re-run: s snapshots and a segment of L iterations with s * L >= n
        disc = memory * memory - 4 * n * snap * step
        if disc >= 0 and not unknown:
            length = int((memory + math.sqrt(disc)) / (2 * step))
            length = max(1, min(length, n))
            while length > 1 and -(-n // length) * snap + length * step > memory:
                length -= 1
            snapshots = -(-n // length)
            if snapshots * snap + length * step <= memory:
                return length, snapshots
        # more re-runs: half the budget for the snapshots, half for one segment's tape
        length = max(1, int(memory / 2 // step))
        snapshots = int(memory / 2 // snap)
        if snapshots < 1 or memory < snap + step:
            raise S2SADError(
                f"memory={memory} bytes is too small for this loop: a snapshot of its "
                f"state takes {snap} bytes, the tape of one iteration {step} bytes",
                *self.where, hint="give a larger budget")
        return length, snapshots

    def _span(self, lo: int, hi: int) -> tuple[int, int]:
        return lo * self.length, min(hi * self.length, self.n)

    def _forward_ops(self, plan) -> Iterator[tuple[int, int]]:
        for op, lo, hi in plan:
            if op == "run":
                yield self._span(lo, hi)
                if hi >= self.steps:
                    return

    def forward(self) -> Iterator[tuple[int, int]]:
        """The forward run's segments ``(lo, hi)``; the state before each ``lo`` is saved."""
        return self._forward_ops(self._plan)

    def backward(self) -> Iterator[tuple[str, int, int]]:
        """The rest of the schedule, in iterations: ``load``, ``run``, ``save``, ``reverse``.
        Each call starts again from the snapshots of the forward run (a pullback may run
        several times)."""
        first = self._after_forward is None
        if first:
            self._after_forward = dict(self.saved)
        else:
            self.saved = dict(self._after_forward)
        if self.online:
            yield from self._online_plan()
            return
        plan = self._plan if first else schedule(self.steps, self.snapshots)
        if not first:  # (past its forward run, which the snapshots already reflect)
            for _ in self._forward_ops(plan):
                pass
        for op, lo, hi in plan:
            yield (op, *self._span(lo, hi))

    def save(self, k: int, *values: Any) -> None:
        """Keep the state before iteration ``k``: numbers as they are, an array, list or
        dict as the object itself and a copy of its contents (so that loading gives back the
        same object -- other names, and the tape, may hold it -- with those contents)."""
        self.saved[k] = tuple(_Kept(v) if isinstance(v, (np.ndarray, list, dict)) else v
                              for v in values)
        if self.n is None:  # online, during the forward run
            while len(self.saved) > self.cap:
                self.spacing *= 2
                for j in [j for j in self.saved if j % self.spacing]:
                    del self.saved[j]
            self.next = (k // self.spacing + 1) * self.spacing

    def load(self, k: int, *objects: Any) -> Any:
        """The state before iteration ``k``: the values of the names the loop rebinds, each
        array, list or dict of the state refilled in place first (``objects``: those the loop
        only changes in place, at the end of the saved tuple)."""
        saved = self.saved[k]
        rebound = len(saved) - len(objects)
        values = []
        for item in saved:
            if isinstance(item, _Kept):
                _refill(item.obj, item.contents)
                item = item.obj
            values.append(item)
        self._drop_after(k)
        return values[0] if rebound == 1 else tuple(values[:rebound])

    def _drop_after(self, k: int) -> None:
        """Snapshots beyond ``k`` are never read again once ``k`` is loaded."""
        for j in [j for j in self.saved if j > k]:
            del self.saved[j]
