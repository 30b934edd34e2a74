"""Random programs for differential testing of the whole pipeline (used by test_fuzz.py).

``generate(seed)`` writes the source of a module with a function ``f(x, y)`` (its parameters
and variables sometimes named like s2sad's own generated names: ``bx``, ``_t1``, ``_stack``,
``b_out``...) built from bounded operations, so values stay finite: assignments, augmented
assignments, branches, loops with ``break``/``continue``/early returns; with
``features=True`` also lists built and changed through methods (``append``, ``extend``,
``insert``, ``pop``, stores, ``+=``, ``*``) or rebound longer (``ys = ys + [v]``), dicts
(literals, ``dict(...)``, stores, ``get``, ``items()``), NumPy arrays with element stores,
in-place operators, aliases and views written through, keyword calls of NumPy functions and
of a user helper, derivatives of the helper and of a function defined inside ``f`` taken
inside ``f`` (``s2sad.grad``, ``s2sad.jvp``), values through complex intermediates
(``np.abs``, ``np.real`` of complex arrays) and ``max`` / ``min`` of a list.
"""

import random

UNARY = ["math.sin({})", "math.cos({})", "math.tanh({})", "({}) * 0.5", "-({})",
         "math.exp(math.sin({}))", "math.sqrt(1.0 + ({}) * ({}))", "abs({}) + 1.0",
         # a negative constant as a base of ** (printed bare once: -(1.5 ** 2))
         "(-1.5) ** 2 * ({})"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (2.0 + math.sin({}))", "max({}, {})",
          "min({}, {})", "math.atan2({}, 1.5)", "math.hypot({}, {})"]
# values through complex intermediates, and max / min of a list of numbers
VALUE_CALLS = ["float(np.abs(np.asarray({}) * (1.0 + 0.5j)))",
               "float(np.real(np.exp(np.asarray({}) * 1j))) + 1.5",
               "max([{}, {}, 0.25])", "min([{}, {}, {}])"]
KEYWORD_CALLS = ["helper({}, v={})", "helper(v={}, u={})",
                 "float(np.clip({}, a_min=-1.5, a_max={} * 0.1 + 1.5))"]
VOCABULARY = ["bx", "by", "ba", "_t1", "_t2", "_stack", "b_out", "_ret", "_break", "_old_a",
              "_g", "_value", "_height", "_trips", "_i1", "_d1", "_ans", "bs", "_"]

HELPER = '''

def helper(u, v=1.0):
    return u * math.sin(v) + 0.5 * v
'''
# a helper returning a tuple of numbers (two returns), unpacked by the caller
PAIR = '''

def pair(u, v):
    if u > v:
        return u * v, u - v
    return math.sin(u), v * 0.5
'''


