"""Random whole-array NumPy programs (the Wasm backend's lowering, loops.py): element-wise
chains with broadcasting, reductions along axes, matrix products, views, rebinding.

``generate(seed) -> source`` of ``def f(X, Y, v, u, A, s)`` with X, Y of shape (n, m), v (m,),
u (n,), A (m, k) and a number s; every program is smooth enough near its arguments for
differences, and valid NumPy for every n, m >= 2, k >= 1; some draw arrays of shape (n, k, m)
too."""

from __future__ import annotations

import random

UNARY = ["np.sin({})", "np.tanh({})", "np.exp(0.3 * {})", "np.log1p({0} * {0})",
         "np.sqrt(1.0 + {0} * {0})", "np.square({})", "np.cos({})", "-{}",
         "np.arctan({})", "np.abs({}) + 1.0", "np.sign({0}) * {0}",
         "{0} * np.linalg.norm({0} + 1.5)"]  # (the norm's derivative at 0 is not defined)
OUTSIDE = ["np.cumsum({0}, axis=0)", "{0}.reshape(-1)", "np.sort({1})", "{0}[{0} > 0.0]",
           "np.concatenate([{1}, {1}])", "np.tril_indices(2, 1)[0] * 1.0", "np.unwrap({1})",
           "{0}[[0, 1], 1]"]
# a name rebound in a loop to these and read only after it: each pass's value but the last is
# dead, and its cotangent the number 0.0 (zeros.py) reaches a rule that reshapes it
DEAD = ["np.cumsum({0} * (r + 1.0), axis=0)", "np.reshape(np.ravel({0} * (r + 1.0)), X.shape)",
        "np.concatenate([{0}[:1] * (r + 1.0), {0}[1:]], axis=0)", "np.cumsum({0}, axis=1) * 0.5"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (2.0 + {} ** 2)", "np.maximum({}, {})",
          "np.minimum({}, {})", "np.where({0} > {1}, {0} * {1}, {0} - {1})",
          "np.hypot({}, 1.0 + {})", "np.logaddexp({}, {})"]


# a function of arrays of the program's own, called with an axis (inlined on Wasm: loops.py);
# its local t1 is also the caller's first name (inlined, the two must stay apart)
LSE = """def lse(a, axis):
    t1 = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - t1), axis=axis)) + np.squeeze(t1, axis=axis)
"""


