"""Random programs for differential testing of the reverse pass (used by test_fuzz.py).

``generate(seed)`` writes the source of a function ``f(x, y)`` with assignments, branches,
loops, breaks and continues over a handful of variables, built from bounded operations so
that values stay finite.
"""

import random

UNARY = ["math.sin({})", "math.cos({})", "math.tanh({})", "({}) * 0.5", "-({})",
         "math.exp(math.sin({}))", "math.sqrt(1.0 + ({}) * ({}))", "abs({}) + 1.0"]
BINARY = ["{} + {}", "{} - {}", "{} * {}", "{} / (2.0 + math.sin({}))", "max({}, {})",
          "min({}, {})", "math.atan2({}, 1.5)", "math.hypot({}, {})"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.vars = ["x", "y", "a", "b", "c"]
        self.loop_depth = 0
        self.n_loops = 0

    def atom(self):
        if self.r.random() < 0.15:
            return repr(round(self.r.uniform(-2, 2), 2))
        return self.r.choice(self.vars)

    def expr(self, depth=0):
        if depth > 1 or self.r.random() < 0.3:
            return self.atom()
        if self.r.random() < 0.5:
            t = self.r.choice(UNARY)
            e = self.expr(depth + 1)
            return t.format(*([e] * t.count("{}")))
        t = self.r.choice(BINARY)
        return t.format(*[self.expr(depth + 1) for _ in range(t.count("{}"))])

    def block(self, indent, n):
        lines = []
        for _ in range(n):
            lines += self.stmt(indent)
        return lines or [indent + "pass"]

    def stmt(self, indent):
        k = self.r.random()
        target = self.r.choice(["a", "b", "c", "x", "y"])
        if k < 0.55 or indent.count("    ") > 3:
            op = self.r.choice(["=", "=", "+=", "*="])
            if op == "*=":
                return [f"{indent}{target} *= math.tanh({self.expr()})"]
            return [f"{indent}{target} {op} {self.expr()}"]
        if k < 0.7:
            lines = [f"{indent}if {self.expr()} > {self.expr()}:"]
            lines += self.block(indent + "    ", self.r.randint(1, 3))
            if self.r.random() < 0.6:
                lines += [f"{indent}else:"] + self.block(indent + "    ", self.r.randint(1, 2))
            return lines
        if k < 0.85 and self.n_loops < 4:
            self.n_loops += 1
            i = f"i{self.n_loops}"
            start, stop = self.r.randint(0, 2), self.r.randint(2, 6)
            lines = [f"{indent}for {i} in range({start}, {stop}):"]
            self.loop_depth += 1
            self.vars.append(i)
            body = self.block(indent + "    ", self.r.randint(1, 3))
            if self.r.random() < 0.3:
                body.append(f"{indent}    if {self.expr()} > 1.2:")
                body.append(f"{indent}        {self.r.choice(['break', 'continue'])}")
                body += self.block(indent + "    ", 1)
            self.vars.remove(i)
            self.loop_depth -= 1
            return lines + body
        if k < 0.93 and self.n_loops < 4:
            self.n_loops += 1
            n = f"n{self.n_loops}"
            lines = [f"{indent}{n} = 0", f"{indent}while {n} < {self.r.randint(1, 4)}:"]
            lines += [f"{indent}    {n} += 1"] + self.block(indent + "    ", self.r.randint(1, 3))
            return lines
        if self.loop_depth == 0 and self.r.random() < 0.5:
            return [f"{indent}if {self.expr()} > 0.5:", f"{indent}    return {self.expr()}"]
        return [f"{indent}{target} = {self.expr()}"]


def generate(seed: int) -> str:
    g = Gen(seed)
    lines = ["def f(x, y):", "    a = x * 0.5", "    b = y + 0.1", "    c = 0.3"]
    lines += g.block("    ", g.r.randint(3, 7))
    lines.append(f"    return {g.expr()} + a * b - c")
    return "import math\n\n\n" + "\n".join(lines) + "\n"
