"""Source -> IR.

``parse_function(f)`` reads ``f``'s source (``inspect.getsource``, dedented), parses it with
gast, refuses what s2sad does not differentiate (with the user's file, line and source line),
lowers early jumps (``lower.py``) and flattens every expression to administrative normal form:
each statement applies one operation to names and constants (``_t1 = x * y``).  Names that are
not local to the function are resolved in its globals, closure and builtins; they stay in the
IR as written and are constants for the gradient.  Calls to other user functions get their
keyword and default arguments bound to positions here, so later passes see plain calls.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import linecache
import re
import textwrap
import types
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gast

from . import ir
from .checkpoint import checkpointed
from .closures import made_functions
from .errors import S2SADError
from .guards import MISSING_READ, Guard, cell_contents
from .ir import Namer
from .ir import at as _at
from .ir import name as _name
from .lower import lower_jumps

MISSING = MISSING_READ  # what resolve() returns for a name that denotes nothing

REFUSED = {
    gast.Try: ("try/except", "move the try/except outside the function you differentiate"),
    gast.With: ("with statement", "move the with block outside the differentiated function"),
    gast.AsyncWith: ("async with", "s2sad differentiates ordinary synchronous functions"),
    gast.AsyncFor: ("async for", "s2sad differentiates ordinary synchronous functions"),
    gast.AsyncFunctionDef: ("async def", "s2sad differentiates ordinary synchronous functions"),
    gast.Await: ("await", "s2sad differentiates ordinary synchronous functions"),
    gast.Yield: ("yield (generator)", "return a value instead of yielding it"),
    gast.YieldFrom: ("yield from (generator)", "return a value instead of yielding it"),
    gast.Global: ("global statement", "pass the value as an argument and return the result"),
    gast.Nonlocal: ("nonlocal statement", "pass the value as an argument and return the result"),
    gast.Delete: ("del statement", "assign a new value instead of deleting"),
    gast.ClassDef: ("nested class", "define the class at module level"),
    gast.FunctionDef: ("nested function definition", "define the function at module level; "
                       "s2sad differentiates through calls to it"),
    gast.Lambda: ("lambda", "define a named function at module level and call it"),
    gast.SetComp: ("set comprehension", "write it as a for loop"),
    gast.DictComp: ("dict comprehension", "write it as a for loop"),
    gast.NamedExpr: ("assignment expression (:=)", "assign in a statement of its own"),
    gast.Starred: ("starred expression (*args)", "pass the arguments one by one"),
    gast.Import: ("import inside the function", "import at module level"),
    gast.ImportFrom: ("import inside the function", "import at module level"),
    gast.Raise: ("raise statement", "check inputs before calling the differentiated function"),
    gast.Set: ("set literal", "use a tuple or a list"),
}
if hasattr(gast, "Match"):
    REFUSED[gast.Match] = ("match statement", "use if/elif/else")

_IMPLICIT = {builtins.eval, builtins.exec, builtins.compile, builtins.locals, builtins.vars,
             builtins.globals, builtins.getattr, builtins.setattr, builtins.delattr,
             builtins.__import__}

MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear",
                    "update", "setdefault", "popitem", "fill", "resize", "add", "discard",
                    "itemset", "put"}


@dataclass
class FunctionIR:
    """A function in IR form plus what later passes need to know about the original."""

    func: Callable
    name: str
    params: list[str]
    body: list = field(repr=False)
    filename: str
    firstline: int
    file_lines: list[str] = field(repr=False)
    closure: dict[str, Any]
    locals: set[str]
    namer: Namer = field(default_factory=Namer, repr=False)
    meta: dict = field(default_factory=dict, repr=False)
    reads: dict = field(default_factory=dict, repr=False)  # path -> object (guards.py)
    guard: Any = field(default=None, repr=False)  # the reads hold (set by parse_function)

    # -- locations and errors -------------------------------------------------------------
    def line_of(self, node) -> int:
        return getattr(node, "lineno", 1) + self.firstline - 1

    def error(self, what: str, node=None, hint: str | None = None) -> S2SADError:
        return make_error(self.in_user_terms(what), self.filename, self.file_lines,
                          self.firstline, node, self.in_user_terms(hint))

    def in_user_terms(self, text: str | None) -> str | None:
        """``text`` with each temporary of the normal form replaced by the expression of the
        user's that it holds (``'_t2'`` -> ``'a[i:i + 1]'``)."""
        origins = self.meta.get("origin")
        if not text or not origins:
            return text
        return _WORD.sub(lambda m: origins.get(m.group(0), m.group(0)), text)

    # -- names ----------------------------------------------------------------------------
    def resolve(self, node) -> Any:
        """The object a non-local name or attribute chain denotes now, or MISSING.  Every
        lookup is recorded in ``reads`` (what the transformation depends on: guards.py)."""
        path = self._path(node)
        if path is None:
            return MISSING
        if path[0] == "made":  # a derivative taken inside (nested.inner_derivatives)
            return self.meta["made"][path[1]]
        obj = self._lookup(path)
        self.reads.setdefault(path, obj)
        return obj

    def _path(self, node) -> tuple | None:
        if isinstance(node, gast.Name):
            if node.id in self.meta.get("made", ()):
                return ("made", node.id)
            if node.id in self.locals:
                return None
            if node.id in self.func.__code__.co_freevars:
                return ("closure", node.id)
            if node.id in self.func.__globals__:
                return ("global", node.id)
            return ("builtin", node.id)
        if isinstance(node, gast.Attribute):
            base = self._path(node.value)
            return None if base is None else base + (node.attr,)
        return None

    def _lookup(self, path: tuple) -> Any:
        scope, name = path[0], path[1]
        if len(path) > 2:
            base = self._lookup(path[:-1])
            self.reads.setdefault(path[:-1], base)
            return MISSING if base is MISSING else getattr(base, path[-1], MISSING)
        if scope == "closure":
            cell = self.func.__closure__[self.func.__code__.co_freevars.index(name)]
            try:
                return cell.cell_contents
            except ValueError:  # not bound yet
                return MISSING
        if scope == "global":
            return self.func.__globals__.get(name, MISSING)
        return getattr(builtins, name, MISSING)

    def is_local(self, node) -> bool:
        return isinstance(node, gast.Name) and node.id in self.locals


_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def make_error(what, filename, file_lines, firstline, node, hint) -> S2SADError:
    lineno = getattr(node, "lineno", None)
    line = None
    if lineno is not None:
        lineno = lineno + firstline - 1
        if 0 < lineno <= len(file_lines):
            line = file_lines[lineno - 1]
    return S2SADError(what, filename, lineno, line, hint)


def _source_of(f: Callable) -> tuple[str, str, int, list[str]]:
    if not isinstance(f, types.FunctionType):
        kind = "a builtin" if isinstance(f, types.BuiltinFunctionType) else type(f).__name__
        raise S2SADError(f"cannot differentiate {f!r}: it is {kind}, not a Python function "
                         "with source", hint="pass a function defined with def; register a rule "
                         "for other callables with s2sad.adjoint")
    if f.__name__ == "<lambda>":
        code = f.__code__
        raise S2SADError("cannot differentiate a lambda", code.co_filename, code.co_firstlineno,
                         linecache.getline(code.co_filename, code.co_firstlineno),
                         "define the function with def")
    code = f.__code__
    filename = code.co_filename
    try:
        lines, firstline = _def_lines(f) or inspect.getsourcelines(f)
    except (OSError, TypeError) as exc:
        raise S2SADError(f"cannot read the source of {f.__qualname__} ({exc})", filename,
                         code.co_firstlineno, None,
                         "define it in a file (not in an interactive prompt or exec), or "
                         "register a rule with s2sad.adjoint") from None
    file_lines = linecache.getlines(filename) or lines
    return textwrap.dedent("".join(lines)), filename, firstline, file_lines