class Gen:
    def __init__(self, seed, features=True):
        self.r = random.Random(seed)
        self.features = features
        names = ["x", "y", "a", "b", "c"]
        if self.r.random() < 0.5:  # names from the generated vocabulary
            pool = list(VOCABULARY)
            self.r.shuffle(pool)
            names = [pool.pop() if self.r.random() < 0.6 else n for n in names]
            if len(set(names)) < 5:
                names = ["x", "y", "a", "b", "c"]
        self.params = names[:2]
        self.locals = names[2:]
        self.vars = list(names)
        self.loop_depth = 0
        self.n_loops = 0
        self.lists = {}  # name -> the least length it has at this point
        self.arrays = set()
        self.dicts = {}  # name -> keys it surely has
        self.grids = set()  # lists of two lists of two numbers
        self.tuples = set()  # tuples of two numbers, rebound (carried through loops)
        self.uses_helper = False
        self.uses_pair = False
        self.uses_s2sad = False  # a derivative taken inside f (s2sad.grad / s2sad.jvp)
        self.nested = False  # f defines `inner` (its calls are inlined)
        self.counter = 0

    def fresh(self, stem):
        while True:
            self.counter += 1
            name = f"{stem}{self.counter}"
            if name not in self.vars and name not in VOCABULARY:
                return name

    # -- expressions ----------------------------------------------------------------------
    def atom(self):
        k = self.r.random()
        if k < 0.12:
            return repr(round(self.r.uniform(-2, 2), 2))
        if self.features and k < 0.3:
            extra = self.container_atom()
            if extra is not None:
                return extra
        return self.r.choice(self.vars)

    def container_atom(self):
        choices = []
        for n, size in self.lists.items():
            if size > 0:
                i = self.r.randrange(-size, size)
                choices.append(f"{n}[{i}]")
            choices.append(f"sum({n})" if size > 0 else None)
        for n in self.arrays:
            choices += [f"{n}[{self.r.randrange(3)}]", f"float(np.sum({n} * {n})) * 0.1",
                        f"float(np.sum(a={n}))", f"float(np.dot({n}, b={n})) * 0.1"]
        for n in self.grids:
            choices.append(f"{n}[{self.r.randrange(2)}][{self.r.randrange(-2, 2)}]")
        for n, keys in self.dicts.items():
            if keys:
                choices.append(f"{n}[{self.r.choice(sorted(keys))!r}]")
            choices.append(f"{n}.get('zz', {self.r.choice(self.vars)})")
        choices = [c for c in choices if c]
        return self.r.choice(choices) if choices else None

    def expr(self, depth=0):
        if depth > 1 or self.r.random() < 0.3:
            return self.atom()
        k = self.r.random()
        if self.nested and k > 0.93:  # a call of the function defined inside f
            return f"inner({self.expr(depth + 1)}, {self.expr(depth + 1)})"
        if self.nested and self.features and k > 0.92 and self.r.random() < 0.3:
            # its derivative, taken inside f
            self.uses_s2sad = True
            return f"s2sad.grad(inner)({self.expr(depth + 1)}, {self.expr(depth + 1)})"
        if self.features and k < 0.01 and self.r.random() < 0.3:
            # derivatives of the helper, taken inside f
            self.uses_helper = self.uses_s2sad = True
            e1, e2 = self.expr(depth + 1), self.expr(depth + 1)
            return self.r.choice([f"s2sad.grad(helper, wrt=1)({e1}, {e2})",
                                  f"s2sad.jvp(helper, ({e1}, {e2}), (1.0, 0.0))[1]"])
        if self.features and k < 0.08:
            self.uses_helper = True
            t = self.r.choice(KEYWORD_CALLS)
            return t.format(*[self.expr(depth + 1) for _ in range(t.count("{}"))])
        if self.features and k < 0.1:
            t = self.r.choice(VALUE_CALLS)
            return t.format(*[self.expr(depth + 1) for _ in range(t.count("{}"))])
        if k < 0.5:
            t = self.r.choice(UNARY)
            e = self.expr(depth + 1)
            return t.format(*([e] * t.count("{}")))
        t = self.r.choice(BINARY)
        return t.format(*[self.expr(depth + 1) for _ in range(t.count("{}"))])

    # -- statements -----------------------------------------------------------------------
    def block(self, indent, n):
        lines = []
        for _ in range(n):
            lines += self.stmt(indent)
        return lines or [indent + "pass"]

    def branch_block(self, indent, n):
        """A block that may not run: what it adds to containers is not counted on."""
        lists, dicts, arrays = dict(self.lists), {k: set(v) for k, v in self.dicts.items()}, \
            set(self.arrays)
        grids, tuples = set(self.grids), set(self.tuples)
        lines = self.block(indent, n)
        self.lists = {k: min(v, self.lists.get(k, 0)) for k, v in lists.items()}
        self.dicts = {k: v & self.dicts.get(k, set()) for k, v in dicts.items()}
        self.arrays = arrays
        self.grids = grids
        self.tuples = tuples
        return lines

    def stmt(self, indent):
        k = self.r.random()
        target = self.r.choice(self.locals + self.params)
        deep = indent.count("    ") > 3
        if self.features and k < 0.3 and not deep:
            return self.feature(indent)
        if k < 0.6 or deep:
            if self.r.random() < 0.08:
                other = self.r.choice([n for n in self.locals + self.params if n != target])
                self.uses_pair = True
                return [f"{indent}{target}, {other} = pair({self.expr()}, {self.expr()})"]
            op = self.r.choice(["=", "=", "+=", "*="])
            if op == "*=":
                return [f"{indent}{target} *= math.tanh({self.expr()})"]
            return [f"{indent}{target} {op} {self.expr()}"]
        if k < 0.72:
            lines = [f"{indent}if {self.expr()} > {self.expr()}:"]
            lines += self.branch_block(indent + "    ", self.r.randint(1, 3))
            if self.r.random() < 0.6:
                lines += [f"{indent}else:"] + self.branch_block(indent + "    ",
                                                                self.r.randint(1, 2))
            return lines
        if k < 0.85 and self.n_loops < 4:
            self.n_loops += 1
            i = f"i{self.n_loops}"
            start, stop = self.r.randint(0, 2), self.r.randint(2, 6)
            lines = [f"{indent}for {i} in range({start}, {stop}):"]
            self.loop_depth += 1
            self.vars.append(i)
            body = self.branch_block(indent + "    ", self.r.randint(1, 3))
            if self.r.random() < 0.3:
                body.append(f"{indent}    if {self.expr()} > 1.2:")
                body.append(f"{indent}        {self.r.choice(['break', 'continue'])}")
                body += self.branch_block(indent + "    ", 1)
            self.vars.remove(i)
            self.loop_depth -= 1
            return lines + body
        if k < 0.93 and self.n_loops < 4:
            self.n_loops += 1
            n = f"n{self.n_loops}"
            lines = [f"{indent}{n} = 0", f"{indent}while {n} < {self.r.randint(1, 4)}:"]
            lines += [f"{indent}    {n} += 1"] + self.branch_block(indent + "    ",
                                                                  self.r.randint(1, 3))
            return lines
        if self.loop_depth == 0 and self.r.random() < 0.5:
            return [f"{indent}if {self.expr()} > 0.5:", f"{indent}    return {self.expr()}"]
        return [f"{indent}{target} = {self.expr()}"]

    def feature(self, indent):
        k = self.r.random()
        if k < 0.04:
            return self.state_rows(indent)
        if k < 0.12 or not (self.lists or self.arrays or self.dicts):
            return self.new_container(indent)
        kinds = [("list", n) for n in self.lists] + [("array", n) for n in self.arrays] + \
            [("dict", n) for n in self.dicts] + [("grid", n) for n in self.grids] + \
            [("tuple", n) for n in sorted(self.tuples)]
        kind, n = self.r.choice(kinds)
        if kind == "grid":
            return self.grid_op(indent, n)
        if kind == "tuple":
            return self.tuple_op(indent, n)
        if kind == "list":
            return self.list_op(indent, n)
        if kind == "array":
            return self.array_op(indent, n)
        return self.dict_op(indent, n)

    def state_rows(self, indent):
        """A time-indexed state written element by element (``h[t + w, j] = f(h[t + r, k])``)
        with random row offsets: rows apart (re-read in the adjoint, taping._rows_apart), a
        row ahead, the same row, a row counted from the end (``t - 2`` at ``t = 0``)."""
        h, t, j = self.fresh("hist"), self.fresh("t"), self.fresh("j")
        start, w, r = self.r.randint(0, 2), self.r.choice([0, 1]), self.r.choice([-2, -1, 0, 1])
        col = self.r.choice([j, f"1 - {j}"])
        target = self.r.choice(self.locals)
        lines = [f"{indent}{h} = np.zeros((6, 2))",
                 f"{indent}{h}[0, 0] = {self.expr(1)}",
                 f"{indent}{h}[1, 1] = {self.expr(1)}",
                 f"{indent}for {t} in range({start}, 5):",
                 f"{indent}    for {j} in range(2):",
                 f"{indent}        {h}[{t} + {w}, {j}] = math.tanh(math.sin({h}[{t} + ({r}), "
                 f"{col}]) * {self.expr(1)}) + 0.1"]
        if self.r.random() < 0.5:  # a value stored, then used (read back from its element),
            # its row named once a step (as the lowering of x[t + w] = ... names it)
            v, row = self.fresh("v"), self.fresh("row")
            lines[-2:] = [f"{indent}    {row} = {t} + {w}",
                          f"{indent}    for {j} in range(2):",
                          f"{indent}        {v} = math.tanh(math.sin({h}[{t} + ({r}), {col}]) "
                          f"* {self.expr(1)})",
                          f"{indent}        {h}[{row}, {j}] = {v}",
                          f"{indent}        {target} = {target} * 0.9 + {v} * {v}"]
        if self.r.random() < 0.3:  # the row read written again later in the step
            lines.append(f"{indent}    {h}[{t} + ({r}), 0] = {h}[{t} + ({r}), 0] * 0.5")
        lines.append(f"{indent}{target} = {target} * 0.5 + float(np.sum({h} * {h})) * 0.1")
        return lines

    def new_container(self, indent):
        k = self.r.random()
        if k < 0.08:  # a tuple of numbers, rebound from its own items (a loop carries it)
            n = self.fresh(self.r.choice(["pt", "bpt"]))
            self.tuples.add(n)
            return [f"{indent}{n} = ({self.expr(1)}, {self.expr(1)})"]
        if k < 0.45:
            n = self.fresh(self.r.choice(["ys", "bys", "_t"]))
            size = self.r.randint(0, 3)
            line = f"{indent}{n} = [{', '.join(self.expr(1) for _ in range(size))}]"
            self.lists[n] = size
            return [line]
        if k < 0.55:
            n = self.fresh(self.r.choice(["grid", "bgrid"]))
            line = (f"{indent}{n} = [[{self.expr(1)}, {self.expr(1)}], "
                    f"[{self.expr(1)}, {self.expr(1)}]]")
            self.grids.add(n)
            return [line]
        if k < 0.75:
            n = self.fresh(self.r.choice(["arr", "barr", "_stack"]))
            line = f"{indent}{n} = np.array([{self.expr(1)}, {self.expr(1)}, {self.expr(1)}])"
            self.arrays.add(n)
            return [line]
        n = self.fresh(self.r.choice(["d", "bd", "_d"]))
        if self.r.random() < 0.5:
            line = f"{indent}{n} = {{'p': {self.expr(1)}, 'q': {self.expr(1)}}}"
        else:
            line = f"{indent}{n} = dict(p={self.expr(1)}, q={self.expr(1)})"
        self.dicts[n] = {"p", "q"}
        return [line]

    def list_op(self, indent, n):
        size = self.lists[n]
        k = self.r.random()
        if k < 0.2:
            self.lists[n] = size + 1
            return [f"{indent}{n}.append({self.expr()})"]
        if k < 0.3:
            self.lists[n] = size + 2
            if self.r.random() < 0.5:
                return [f"{indent}{n}.extend([{self.expr(1)}, {self.expr(1)}])"]
            return [f"{indent}{n} += [{self.expr(1)}, {self.expr(1)}]"]
        if k < 0.4:
            self.lists[n] = size + 1
            return [f"{indent}{n}.insert({self.r.choice([-1, 0, 1, 7])}, {self.expr()})"]
        if k < 0.52 and size >= 2:
            self.lists[n] = size - 1
            target = self.r.choice(self.locals)
            where = self.r.choice(["", "0", "-2"])
            return [f"{indent}{target} = {n}.pop({where}) * 0.5"]
        if k < 0.64 and size >= 1:
            return [f"{indent}{n}[{self.r.randrange(-size, size)}] = {self.expr()}"]
        if k < 0.68:
            lo = self.r.randint(0, size)
            hi = self.r.randint(lo, size)
            new = self.r.randint(0, 2)
            self.lists[n] = size - (hi - lo) + new
            values = ", ".join(self.expr(1) for _ in range(new))
            return [f"{indent}{n}[{lo}:{hi}] = [{values}]"]
        if k < 0.78 and size >= 1:
            # another name for the same list, written through
            alias = self.fresh("zs")
            return [f"{indent}{alias} = {n}",
                    f"{indent}{alias}[{self.r.randrange(-size, size)}] = {self.expr()}"]
        if k < 0.8:
            target = self.r.choice(self.locals)
            v = self.fresh("v")
            return [f"{indent}for {v} in {n}:",
                    f"{indent}    {target} = {target} * 0.5 + math.sin({v})"]
        if k < 0.84:
            target = self.r.choice(self.locals)
            i, v = self.fresh("i"), self.fresh("v")
            return [f"{indent}for {i}, {v} in enumerate(reversed({n})):",
                    f"{indent}    {target} = {target} * 0.5 + math.sin({v}) * {i}"]
        if k < 0.87:
            target = self.r.choice(self.locals)
            v = self.fresh("v")
            return [f"{indent}{target} = {target} * 0.5 + sum(math.sin({v}) for {v} in {n})"]
        if k < 0.9:
            m = self.fresh("ys")
            line = f"{indent}{m} = {n} * 2 + [{self.expr(1)}]"
            self.lists[m] = 2 * size + 1
            return [line]
        if k < 0.93:
            # the name rebound to a longer list (reads before it see the shorter one)
            self.lists[n] = size + 1
            return [f"{indent}{n} = {n} + [{self.expr(1)}]"]
        target = self.r.choice(self.locals)
        return [f"{indent}{target} = {target} * 0.5 + sum({n}) * 0.1"]

    def array_op(self, indent, n):
        k = self.r.random()
        if k < 0.3:
            return [f"{indent}{n}[{self.r.randrange(-3, 3)}] = {self.expr()}"]
        if k < 0.5:
            op = self.r.choice(["*=", "+=", "-="])
            return [f"{indent}{n} {op} math.tanh({self.expr(1)})"]
        if k < 0.65:
            alias = self.fresh("w")
            return [f"{indent}{alias} = {n}",
                    f"{indent}{alias} *= 0.5 + 0.1 * math.tanh({self.expr(1)})"]
        if k < 0.8:
            view = self.fresh("view")
            return [f"{indent}{view} = {n}[1:]",
                    f"{indent}{view}[0] = {self.expr()}"]
        if k < 0.9:
            m = self.fresh("arr")
            line = f"{indent}{m} = np.tanh({n} * 0.5) + {self.expr(1)}"
            self.arrays.add(m)
            return [line]
        target = self.r.choice(self.locals)
        return [f"{indent}{target} = {target} * 0.5 + float(np.sum({n} * {n})) * 0.1"]

    def grid_op(self, indent, n):
        i, j = self.r.randrange(2), self.r.randrange(-2, 2)
        k = self.r.random()
        if k < 0.4:
            return [f"{indent}{n}[{i}][{j}] {self.r.choice(['=', '+=', '*='])} {self.expr(1)}"]
        if k < 0.6:
            return [f"{indent}{n}[{i}] = [{self.expr(1)}, {self.expr(1)}]"]
        target = self.r.choice(self.locals)
        row = self.fresh("row")
        return [f"{indent}for {row} in {n}:",
                f"{indent}    {target} = {target} * 0.5 + math.sin({row}[{j}])"]

    def tuple_op(self, indent, n):
        target = self.r.choice(self.locals + self.params)
        k = self.r.random()
        if k < 0.5:
            return [f"{indent}{n} = ({n}[1] * 0.5 + {self.expr(1)}, math.sin({n}[0]))"]
        if k < 0.8:
            return [f"{indent}{target} = {n}[0] * {self.expr(1)} + {n}[1]"]
        other = self.r.choice([v for v in self.locals + self.params if v != target])
        return [f"{indent}{target}, {other} = {n}"]

    def dict_op(self, indent, n):
        k = self.r.random()
        keys = self.dicts[n]
        if k < 0.35:
            key = self.r.choice(["p", "q", "r", "s"])
            keys.add(key)
            return [f"{indent}{n}[{key!r}] = {self.expr()}"]
        if k < 0.5:
            target = self.r.choice(self.locals)
            kv, vv = self.fresh("k"), self.fresh("v")
            return [f"{indent}for {kv}, {vv} in {n}.items():",
                    f"{indent}    {target} = {target} * 0.5 + math.sin({vv})"]
        if k < 0.6:
            target = self.r.choice(self.locals)
            kv = self.fresh("k")
            return [f"{indent}for {kv} in {n}:",
                    f"{indent}    {target} = {target} * 0.5 + math.sin({n}[{kv}])"]
        target = self.r.choice(self.locals)
        return [f"{indent}{target} = {n}.get('r', {self.expr(1)}) * 0.5 + {target} * 0.5"]


def generate(seed: int, features: bool = True) -> str:
    g = Gen(seed, features)
    x, y = g.params
    a, b, c = g.locals
    lines = [f"def f({x}, {y}):", f"    {a} = {x} * 0.5", f"    {b} = {y} + 0.1",
             f"    {c} = 0.3"]
    if g.r.random() < 0.3:
        # a nested function reading f's variables when it runs (late binding)
        g.nested = True
        outer = g.r.choice([a, b, c, x])
        lines += ["    def inner(u, v):", f"        w = u * {outer} + v",
                  "        if w > 0.5:", "            return math.sin(w) * v",
                  "        return w * 0.5"]
    lines += g.block("    ", g.r.randint(3, 8))
    lines.append(f"    return {g.expr()} + {a} * {b} - {c}")
    header = "import math\n\nimport numpy as np\n" + ("\nimport s2sad\n" if g.uses_s2sad else "")
    return header + (HELPER if g.uses_helper else "") + (PAIR if g.uses_pair else "") + \
        "\n\n" + "\n".join(lines) + "\n"