class _Program:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.pool: dict[tuple, list[str]] = {("n", "m"): ["X", "Y"], ("m",): ["v"],
                                             ("n",): ["u"], ("m", "k"): ["A"], (): ["s"]}
        self.count = 0
        self.histories = False
        self.outside = False
        self.loops = 0

    def pick(self, shape: tuple) -> str:
        return self.rng.choice(self.pool[shape])

    def new(self, shape: tuple, expr: str) -> None:
        r = self.rng
        if shape in self.pool and shape != () and r.random() < 0.25:
            # (not a P or D array rebound in a loop: rebound at the top as well, it is
            # refused)
            name = r.choice([n for n in self.pool[shape] if n not in "XYvuA"
                             and n[0] not in "PD"] or ["_"])
            if name != "_":  # rebind a local of this shape
                self.lines.append(f"{name} = {expr}")
                return
        self.count += 1
        name = f"t{self.count}"
        self.lines.append(f"{name} = {expr}")
        self.pool.setdefault(shape, []).append(name)

    def operand(self, shape: tuple) -> str:
        """A name of ``shape`` or something NumPy broadcasts to it."""
        r = self.rng
        choice = r.random()
        if choice < 0.15:
            return self.pick(())
        if choice < 0.25:
            return repr(round(r.uniform(-1.5, 1.5), 2))
        if shape == ("n", "m") and choice < 0.4:
            return r.choice([self.pick(("m",)), f"{self.pick(('n',))}[:, None]",
                             f"{self.pick(('n', 'm'))}.T.T"])
        return self.pick(shape)

    def statement(self) -> None:
        r = self.rng
        kind = r.random()
        shape = r.choice([("n", "m")] * 3 + [("m",), ("n",), ("m", "k")])
        if kind < 0.3:
            self.new(shape, r.choice(UNARY).format(self.pick(shape)))
        elif kind < 0.6:
            a, b = self.pick(shape), self.operand(shape)
            if r.random() < 0.5:
                a, b = b, a
            if a[0].isdigit() or a[0] == "-" and b[0].isdigit():
                a = self.pick(shape)
            self.new(shape, r.choice(BINARY).format(a, b))
        elif kind < 0.75:
            how = r.choice(["sum", "mean", "max", "min", "var", "std"])
            src = self.pick(("n", "m"))
            axis = r.choice([0, 1, -1])
            keep = r.random() < 0.3
            out = {0: ("m",), 1: ("n",), -1: ("n",)}[axis]
            expr = f"np.{how}({src}, axis={axis}{', keepdims=True' if keep else ''})"
            if keep:
                expr = f"{expr}[{'0' if axis == 0 else ':, 0'}]"
            if r.random() < 0.3:
                expr = f"{src}.{how}(axis={axis})"
            if r.random() < 0.15:  # (a function of arrays of the user's: inlined on Wasm)
                expr = f"lse({src}, {axis % 2}) * {self.pick(())}"
            self.new(out, expr)
        elif kind < 0.9:
            form = r.randrange(7)
            if form == 5:
                self.new(("n",), f"np.einsum('ij,j->i', {self.pick(('n', 'm'))}, "
                                 f"{self.pick(('m',))})")
            elif form == 6:
                self.new(("n", "k"), f"np.einsum('ij,jk', {self.pick(('n', 'm'))}, "
                                     f"{self.pick(('m', 'k'))})")
            elif form == 0:
                self.new(("n",), f"{self.pick(('n', 'm'))} @ {self.pick(('m',))}")
            elif form == 1:
                self.new(("n", "k"), f"{self.pick(('n', 'm'))} @ {self.pick(('m', 'k'))}")
            elif form == 2:
                self.new(("m",), f"{self.pick(('n', 'm'))}.T @ {self.pick(('n',))}")
            elif form == 3:
                self.new(("k",), f"np.dot({self.pick(('m',))}, {self.pick(('m', 'k'))})")
            else:
                self.new(("n", "m"), f"np.outer({self.pick(('n',))}, {self.pick(('m',))})")
        elif kind < 0.91:
            self.history()
        elif kind < 0.925:
            self.loop_arrays()
        elif kind < 0.935:
            self.dead_in_loop()
        elif kind < 0.95:
            self.written_copy()
        elif kind < 0.96:  # outside the Wasm subset: refused with the line, never a crash
            self.lines.append("t_out = " + r.choice(OUTSIDE).format(self.pick(("n", "m")),
                                                                   self.pick(("m",))))
            self.outside = True
        else:
            form = r.choice([0, 1, 2, 3, 4, 5, 5, 5, 6, 6])
            if form == 6:  # (index arrays beside a slice, from a triangle's indices)
                self.new(("n",), f"np.sum({self.pick(('n', 'm'))}[:, np.tril_indices("
                                 f"X.shape[1], {r.choice([0, -1])})[{r.randrange(2)}]] * "
                                 f"{self.pick(('n',))}[:, None], axis=1)")
            elif form == 5:  # (three dimensions: broadcast up, reduced or contracted down)
                self.new(("n", "k", "m"), f"{self.pick(('n', 'm'))}[:, None, :] * "
                                          f"{self.pick(('m', 'k'))}.T[None, :, :]")
                t3 = f"t{self.count}"
                self.new(("n", "k"), r.choice([
                    f"np.sum(np.tanh({t3}), axis=2)", f"{t3}.max(axis=-1)",
                    f"np.einsum('nkm,nm->nk', {t3}, {self.pick(('n', 'm'))})",
                    f"np.mean({t3} * {t3}[:, :1, :], axis=(0, 2))[None, :] + {t3}[:, :, 0]"]))
            elif form == 4:  # (slices with a step)
                self.new(("n", "m"), f"{self.pick(('n', 'm'))}[::-1] * {self.pick(('n', 'm'))}"
                                     f"[:, ::-1] + {self.pick(('n', 'm'))}[::2][0]")
            elif form == 3:  # (points counted from the end: their cotangent's scatter)
                self.new(("n",), f"{self.pick(('n', 'm'))}[np.arange(X.shape[0]), "
                                 "np.arange(X.shape[0]) * 0 - 1] * 1.5")
            elif form == 0:
                self.new(("n",), f"{self.pick(('n', 'm'))}[:, 1] * 1.5")
            elif form == 1:
                self.new(("m",), f"{self.pick(('n', 'm'))}[-1] + {self.pick(('n', 'm'))}[0]")
            elif r.random() < 0.5:
                self.new(("m",), f"np.clip({self.pick(('m',))}, -0.8, 0.9)")
            elif r.random() < 0.5:  # traced bounds that may cross (lo > hi: NumPy gives hi)
                self.new(("m",), f"np.clip({self.pick(('m',))}, a_min={self.pick(('m',))} - 0.2, "
                                 f"a_max={self.pick(('m',))} * 0.5)")
            else:  # a traced number as a bound, and as a fill: broadcast (forward mode summed
                # its tangent back to the number's shape, the cotangent's way)
                self.new(("n", "m"), f"np.clip({self.pick(('n', 'm'))}, {self.pick(())} - 0.5, "
                                     f"{self.pick(('m',))} * 0.5 + 0.3) + "
                                     f"np.full_like({self.pick(('n', 'm'))}, "
                                     f"{self.pick(())}, dtype=float)")

    def history(self) -> None:
        """Rows of an array made at the start, written whole (``H[1] = np.tanh(H[0] * v)``),
        also in a loop over the rows."""
        r = self.rng
        if not self.histories:
            self.lines.insert(0, "H = np.zeros((3, X.shape[1]))")
            self.histories = True
        if r.random() < 0.5:
            row = r.randrange(3)
            source = f"H[{row - 1}]" if row and r.random() < 0.6 else self.pick(("m",))
            self.lines.append(f"H[{row}] = {r.choice(UNARY).format(source)} * "
                              f"{self.operand(('m',))}")
        else:
            self.lines.append("for r in range(2):")
            self.lines.append(f"    H[r + 1] = np.tanh(H[r] * {self.pick(('m',))} + "
                              f"{self.pick(('m',))}[0])")
            if r.random() < 0.5:
                self.lines.append(f"    H[r, 0] = H[r, 0] * {self.pick(())}")

    def loop_arrays(self) -> None:
        """Arrays made at each pass of a loop, and one made before it rebound in it
        (``P = P + 0.1 * T``): made once and updated in place on Wasm."""
        r = self.rng
        self.loops += 1
        k = self.loops
        self.lines.append(f"P{k} = {self.pick(('n', 'm'))} * 1.0")
        self.lines.append("for r in range(2):")
        self.lines.append(f"    T{k} = {r.choice(UNARY).format(self.pick(('n', 'm')))} * "
                          f"({self.pick(())} + r)")
        if r.random() < 0.5:
            self.lines.append(f"    B{k} = np.zeros(X.shape[1])")
            self.lines.append(f"    B{k}[0] = T{k}[0, 0] * 2.0")
            self.lines.append(f"    P{k} = P{k} + B{k}")
        self.lines.append(f"    P{k} = P{k} + 0.1 * T{k} * {self.operand(('n', 'm'))}")
        self.lines.append(f"    s = s + np.sum(T{k} * T{k}) * 0.1")
        self.pool[("n", "m")].append(f"P{k}")

    def written_copy(self) -> None:
        """A new array whose tangent and cotangent fold to its operand's (``X * 1.0``: ``dX``),
        then written in place: forward mode wrote into the operand's tangent (the caller's)."""
        r = self.rng
        src = self.pick(("n", "m"))
        self.count += 1
        t = f"t{self.count}"
        self.lines.append(f"{t} = {src} {r.choice(['* 1.0', '+ 0.0', '- 0.0', '/ 1.0'])}")
        where = r.choice(["0", ":, 0", "1:", "::2", "-1, 1:"])
        value = r.choice(UNARY).format(self.pick(("n", "m")))
        self.lines.append(f"{t}[{where}] {r.choice(['=', '+=', '*='])} ({value})[{where}] * "
                          f"{self.pick(())}")
        self.pool[("n", "m")].append(t)

    def dead_in_loop(self) -> None:
        """A name bound before a loop, rebound in it to a reshaping expression of another
        array and read only after it."""
        r = self.rng
        self.loops += 1
        k = self.loops
        self.lines.append(f"D{k} = {self.pick(('n', 'm'))} * 1.0")
        self.lines.append("for r in range(2):")
        self.lines.append(f"    D{k} = {r.choice(DEAD).format(self.pick(('n', 'm')))}")
        self.pool[("n", "m")].append(f"D{k}")

    def result(self) -> str:
        r = self.rng
        terms = []
        for shape, names in self.pool.items():
            for n in names:
                if n[0] in "tPD" and r.random() < 0.7:
                    f = r.choice(["np.sum({})", "np.mean({})", "np.sum(np.sin({}))",
                                  "np.sum({0} * {0})"]) if shape else "{}"
                    terms.append(f.format(n))
        if self.histories:
            terms.append("np.sum(H * H) + np.sum(H[:, 0])")
        if self.outside:
            terms.append("np.sum(t_out)")
        if not terms:
            terms = ["np.sum(X * Y)"]
        return " + ".join(terms)


def generate(seed: int) -> str:
    rng = random.Random(seed)
    p = _Program(rng)
    for _ in range(rng.randint(2, 7)):
        p.statement()
    body = "\n".join(f"    {line}" for line in p.lines)
    return (f"import numpy as np\n\n\n{LSE}\n\ndef f(X, Y, v, u, A, s):\n{body}\n"
            f"    return {p.result()}\n")


SHAPES = {"X": ("n", "m"), "Y": ("n", "m"), "v": ("m",), "u": ("n",), "A": ("m", "k"),
          "s": ()}