def _lambda_def(f: Callable) -> tuple:
    """A lambda as ``def anonymous(params): return body`` (the ``__s2sad_def__`` form: the
    node, at the lines of the file it is in), found in its file by its line and parameters;
    refused when its line holds several such lambdas."""
    code = f.__code__
    filename, line = code.co_filename, code.co_firstlineno
    index = _file_index(filename)
    lines = index[0] if index is not None else []
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = [n for n in (index[2].get(line, ()) if index is not None else ())
             if [a.arg for a in n.args.posonlyargs + n.args.args + n.args.kwonlyargs] ==
             params]
    if len(found) != 1:
        why = "its source cannot be read" if not found else \
            "several lambdas with these parameters are on its line"
        raise S2SADError(f"cannot differentiate this lambda: {why}", filename, line,
                         linecache.getline(filename, line) or None,
                         "define the function with def")
    lam = found[0]
    node = ast.FunctionDef(name="anonymous", args=lam.args,
                           body=[ast.copy_location(ast.Return(value=lam.body), lam.body)],
                           decorator_list=[], returns=None, type_comment=None, type_params=[])
    node = gast.ast_to_gast(ast.copy_location(node, lam))
    return node, filename, 1, lines


_FILE_DEFS: dict[str, tuple[list[str], dict, dict]] = {}


def _file_index(filename: str) -> tuple[list[str], dict, dict] | None:
    """A source file's lines, its defs ((first line, name) -> last line) and its lambdas (line
    -> nodes), from one parse of it kept while linecache holds the same lines; None if the file
    cannot be read or parsed."""
    linecache.checkcache(filename)  # (as inspect does: an edited file is read again)
    lines = linecache.getlines(filename)
    if not lines:
        return None
    cached = _FILE_DEFS.get(filename)
    if cached is None or cached[0] is not lines:
        defs: dict = {}
        lambdas: dict = {}
        try:
            tree = ast.parse("".join(lines))
        except (SyntaxError, ValueError):
            return None
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                defs[(first, node.name)] = node.end_lineno
            elif isinstance(node, ast.Lambda):
                lambdas.setdefault(node.lineno, []).append(node)
        cached = _FILE_DEFS[filename] = (lines, defs, lambdas)
    return cached


def _def_lines(f: Callable) -> tuple[list[str], int] | None:
    """The lines of ``f``'s ``def`` (decorators included) and the first one's number, found
    in its file parsed once (``inspect.getsourcelines`` tokenizes the function in pure Python
    on every call, a tenth of the time of a short transformation); None if the file does not
    hold it where the code says."""
    code = f.__code__
    index = _file_index(code.co_filename)
    end = index[1].get((code.co_firstlineno, f.__name__)) if index is not None else None
    if end is None:
        return None
    return index[0][code.co_firstlineno - 1:end], code.co_firstlineno


_PARSED: weakref.WeakKeyDictionary[Callable, FunctionIR] = weakref.WeakKeyDictionary()


def parse_function(f: Callable) -> FunctionIR:
    """Parse and normalize ``f``; raise S2SADError for anything s2sad refuses.  The IR is
    cached per function object while what it read from outside still holds (guards.py);
    later passes read it and never write it."""
    try:
        cached = _PARSED.get(f)
    except TypeError:
        cached = None
    if cached is not None and cached.guard():
        return cached
    with ir.paused_gc():
        try:
            fir = _parse_function(f)
        except RecursionError:
            error = nesting_error(f)
            if error is None:
                raise  # not this function's nesting: the stack was deep already (a call chain)
            raise error from None
    fir.guard = Guard([fir])
    try:
        _PARSED[f] = fir
    except TypeError:
        pass
    return fir


# an expression nested deeper than this (counting sub-expressions: ``f(a + b)`` is 3 deep)
# is what a RecursionError in the passes is blamed on; shallower ones point at a call chain
MAX_NESTING = 100


def nesting_error(f: Callable) -> S2SADError | None:
    """The refusal of ``f`` for an expression nested deeper than MAX_NESTING, at the line of
    its deepest sub-expression; None if ``f`` nests no deeper than that."""
    try:
        source, filename, firstline, file_lines = _source_of(f)
        tree = ast.parse(source)
    except (S2SADError, SyntaxError, ValueError, RecursionError):
        return None
    deepest, where = 0, None
    todo = [(tree, 0)]
    while todo:  # (iterative: the tree is deep)
        node, depth = todo.pop()
        if isinstance(node, ast.expr):
            depth += 1
            if depth > deepest:
                deepest, where = depth, node
        todo.extend((child, depth) for child in ast.iter_child_nodes(node))
    if deepest <= MAX_NESTING:
        return None
    return make_error(f"expression nested too deeply to differentiate ({deepest} "
                      "sub-expressions deep)", filename, file_lines, firstline, where,
                      "split it into several assignments")


def call_chain_error(chain: list) -> S2SADError:
    """The refusal of a chain of user functions calling each other too deeply to transform
    (each callee is differentiated in turn, recursively), at the outermost call."""
    outer = chain[0]
    names = [getattr(g, "__name__", "?") for g in chain]
    shown = " -> ".join(names[:3] + ["..."] + names[-2:]) if len(names) > 6 else \
        " -> ".join(names)
    node = None
    try:
        source, filename, firstline, file_lines = _source_of(outer)
        for n in ast.walk(ast.parse(source)):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and len(names) > 1 \
                    and n.func.id == names[1]:
                node = n
                break
    except (S2SADError, SyntaxError, ValueError):
        filename, file_lines, firstline = outer.__code__.co_filename, [], 1
    return make_error(f"calls nested too deeply to differentiate: {shown} ({len(names)} "
                      "functions deep)", filename, file_lines, firstline, node,
                      "s2sad differentiates each called function in turn; register a rule "
                      "(s2sad.adjoint) for an inner one, or call fewer functions deep")


def _parse_function(f: Callable) -> FunctionIR:
    given = getattr(f, "__s2sad_def__", None)
    if given is None and isinstance(f, types.FunctionType) and f.__name__ == "<lambda>":
        given = _lambda_def(f)
    if given is not None:  # a def (or lambda) of another function's, lifted (inner.py)
        node, filename, firstline, file_lines = given
        module = gast.Module(body=[ir.clone(node)], type_ignores=[])
    else:
        source, filename, firstline, file_lines = _source_of(f)
        try:
            module = gast.parse(source)
        except SyntaxError as exc:
            lineno = (exc.lineno or 1) + firstline - 1
            raise S2SADError(f"syntax error: {exc.msg}", filename, lineno,
                             exc.text or None, "fix the syntax of the function") from None
    fdef = module.body[0]
    if not isinstance(fdef, gast.FunctionDef):
        raise S2SADError("expected a function definition", filename, firstline,
                         file_lines[firstline - 1] if file_lines else None)
    for deco in fdef.decorator_list:
        # decorators from s2sad itself are fine; others change what the function means
        deco_obj = None
        try:
            deco_obj = eval(compile(gast.gast_to_ast(gast.Expression(body=deco)), "", "eval"),
                            f.__globals__)
        except Exception:
            pass
        if getattr(deco_obj, "__module__", "").split(".")[0] != "s2sad":
            raise make_error("decorated function", filename, file_lines, firstline, deco,
                             "differentiate the undecorated function")
    args = fdef.args
    # in the signature's order: the generated functions take them all by position, the way
    # inspect.Signature.bind orders a call's arguments (*args as one tuple, **kwargs as one
    # dict: their shape is the call's -- bind_call, argument_binder -- and kinds specialize)
    params = [a.id for a in list(getattr(args, "posonlyargs", None) or []) + args.args
              + ([args.vararg] if args.vararg else []) + list(args.kwonlyargs)
              + ([args.kwarg] if args.kwarg else [])]
    lifted = getattr(f, "__s2sad_lifted__", ())  # a def of another function's, lifted
    if lifted:
        args.args = list(args.args) + [gast.Name(id=e, ctx=gast.Param(), annotation=None,
                                                  type_comment=None) for e in lifted]
        params += list(lifted)
    closure = cell_contents(f)
    fdef.body = [_lambda_as_def(s) for s in fdef.body]  # (sq = lambda v: ...: a nested def)
    # every generated name (temporaries, flags, adjoints...) is none of the function's own
    namer = Namer(ir.function_names(fdef))
    made_functions(fdef, namer)  # (op = scale; h = make(k) of a closure factory: defs)
    local_names = set(params) | _assigned_names(fdef.body)
    fir = FunctionIR(f, fdef.name, params, [], filename, firstline, file_lines, closure,
                     local_names, namer)
    from .inner import inner_derivatives

    inner_derivatives(fir, fdef)  # s2sad.grad(g)(x) and s2sad.jvp(g, ...) written in f
    nested = _nested_functions(fir, fdef.body)
    fir.meta["nested"] = nested
    _Unstar(fdef).visit(fdef)  # f(*[a, b]), (*shape, 1), **{"k": v}: calls and sums
    _refuse(fir, [s for s in fdef.body if not (isinstance(s, gast.FunctionDef)
                                               and nested.get(s.name) is s)])
    for inner in nested.values():
        _refuse(fir, inner.body)
    body = [s for s in fdef.body if not _is_docstring(s) and not (
        isinstance(s, gast.FunctionDef) and nested.get(s.name) is s)]
    body = lower_jumps(body, namer)
    fir.locals |= _assigned_names(body)
    norm = Normalizer(fir)
    fir.body = norm.block(body)
    if not fir.body or not isinstance(fir.body[-1], gast.Return):
        ret = _at(gast.Return(value=gast.Constant(value=None, kind=None)), fdef)
        ir.set_anno(ret, "implicit", True)  # the function falls off its end
        fir.body.append(ret)
    return fir


def _nested_functions(fir: FunctionIR, body: list) -> dict:
    """The functions defined in the function's own block and only called after their
    definition, by name: each call is inlined (its parameters and locals renamed apart, its
    closure reads the enclosing function's variables when the call runs, as Python's late
    binding does).  Anything else about a nested ``def`` is refused at its line."""
    nested: dict = {}
    for k, s in enumerate(body):
        if not isinstance(s, gast.FunctionDef):
            continue
        a = s.args
        why = None
        if s.decorator_list:
            why = "a decorated nested function"
        elif a.vararg or a.kwarg or a.kwonlyargs or getattr(a, "posonlyargs", None) or \
                a.defaults:
            why = "a nested function with defaults, *args, **kwargs or keyword-only parameters"
        elif s.name in nested or s.name in _assigned_names(body):
            why = f"a nested function whose name '{s.name}' is bound more than once"
        elif any(isinstance(n, gast.Name) and n.id == s.name for n in ir.walk_block(s.body)):
            why = "a recursive nested function"
        elif any(isinstance(n, (gast.FunctionDef, gast.Lambda)) for n in ir.walk_block(s.body)):
            why = "a function defined inside a nested function"
        if why is None:
            # used only as a call's function, and only after the definition
            calls = {id(n.func) for n in ir.walk_block(body) if isinstance(n, gast.Call)}
            for j, t in enumerate(body):
                if t is s:
                    continue
                for n in ir.walk(t):
                    if isinstance(n, gast.Name) and n.id == s.name:
                        if j < k:
                            why = f"a call of the nested function '{s.name}' before its def"
                        elif id(n) not in calls:
                            why = f"the nested function '{s.name}' used as a value"
        if why is not None:
            raise fir.error(f"unsupported construct: {why}", s,
                            "define the function at module level; s2sad differentiates "
                            "through calls to it")
        nested[s.name] = s
    return nested


def _lambda_as_def(s):
    """``sq = lambda v: v * v`` in the function's own block as ``def sq(v): return v * v``
    (then a nested function like any: inlined where it is called)."""
    if isinstance(s, gast.Assign) and len(s.targets) == 1 and \
            isinstance(s.targets[0], gast.Name) and isinstance(s.value, gast.Lambda):
        ret = _at(gast.Return(value=s.value.body), s)
        return _at(gast.FunctionDef(name=s.targets[0].id, args=s.value.args, body=[ret],
                                    decorator_list=[], returns=None, type_comment=None,
                                    type_params=[]), s)
    return s


def _is_docstring(s) -> bool:
    return (isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant)
            and isinstance(s.value.value, str))


def _assigned_names(stmts) -> set[str]:
    names = set()
    for node in ir.walk_block(list(stmts)):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            names.add(node.id)
    return names


def _is_derivative_api(obj) -> bool:
    """s2sad's own differentiation entry points, and the gradients they return."""
    from .nested import derivative_recipe
    from .pickling import Built

    if derivative_recipe(obj) is not None:
        return False  # a gradient made outside, called here: differentiated again (nested.py)
    if isinstance(obj, Built) or type(obj).__name__ == "WasmFunction" and \
            getattr(type(obj), "__module__", "") == "s2sad.wasm":
        return True
    return getattr(obj, "__module__", None) in ("s2sad.api", "s2sad.wasm") and \
        getattr(obj, "__name__", None) in ("grad", "value_and_grad", "vjp")


class _Unstar(gast.NodeTransformer):
    """Starred arguments and displays whose length the source shows, made plain: a starred
    list or tuple display is spliced (``f(*[a, b])`` -> ``f(a, b)``, ``**{"c": v}`` ->
    ``c=v``), and a display with a starred item is a sum (``(*w.shape, 1)`` ->
    ``tuple(w.shape) + (1,)``).  A starred argument of unknown length stays, and is refused;
    starred assignment targets are the normalizer's (``unpack``)."""

    def __init__(self, fdef) -> None:
        # names bound once, to a display the source shows (args = (x, y); kw = {"c": v}):
        # a starred use of them is spliced item by item
        stores: dict[str, list] = {}
        for node in ir.walk(fdef):
            if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
                stores.setdefault(node.id, []).append(node)
        params = {a.id for a in ir.walk(fdef.args) if isinstance(a, gast.Name)}
        self.displays: dict[str, Any] = {}
        for node in ir.walk(fdef):
            if isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], gast.Name) and \
                    len(stores.get(node.targets[0].id, ())) == 1 and \
                    node.targets[0].id not in params and \
                    isinstance(node.value, (gast.Tuple, gast.List, gast.Dict)):
                self.displays[node.targets[0].id] = node.value

    def _spliced(self, value):
        """The items of a starred argument whose length the source shows, or None."""
        if isinstance(value, (gast.List, gast.Tuple)) and \
                not any(isinstance(e, gast.Starred) for e in value.elts):
            return list(value.elts)
        if isinstance(value, gast.Name) and isinstance(self.displays.get(value.id),
                                                       (gast.List, gast.Tuple)):
            shown = self.displays[value.id]
            if not any(isinstance(e, gast.Starred) for e in shown.elts):
                return [gast.Subscript(value=gast.Name(id=value.id, ctx=gast.Load(),
                                                       annotation=None, type_comment=None),
                                       slice=gast.Constant(value=k, kind=None),
                                       ctx=gast.Load()) for k in range(len(shown.elts))]
        return None

    def _keywords(self, value):
        """``**{"c": v}`` (or a name bound once to such a dict) as keywords, or None."""
        shown = value
        if isinstance(value, gast.Name):
            shown = self.displays.get(value.id)
        if not isinstance(shown, gast.Dict) or not all(
                isinstance(k, gast.Constant) and isinstance(k.value, str) and
                k.value.isidentifier() for k in shown.keys):
            return None
        if shown is value:
            return [gast.keyword(arg=k.value, value=v) for k, v in zip(shown.keys, shown.values)]
        return [gast.keyword(arg=k.value, value=gast.Subscript(
            value=gast.Name(id=value.id, ctx=gast.Load(), annotation=None, type_comment=None),
            slice=gast.Constant(value=k.value, kind=None), ctx=gast.Load()))
            for k in shown.keys]

    def visit_Call(self, node):
        self.generic_visit(node)
        args = []
        for a in node.args:
            items = self._spliced(a.value) if isinstance(a, gast.Starred) else None
            args.extend(items if items is not None else [a])
        keywords = []
        for kw in node.keywords:
            spliced = self._keywords(kw.value) if kw.arg is None else None
            keywords.extend(spliced if spliced is not None else [kw])
        node.args, node.keywords = args, keywords
        return node

    def _display(self, node):
        self.generic_visit(node)
        if not isinstance(node.ctx, gast.Load) or \
                not any(isinstance(e, gast.Starred) for e in node.elts):
            return node
        kind = type(node)
        convert = "tuple" if kind is gast.Tuple else "list"
        parts, run = [], []
        for e in node.elts:
            if isinstance(e, gast.Starred):
                if run:
                    parts.append(kind(elts=run, ctx=gast.Load()))
                    run = []
                value = e.value
                if isinstance(value, kind):
                    parts.append(value)
                else:
                    parts.append(gast.Call(func=gast.Name(id=convert, ctx=gast.Load(),
                                                          annotation=None, type_comment=None),
                                           args=[value], keywords=[]))
            else:
                run.append(e)
        if run:
            parts.append(kind(elts=run, ctx=gast.Load()))
        out = parts[0]
        for part in parts[1:]:
            out = gast.BinOp(left=out, op=gast.Add(), right=part)
        return ir.at(out, node) if hasattr(node, "lineno") else out

    visit_Tuple = _display
    visit_List = _display


def _refuse(fir: FunctionIR, body) -> None:
    # f(*xs): spliced by kinds (prepare.unstar_calls) -- xs a tuple of known length
    call_stars = {id(a) for node in ir.walk_block(body) if isinstance(node, gast.Call)
                  for a in node.args if isinstance(a, gast.Starred)}
    for node in ir.walk_block(body):
        if isinstance(node, gast.Starred) and (isinstance(node.ctx, gast.Store)
                                               or id(node) in call_stars):
            continue  # a starred assignment target: unpack() lowers it
        refused = REFUSED.get(type(node))
        if refused is not None:
            raise fir.error(f"unsupported construct: {refused[0]}", node, refused[1])
        if isinstance(node, gast.Call) and (isinstance(node.func, gast.Attribute) or (
                isinstance(node.func, gast.Name) and node.func.id not in fir.locals
                and node.func.id not in fir.meta.get("nested", ()))) and \
                _is_derivative_api(fir.resolve(node.func)):
            raise fir.error("unsupported construct: a derivative taken inside the function "
                            "being differentiated (a second derivative)", node,
                            "take the gradient outside (dg = s2sad.grad(g) at module level) "
                            "and call dg here, or use s2sad.grad(s2sad.grad(f)), s2sad.hvp, "
                            "s2sad.hessian")
        if isinstance(node, (gast.For, gast.While)) and node.orelse:
            raise fir.error("unsupported construct: else clause on a loop", node,
                            "use a flag set before break")
        if isinstance(node, gast.Attribute) and isinstance(node.ctx, gast.Store):
            raise fir.error("unsupported construct: assignment to an attribute", node,
                            "s2sad differentiates functions that do not mutate objects")
        if isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store):
            base = node.value
            while isinstance(base, gast.Subscript):
                base = base.value
            if not isinstance(base, gast.Name):
                raise fir.error("unsupported construct: assignment into a complex target", node,
                                "assign into a local name, e.g. a[i] = v")
            if base.id in fir.params:
                # the gradient works on a copy (aliases.py); recorded as a hint that the
                # argument is an array or a list
                fir.meta.setdefault("mutated", {}).setdefault(base.id, node)
                continue
            if base.id not in fir.locals:
                raise fir.error(f"mutation of global '{base.id}'", node,
                                "s2sad treats globals as constants; pass the value as an "
                                "argument and return the result")
        if (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                and node.func.attr in MUTATING_METHODS):
            base = node.func.value
            if isinstance(base, gast.Name):
                if base.id not in fir.locals and fir.resolve(base) is not MISSING and not \
                        isinstance(fir.resolve(base), types.ModuleType):
                    raise fir.error(f"mutation of global '{base.id}' by .{node.func.attr}()",
                                    node, "s2sad treats globals as constants")
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name) \
                and node.target.id not in fir.locals:
            raise fir.error(f"mutation of global '{node.target.id}'", node)
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id not in fir.locals and \
                node.func.id not in fir.meta.get("nested", ()) and \
                fir.resolve(node.func) in _IMPLICIT:
            raise fir.error(f"unsupported construct: {node.func.id}()", node,
                            f"{node.func.id}() reads or runs code s2sad cannot see; write the "
                            "computation out")


def _const(v) -> gast.Constant:
    return gast.Constant(value=v, kind=None)


def is_atom(node) -> bool:
    return isinstance(node, (gast.Name, gast.Constant))


class Normalizer:
    """Flattens statements and expressions into the IR subset (see DESIGN.md)."""

    def __init__(self, fir: FunctionIR) -> None:
        self.fir = fir

    def temp(self, stem: str = "_t") -> str:
        name = self.fir.namer.numbered(stem)
        self.fir.locals.add(name)
        return name

    # -- statements -----------------------------------------------------------------------
    def block(self, stmts) -> list:
        out: list = []
        for s in stmts:
            self.stmt(s, out)
        return out

    def emit(self, out, node, like):
        out.append(_at(node, like))

    def assign(self, out, target: str, value, like):
        self.emit(out, gast.Assign(targets=[_name(target, True)], value=value,
                                   type_comment=None), like)

    def stmt(self, s, out) -> None:
        fir = self.fir
        if isinstance(s, gast.Assign):
            if len(s.targets) != 1:
                # a = b = e  ->  _t = e; a = _t; b = _t
                value = self.atom(s.value, out)
                for t in s.targets:
                    self.store(t, value, out, s)
                return
            target = s.targets[0]
            if isinstance(target, gast.Name):
                self.assign(out, target.id, self.flat(s.value, out), s)
            elif isinstance(target, (gast.Tuple, gast.List)):
                self.unpack(target, s.value, out, s)
            else:
                self.store(target, self.atom(s.value, out), out, s)
        elif isinstance(s, gast.AnnAssign):
            if s.value is not None:
                self.stmt(_at(gast.Assign(targets=[s.target], value=s.value,
                                          type_comment=None), s), out)
        elif isinstance(s, gast.AugAssign):
            if isinstance(s.target, gast.Name):
                # x op= v  ->  x = x op v, marked: on an array or a list that another name
                # shares, the reverse pass keeps NumPy's and Python's in-place meaning
                value = gast.BinOp(left=_name(s.target.id), op=s.op,
                                   right=self.atom(s.value, out))
                self.assign(out, s.target.id, _at(value, s), s)
                ir.set_anno(out[-1], "augmented", True)
            elif isinstance(s.target, gast.Subscript):
                target = self.store_target(s.target, out)
                old = self.read_path(target, out, s)
                rhs = self.atom(s.value, out)
                new = self.temp()
                self.assign(out, new, gast.BinOp(left=_name(old), op=s.op, right=rhs), s)
                self.emit(out, gast.Assign(targets=[target], value=_name(new),
                                           type_comment=None), s)
            else:
                raise fir.error("unsupported augmented assignment target", s)
        elif isinstance(s, gast.Expr):
            if isinstance(s.value, gast.Constant):
                return
            value = self.flat(s.value, out)
            if isinstance(value, gast.Call):
                self.emit(out, gast.Expr(value=value), s)
        elif isinstance(s, gast.If):
            test = self.atom(s.test, out)
            self.emit(out, gast.If(test=test, body=self.block(s.body),
                                   orelse=self.block(s.orelse)), s)
        elif isinstance(s, gast.For):
            self.for_loop(s, out)
        elif isinstance(s, gast.While):
            pre: list = []
            test = self.atom(s.test, pre)
            computed = pre and isinstance(pre[-1], gast.Assign) and isinstance(test, gast.Name) \
                and pre[-1].targets[0].id == test.id
            plain_local = not pre and isinstance(test, gast.Name) and test.id in fir.locals
            if not (computed or plain_local):
                # make the condition a name of its own, recomputed at the end of the body
                c = self.temp()
                self.assign(pre, c, test, s)
                test = _name(c)
            out.extend(pre)
            body = self.block(s.body)
            body.extend(self._clone(pre))
            loop = gast.While(test=test, body=body, orelse=[])
            loop.recompute = len(pre)  # the last statements of the body recompute the test
            self.emit(out, loop, s)
        elif isinstance(s, gast.Return):
            value = s.value
            if value is None:
                value = _const(None)
            if isinstance(value, gast.Tuple):
                elts = [self.atom(e, out) for e in value.elts]
                self.emit(out, gast.Return(value=gast.Tuple(elts=elts, ctx=gast.Load())), s)
            else:
                self.emit(out, gast.Return(value=self.atom(value, out)), s)
        elif isinstance(s, gast.Break):
            self.emit(out, gast.Break(), s)
        elif isinstance(s, gast.Continue):
            raise fir.error("internal: continue survived lowering", s)
        elif isinstance(s, gast.Pass):
            return
        elif isinstance(s, gast.Assert):
            test = self.atom(s.test, out)
            self.emit(out, gast.Assert(test=test, msg=None), s)
        else:
            raise fir.error(f"unsupported statement: {type(s).__name__}", s)

    def _clone(self, stmts):
        return [ir.clone(s) for s in stmts]

    def store(self, target, value, out, like):
        if isinstance(target, gast.Name):
            self.assign(out, target.id, value, like)
        elif isinstance(target, gast.Subscript):
            self.emit(out, gast.Assign(targets=[self.store_target(target, out)],
                                       value=value, type_comment=None), like)
        elif isinstance(target, (gast.Tuple, gast.List)):
            self.unpack(target, value, out, like)
        else:
            raise self.fir.error("unsupported assignment target", like)

    def store_target(self, node, out, ctx=None):
        """``a[i][j]`` as a store into ``a`` along the path ``[i][j]`` (indices flattened,
        the base a name), so that the write is seen as a write to ``a``."""
        if isinstance(node, gast.Subscript):
            inner = self.store_target(node.value, out, gast.Load())
            return gast.Subscript(value=inner, slice=self.index(node.slice, out),
                                  ctx=ctx or gast.Store())
        if isinstance(node, gast.Name):
            return _name(node.id)
        return self.atom(node, out)

    def read_path(self, target, out, like) -> str:
        """The value at a store path (``a[i][j]``), read one step at a time with the indices
        already evaluated; the name holding it."""
        if isinstance(target, gast.Name):
            return target.id
        base = self.read_path(target.value, out, like)
        t = self.temp()
        self.assign(out, t, gast.Subscript(value=_name(base), slice=ir.clone(target.slice),
                                           ctx=gast.Load()), like)
        return t

    def subscript_parts(self, node, out):
        base = node.value
        if isinstance(base, gast.Name):
            base_atom = base
        else:
            base_atom = self.atom(base, out)
        return base_atom, self.index(node.slice, out)

    def unpack(self, target, value, out, like):
        names = target.elts
        if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(names):
            # a, b = b, a * b: evaluate every right-hand side before assigning any target
            atoms = [self.atom(e, out) for e in value.elts]
            # a copy is needed when a name read on the right is assigned earlier on the left
            for k, a in enumerate(atoms):
                if isinstance(a, gast.Name):
                    earlier = {n.id for n in names[:k] if isinstance(n, gast.Name)}
                    if a.id in earlier:
                        copy = self.temp()
                        self.assign(out, copy, a, like)
                        atoms[k] = _name(copy)
            for t, a in zip(names, atoms):
                self.store(t, a, out, like)
            return
        src = self.atom(value, out)
        stars = [k for k, t in enumerate(names) if isinstance(t, gast.Starred)]
        if len(stars) > 1:
            raise self.fir.error("unsupported construct: two starred targets", like)
        for k, t in enumerate(names):
            if stars and k == stars[0]:
                # a, *rest, z = v: rest = list(v[1:-1])
                after = len(names) - k - 1
                part = gast.Subscript(value=src, slice=gast.Slice(
                    lower=_const(k), upper=_const(-after) if after else None, step=None),
                    ctx=gast.Load())
                listed = gast.Call(func=_name("list"), args=[_at(part, like)], keywords=[])
                tmp = self.temp()
                self.assign(out, tmp, self.flat(_at(listed, like), out), like)
                self.store(t.value, _name(tmp), out, like)
                continue
            if stars and k > stars[0]:  # after the starred target: from the end
                k = k - len(names)
            elem = self.flat_index_read(src, k, like)
            if isinstance(t, gast.Name):
                self.assign(out, t.id, elem, like)
            else:
                tmp = self.temp()
                self.assign(out, tmp, elem, like)
                self.store(t, _name(tmp), out, like)

    def flat_index_read(self, src, k, like):
        return _at(gast.Subscript(value=src, slice=_const(k), ctx=gast.Load()), like)

    def for_loop(self, s, out):
        fir = self.fir
        it = s.iter
        target = s.target
        if isinstance(it, gast.Call) and fir.resolve(it.func) is checkpointed:
            self.checkpointed_loop(s, out)
            return
        if (isinstance(it, gast.Call) and fir.resolve(it.func) is range and not it.keywords
                and isinstance(target, gast.Name)):
            args = [self.atom(a, out) for a in it.args]
            rng = gast.Call(func=_name("range"), args=args, keywords=[])
            body = self.block(s.body)
            self.emit(out, gast.For(target=_name(target.id, True), iter=_at(rng, s), body=body,
                                    orelse=[], type_comment=None), s)
            return
        func = fir.resolve(it.func) if isinstance(it, gast.Call) else MISSING
        pre = []
        method = it.func.attr if (isinstance(it, gast.Call) and isinstance(it.func, gast.Attribute)
                                  and func is MISSING and not it.args
                                  and not it.keywords) else None
        if method in ("items", "keys", "values"):
            self.dict_loop(s, method, out)
            return
        if func is reversed and len(it.args) == 1 and not it.keywords:
            self.reversed_loop(s, out)
            return
        if func is enumerate and isinstance(target, gast.Tuple) and len(target.elts) == 2 \
                and len(it.args) == 1 and not it.keywords:
            seqs = [self.iterable(it.args[0], out)]
            index = target.elts[0]
            targets = [target.elts[1]]
            if not isinstance(index, gast.Name):
                raise fir.error("unsupported loop target", s)
            index_name = index.id
        else:
            if func is zip and isinstance(target, gast.Tuple) and not it.keywords \
                    and len(target.elts) == len(it.args):
                seqs = [self.iterable(a, out) for a in it.args]
                targets = list(target.elts)
            else:
                seqs = [self.iterable(it, out)]
                targets = [target]
            index_name = self.temp("_i")
        # for v in seq  ->  for _i in range(len(seq)): v = seq[_i]
        lens = []
        for q in seqs:
            if isinstance(q, gast.Constant):
                raise fir.error("cannot loop over a constant", s)
            n = self.temp()
            self.assign(pre, n, gast.Call(func=_name("len"), args=[q], keywords=[]), s)
            lens.append(_name(n))
        stop = lens[0]
        if len(lens) > 1:
            m = self.temp()
            self.assign(pre, m, gast.Call(func=_name("min"), args=lens, keywords=[]), s)
            stop = _name(m)
        out.extend(pre)
        for q in seqs:
            self.refuse_resizing(q, s)
        head: list = []
        for q, t in zip(seqs, targets):
            read = gast.Subscript(value=q, slice=_name(index_name), ctx=gast.Load())
            self.bind_element(head, t, read, s)
            # (a dict iterates its keys: the reverse pass rewrites the read once it knows)
            for st in head:
                if isinstance(st, gast.Assign) and st.value is read:
                    ir.set_anno(st, "iterates", q)
        body = head + self.block(s.body)
        rng = gast.Call(func=_name("range"), args=[stop], keywords=[])
        self.emit(out, gast.For(target=_name(index_name, True), iter=rng, body=body, orelse=[],
                                type_comment=None), s)

    def checkpointed_loop(self, s, out):
        """``for t in s2sad.checkpointed(seq, snapshots=k, memory=m)``: the loop over ``seq``,
        its options (atoms evaluated before it) in the annotation ``checkpoint``."""
        fir = self.fir
        it = s.iter
        names = ["iterable", "snapshots", "memory"]
        given: dict = {}
        if len(it.args) > len(names) or any(isinstance(a, gast.Starred) for a in it.args):
            raise fir.error("checkpointed() takes the iterable and snapshots= or memory=", s)
        for k, a in enumerate(it.args):
            given[names[k]] = a
        for kw in it.keywords:
            if kw.arg not in names or kw.arg in given:
                raise fir.error(f"checkpointed() got an unexpected argument {kw.arg!r}", s,
                                "give snapshots=<count> or memory=<bytes, or '64MB'>")
            given[kw.arg] = kw.value
        if "iterable" not in given:
            raise fir.error("checkpointed() needs the loop's iterable", s)
        if "snapshots" in given and "memory" in given:
            raise fir.error("checkpointed() takes snapshots= or memory=, not both", s)
        options = {k: self.atom(v, out) for k, v in given.items() if k != "iterable"}
        loop = gast.For(target=s.target, iter=given["iterable"], body=s.body, orelse=s.orelse,
                        type_comment=None)
        _at(loop, s)
        start = len(out)
        self.for_loop(loop, out)
        made = [x for x in out[start:] if isinstance(x, gast.For)]
        ir.set_anno(made[-1], "checkpoint", options)

    def iterable(self, e, out):
        """What a loop indexes: a name as it is (a list, tuple, array or dict: prepare.py
        reads a dict's keys), anything else -- an iterator from reversed() or map(), a
        generator -- made a list first."""
        value = self.atom(e, out)
        if isinstance(e, gast.Name) or isinstance(value, gast.Constant):
            return value
        t = self.temp()
        self.assign(out, t, gast.Call(func=_name("list"), args=[value], keywords=[]), e)
        return _name(t)

    def bind_element(self, out, target, read, like):
        """``target = read`` for a loop target (a name or a tuple to unpack)."""
        if isinstance(target, gast.Name):
            self.assign(out, target.id, read, like)
        else:
            tmp = self.temp()
            self.assign(out, tmp, read, like)
            self.store(target, _name(tmp), out, like)

    def refuse_resizing(self, seq, loop) -> None:
        """Python iterates over a list that grows or shrinks in the loop; the index loop
        would not: such loops are refused."""
        if not isinstance(seq, gast.Name):
            return
        for node in ir.walk_block(loop.body):
            if (isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
                    and isinstance(node.func.value, gast.Name) and node.func.value.id == seq.id
                    and node.func.attr in ("append", "extend", "insert", "pop", "remove",
                                           "clear")):
                raise self.fir.error(f"'{seq.id}' changes length inside the loop over it",
                                     node, f"loop over a copy: for ... in list({seq.id})")

    def index_loop(self, s, seq, read_at, out):
        """``for _i in range(len(seq)): <target> = read_at(_i); <body>``."""
        n = self.temp()
        self.assign(out, n, gast.Call(func=_name("len"), args=[seq], keywords=[]), s)
        index = self.temp("_i")
        head: list = []
        read_at(head, _name(index), _name(n))
        body = head + self.block(s.body)
        rng = gast.Call(func=_name("range"), args=[_name(n)], keywords=[])
        self.emit(out, gast.For(target=_name(index, True), iter=rng, body=body, orelse=[],
                                type_comment=None), s)

    def dict_loop(self, s, method, out):
        """``for k, v in d.items()`` -> ``_keys = list(d)``, an index loop over the keys, and
        ``v = d[k]`` (likewise ``keys()`` and ``values()``)."""
        d = self.atom(s.iter.func.value, out)
        keys = self.temp()
        self.assign(out, keys, gast.Call(func=_name("list"), args=[d], keywords=[]), s)
        ir.set_anno(out[-1], "keys_of", d)
        target = s.target
        if method == "items" and not (isinstance(target, gast.Tuple) and len(target.elts) == 2):
            raise self.fir.error("unsupported loop target for items()", s,
                                 "write: for key, value in d.items()")

        def read_at(head, i, n):
            key = gast.Subscript(value=_name(keys), slice=i, ctx=gast.Load())
            if method == "keys":
                self.bind_element(head, target, key, s)
                return
            k = target.elts[0] if method == "items" else None
            if isinstance(k, gast.Name):
                self.assign(head, k.id, key, s)
                key_atom = _name(k.id)
            else:
                key_atom = _name(self.temp())
                self.assign(head, key_atom.id, key, s)
                if k is not None:
                    self.store(k, key_atom, head, s)
            value = gast.Subscript(value=d, slice=key_atom, ctx=gast.Load())
            self.bind_element(head, target.elts[1] if method == "items" else target, value, s)

        self.index_loop(s, _name(keys), read_at, out)

    def reversed_loop(self, s, out):
        """``for v in reversed(seq)`` -> an index loop reading ``seq[n - 1 - _i]``."""
        seq = self.atom(s.iter.args[0], out)
        if isinstance(seq, gast.Constant):
            raise self.fir.error("cannot loop over a constant", s)
        self.refuse_resizing(seq, s)

        def read_at(head, i, n):
            last = self.temp()
            self.assign(head, last, gast.BinOp(left=n, op=gast.Sub(), right=_const(1)), s)
            j = self.temp()
            self.assign(head, j, gast.BinOp(left=_name(last), op=gast.Sub(), right=i), s)
            self.bind_element(head, s.target,
                              gast.Subscript(value=seq, slice=_name(j), ctx=gast.Load()), s)

        self.index_loop(s, seq, read_at, out)

    # -- expressions ----------------------------------------------------------------------
    def atom(self, e, out):
        """Flatten ``e`` and return a name or constant holding its value."""
        value = self.flat(e, out)
        if is_atom(value) or self.is_constant_ref(value):
            return value
        t = self.temp()
        self.assign(out, t, value, e)
        # what the temporary stands for, in the user's words (for refusals that name it)
        self.fir.meta.setdefault("origin", {})[t] = gast.unparse(e).strip()
        return _name(t)

    def is_constant_ref(self, node) -> bool:
        """A non-local name or attribute chain (math.pi, np, a global)."""
        if isinstance(node, gast.Name):
            return node.id not in self.fir.locals
        if isinstance(node, gast.Attribute):
            return self.is_constant_ref(node.value)
        return False

    def index(self, sl, out):
        if isinstance(sl, gast.Slice):
            return gast.Slice(lower=self._opt_atom(sl.lower, out),
                              upper=self._opt_atom(sl.upper, out),
                              step=self._opt_atom(sl.step, out))
        if isinstance(sl, gast.Tuple):
            return gast.Tuple(elts=[self.index(e, out) for e in sl.elts], ctx=gast.Load())
        return self.atom(sl, out)

    def _opt_atom(self, e, out):
        return None if e is None else self.atom(e, out)

    def flat(self, e, out):
        """Flatten ``e`` to one operation on atoms (or an atom)."""
        fir = self.fir
        if isinstance(e, gast.Name):
            return _name(e.id)
        if isinstance(e, gast.Constant):
            return e
        if self.is_constant_ref(e):
            return e
        if isinstance(e, gast.Attribute):
            return _at(gast.Attribute(value=self.atom(e.value, out), attr=e.attr,
                                      ctx=gast.Load()), e)
        if isinstance(e, gast.BinOp):
            return _at(gast.BinOp(left=self.atom(e.left, out), op=e.op,
                                  right=self.atom(e.right, out)), e)
        if isinstance(e, gast.UnaryOp):
            if isinstance(e.op, gast.USub) and isinstance(e.operand, gast.Constant) and \
                    isinstance(e.operand.value, (int, float)) and \
                    not isinstance(e.operand.value, bool):
                return _at(_const(-e.operand.value), e)  # -1 is a constant, not an operation
            operand = self.atom(e.operand, out)
            return _at(gast.UnaryOp(op=e.op, operand=operand), e)
        if isinstance(e, gast.BoolOp):
            # a and b -> _t = a; if _t: _t = b   (a or b -> if not _t: _t = b)
            t = self.temp()
            self.assign(out, t, self.flat(e.values[0], out), e)
            self._boolop_rest(t, e.op, e.values[1:], out, e)
            return _name(t)
        if isinstance(e, gast.Compare):
            if len(e.ops) == 1:
                return _at(gast.Compare(left=self.atom(e.left, out), ops=e.ops,
                                        comparators=[self.atom(e.comparators[0], out)]), e)
            # a < b < c  ->  _t = a < b; if _t: _t = b < c
            t = self.temp()
            left = self.atom(e.left, out)
            right = self.atom(e.comparators[0], out)
            self.assign(out, t, gast.Compare(left=left, ops=[e.ops[0]], comparators=[right]), e)
            rest = gast.Compare(left=_OpaqueAtom(right), ops=e.ops[1:],
                                comparators=e.comparators[1:])
            body: list = []
            self.assign(body, t, self.flat(_at(rest, e), body), e)
            self.emit(out, gast.If(test=_name(t), body=body, orelse=[]), e)
            return _name(t)
        if isinstance(e, _OpaqueAtom):
            return e.atom
        if isinstance(e, gast.IfExp):
            test = self.atom(e.test, out)
            t = self.temp()
            body: list = []
            orelse: list = []
            self.assign(body, t, self.flat(e.body, body), e)
            self.assign(orelse, t, self.flat(e.orelse, orelse), e)
            self.emit(out, gast.If(test=test, body=body, orelse=orelse), e)
            return _name(t)
        if isinstance(e, gast.Call):
            return self.call(e, out)
        if isinstance(e, gast.Subscript):
            base, index = self.subscript_parts(e, out)
            return _at(gast.Subscript(value=base, slice=index, ctx=gast.Load()), e)
        if isinstance(e, (gast.Tuple, gast.List)):
            return _at(type(e)(elts=[self.atom(x, out) for x in e.elts], ctx=gast.Load()), e)
        if isinstance(e, gast.Dict):
            if any(k is None for k in e.keys):
                raise fir.error("unsupported construct: ** in a dict literal", e,
                                "write the items one by one")
            keys, values = [], []
            for k, v in zip(e.keys, e.values):
                keys.append(self.atom(k, out))
                values.append(self.atom(v, out))
            return _at(gast.Dict(keys=keys, values=values), e)
        if isinstance(e, (gast.ListComp, gast.GeneratorExp)):
            return self.comprehension(e, out)
        if isinstance(e, gast.JoinedStr):
            return e  # an f-string: a constant for the gradient
        kind = REFUSED.get(type(e), (type(e).__name__, None))
        raise fir.error(f"unsupported construct: {kind[0]}", e, kind[1])

    def comprehension(self, e, out):
        """``[f(v) for v in seq]`` (or the same generator expression) -> a list filled by an
        index loop: ``_t = [0.0] * len(seq)``, ``for _i in range(...): _t[_i] = f(seq[_i])``.
        The comprehension's own names are renamed, so they do not leak into the function."""
        fir = self.fir
        if len(e.generators) != 1 or e.generators[0].ifs or e.generators[0].is_async:
            raise fir.error("unsupported construct: comprehension with a condition or several "
                            "'for' clauses", e, "write it as a for loop")
        gen = e.generators[0]
        names = {n.id for n in ir.walk(gen.target) if isinstance(n, gast.Name)}
        fresh = {}
        for n in sorted(names):
            fresh[n] = self.temp()
        rename = _Renamer(fresh)
        target = rename.visit(ir.clone(gen.target))
        elt = rename.visit(ir.clone(e.elt))
        seq = self.iterable(gen.iter, out)
        n = self.temp()
        self.assign(out, n, gast.Call(func=_name("len"), args=[seq], keywords=[]), e)
        zero = self.temp()
        self.assign(out, zero, gast.List(elts=[_const(0.0)], ctx=gast.Load()), e)
        result = self.temp()
        self.assign(out, result, gast.BinOp(left=_name(zero), op=gast.Mult(), right=_name(n)),
                    e)
        index = self.temp("_i")
        body: list = []
        read = gast.Subscript(value=seq, slice=_name(index), ctx=gast.Load())
        if isinstance(target, gast.Name):
            self.assign(body, target.id, read, e)
        else:
            tmp = self.temp()
            self.assign(body, tmp, read, e)
            self.store(target, _name(tmp), body, e)
        ir.set_anno(body[0], "iterates", seq)  # (a dict's keys: see prepare.py)
        value = self.atom(elt, body)
        self.emit(body, gast.Assign(targets=[gast.Subscript(
            value=_name(result), slice=_name(index), ctx=gast.Store())], value=value,
            type_comment=None), e)
        rng = gast.Call(func=_name("range"), args=[_name(n)], keywords=[])
        self.emit(out, gast.For(target=_name(index, True), iter=rng, body=body, orelse=[],
                                type_comment=None), e)
        return _name(result)

    def _boolop_rest(self, t, op, values, out, like):
        if not values:
            return
        test = _name(t)
        if isinstance(op, gast.Or):
            neg = self.temp()
            self.assign(out, neg, gast.UnaryOp(op=gast.Not(), operand=_name(t)), like)
            test = _name(neg)
        body: list = []
        self.assign(body, t, self.flat(values[0], body), like)
        self._boolop_rest(t, op, values[1:], body, like)
        self.emit(out, gast.If(test=test, body=body, orelse=[]), like)

    def call(self, e, out):
        fir = self.fir
        func = e.func
        if isinstance(func, gast.Name) and func.id in fir.meta.get("nested", {}) and \
                func.id not in fir.locals:
            return self.inline(fir.meta["nested"][func.id], e, out)
        target = fir.resolve(func)
        if isinstance(func, gast.Attribute) and target is MISSING:
            func = gast.Attribute(value=self.atom(func.value, out), attr=func.attr,
                                  ctx=gast.Load())
        elif not (isinstance(func, gast.Name) or self.is_constant_ref(func)):
            func = self.atom(func, out)
        args = [_at(gast.Starred(value=self.atom(a.value, out), ctx=gast.Load()), a)
                if isinstance(a, gast.Starred) else self.atom(a, out) for a in e.args]
        keywords = []
        for kw in e.keywords:
            if kw.arg is None:
                raise fir.error("unsupported construct: **kwargs in a call", e,
                                "pass the keyword arguments one by one")
            keywords.append(gast.keyword(arg=kw.arg, value=self.atom(kw.value, out)))
        kw_only = ()
        starred = any(isinstance(a, gast.Starred) for a in args)
        if starred and keywords and _is_user_function(target):
            raise fir.error("unsupported construct: f(*xs) with keyword arguments, for a "
                            "function of yours", e, "pass the arguments by position")
        if starred and _is_user_function(target):
            pass  # (bound once the length of xs is known: prepare.unstar_calls)
        elif _is_user_function(target):
            args, keywords = self.bind(target, args, keywords, e)
            # (a *args tuple or **kwargs dict display bound above: one more temporary)
            args = [self.atom(a, out) if isinstance(a, (gast.Tuple, gast.Dict)) else a
                    for a in args]
            kw_only = tuple(None if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) else
                            "*" if p.kind is p.VAR_POSITIONAL else
                            "**" if p.kind is p.VAR_KEYWORD else n
                            for n, p in inspect.signature(target).parameters.items())
        call = _at(gast.Call(func=func, args=args, keywords=keywords), e)
        if any(kw_only):  # (bound by position here; printed as the signature takes them)
            ir.set_anno(call, "call_shape", kw_only)
        return call

    def inline(self, fdef, e, out):
        """A call of a nested function: its body, renamed apart, in place of the call."""
        fir = self.fir
        if any(isinstance(a, gast.Starred) for a in e.args):
            raise fir.error(f"unsupported construct: *args in a call of the nested function "
                            f"{fdef.name}", e, "pass the arguments one by one")
        params = [a.id for a in fdef.args.args]
        given = {k.arg for k in e.keywords}
        if len(e.args) > len(params) or given - set(params[len(e.args):]) or \
                len(e.args) + len(given) != len(params):
            raise fir.error(f"bad call to the nested function {fdef.name}", e)
        names = set(params) | _assigned_names(fdef.body)
        renamed = {n: fir.namer.fresh(f"{fdef.name}_{n}") for n in sorted(names)}
        fir.locals |= set(renamed.values())
        for a, p in zip(e.args, params):
            self.assign(out, renamed[p], self.flat(a, out), e)
        for k in e.keywords:
            self.assign(out, renamed[k.arg], self.flat(k.value, out), e)
        body = ir.clone([s for s in fdef.body if not _is_docstring(s)])
        for n in ir.walk_block(body):
            if isinstance(n, gast.Name) and n.id in renamed:
                n.id = renamed[n.id]
        body = lower_jumps(body, fir.namer)
        result = _const(None)
        if body and isinstance(body[-1], gast.Return):
            result = body[-1].value if body[-1].value is not None else _const(None)
            body = body[:-1]
        fir.locals |= _assigned_names(body)
        for s in body:
            self.stmt(s, out)
        return self.flat(result, out)

    def bind(self, target, args, keywords, node):
        """Bind keywords and defaults of a call to a user function to positions."""
        return bind_call(self.fir, target, args, keywords, node)


def bind_call(fir, target, args, keywords, node):
    """Bind keywords and defaults of a call to a user function to positions."""
    try:
        sig = inspect.signature(target)
        bound = sig.bind(*args, **{k.arg: k.value for k in keywords})
    except TypeError as exc:
        raise fir.error(f"bad call to {target.__name__}: {exc}", node) from None
    out = []
    for name, p in sig.parameters.items():
        if p.kind is p.VAR_POSITIONAL:  # g(a, b, c) for def g(a, *rest): rest = (b, c)
            out.append(_at(gast.Tuple(elts=list(bound.arguments.get(name, ())),
                                      ctx=gast.Load()), node))
        elif p.kind is p.VAR_KEYWORD:  # g(a, c=v) for def g(a, **kw): kw = {"c": v}
            given = bound.arguments.get(name, {})
            out.append(_at(gast.Dict(keys=[_const(k) for k in given],
                                     values=list(given.values())), node))
        elif name in bound.arguments:
            out.append(bound.arguments[name])
        else:
            default = p.default
            if not isinstance(default, (int, float, bool, str, type(None))):
                raise fir.error(f"call to {target.__name__} relies on a default of type "
                                f"{type(default).__name__} for '{name}'", node,
                                "pass the argument explicitly")
            out.append(_const(default))
    return out, []


def is_user_function(obj) -> bool:
    return _is_user_function(obj)


class _Renamer(gast.NodeTransformer):
    def __init__(self, mapping):
        self.mapping = mapping

    def visit_Name(self, node):
        if node.id in self.mapping:
            return gast.Name(id=self.mapping[node.id], ctx=node.ctx, annotation=None,
                             type_comment=None)
        return node


class _OpaqueAtom(gast.expr):
    """An already-flattened atom standing inside an expression being flattened."""

    _fields = ()

    def __init__(self, atom):
        super().__init__()
        self.atom = atom


def _is_user_function(obj) -> bool:
    from .rules import is_library, is_nondifferentiable, lookup

    return (isinstance(obj, types.FunctionType) and lookup(obj) is None
            and not is_nondifferentiable(obj) and not is_library(obj))

