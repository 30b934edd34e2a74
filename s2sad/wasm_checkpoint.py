"""Checkpointed loops on the Wasm backend: the schedule in linear memory (mixed into
``wasm_emit.FunctionEmitter``).

The adjoint IR of a checkpointed loop (checkpointing.py) uses a ``Checkpoints`` object; here
that object is a header pushed onto the tape where the loop starts, and its snapshots are
records pushed above it -- the schedule's snapshots are last in, first out, like the tape, and
everything pushed above them (a segment's tape, the code after the loop) is popped before they
are read.  Header fields (i64 at ``h + 8k``):

    n, length, steps, total, end, cur, count, record, fpos, fdone, cap, spacing, next, ffree

A record: ``[position, free slots, state values and arrays...]``.  ``$ckpt.next`` is revolve's
schedule as a state machine, one action per call (1 load, 2 save, 3 run, 4 reverse, 0 done),
the same actions ``checkpoint.schedule`` yields (checked against it by the tests); the budget
arithmetic is ``Checkpoints._fit``'s with the tape's exact sizes (8 bytes a value).  A budget
or snapshot count that leaves no room traps with error code 5 and the loop's site.
"""

from __future__ import annotations

import functools

import gast

from . import ir
from .checkpoint import Checkpoints, parse_memory

F64, I64, I32 = "f64", "i64", "i32"
HEADER = 112
_FIELDS = ["n", "length", "steps", "total", "end", "cur", "count", "record", "fpos", "fdone",
           "cap", "spacing", "next", "ffree"]
OFF = {f: 8 * k for k, f in enumerate(_FIELDS)}
OPS = {"load": 1, "save": 2, "run": 3}  # (and 4: reverse, the dispatch's last branch)


def _get(field: str) -> str:
    return f"(i64.load offset={OFF[field]} (local.get $h))"


def _set(field: str, value: str) -> str:
    return f"(i64.store offset={OFF[field]} (local.get $h) {value})"


def _frame(index: str) -> str:
    """The address of record ``index`` (an i64 expression)."""
    return (f"(i32.add (i32.add (local.get $h) (i32.const {HEADER})) (i32.wrap_i64 "
            f"(i64.mul {index} {_get('record')})))")


RUNTIME = f"""
  (func $ckpt.binom (param $n i64) (param $k i64) (result i64)
    ;; C(n, k) for a small k
    (local $c i64) (local $i i64)
    (local.set $c (i64.const 1))
    (local.set $i (i64.const 1))
    (block $done (loop $next
      (br_if $done (i64.gt_s (local.get $i) (local.get $k)))
      (local.set $c (i64.div_u (i64.mul (local.get $c)
        (i64.add (i64.sub (local.get $n) (local.get $k)) (local.get $i))) (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $next)))
    (local.get $c)
  )
  (func $ckpt.split (param $steps i64) (param $free i64) (result i64)
    ;; where to take the next snapshot (checkpoint.split)
    (local $s i64) (local $r i64) (local $c i64) (local $m i64) (local $x i64)
    (if (i32.or (i64.le_s (local.get $free) (i64.const 0))
                (i64.le_s (local.get $steps) (i64.const 1)))
      (then (return (i64.const 0))))
    (local.set $s (i64.add (local.get $free) (i64.const 1)))
    (local.set $c (i64.const 1))
    (block $done (loop $next
      (br_if $done (i64.ge_s (local.get $c) (local.get $steps)))
      (local.set $r (i64.add (local.get $r) (i64.const 1)))
      (local.set $c (i64.div_u (i64.mul (local.get $c) (i64.add (local.get $s) (local.get $r)))
                               (local.get $r)))
      (br $next)))
    (local.set $m (i64.const 1))
    (if (i64.ge_s (local.get $r) (i64.const 2))
      (then (local.set $m (call $ckpt.binom
        (i64.sub (i64.add (local.get $s) (local.get $r)) (i64.const 2))
        (i64.sub (local.get $r) (i64.const 2))))))
    (local.set $x (i64.sub (local.get $steps) (call $ckpt.binom
      (i64.sub (i64.add (local.get $s) (local.get $r)) (i64.const 1)) (local.get $r))))
    (if (i64.gt_s (local.get $x) (local.get $m)) (then (local.set $m (local.get $x))))
    (if (i64.lt_s (local.get $m) (i64.const 1)) (then (local.set $m (i64.const 1))))
    (if (i64.gt_s (local.get $m) (i64.sub (local.get $steps) (i64.const 1)))
      (then (local.set $m (i64.sub (local.get $steps) (i64.const 1)))))
    (local.get $m)
  )
  (func $ckpt.ceil (param $a i64) (param $b i64) (result i64)
    (i64.div_s (i64.sub (i64.add (local.get $a) (local.get $b)) (i64.const 1)) (local.get $b))
  )
  (func $ckpt.fail (param $site i32)
    (global.set $error_site (local.get $site))
    (global.set $error_code (i32.const 5))
    unreachable
  )
  (func $ckpt.init (param $n i64) (param $snaps i64) (param $memory i64) (param $state i64)
                   (param $tape i64) (param $site i32) (result i32)
    ;; the header, pushed onto the tape; the segment length and the snapshots it allows
    (local $h i32) (local $len i64) (local $total i64) (local $snap i64) (local $step i64)
    (local $disc f64) (local $m f64) (local $done i32) (local $n1 i64)
    (if (i32.gt_u (i32.add (global.get $sp) (i32.const {HEADER})) (global.get $tape_end))
      (then (call $tape.reserve (i32.const {HEADER}))))
    (local.set $h (global.get $sp))
    (global.set $sp (i32.add (global.get $sp) (i32.const {HEADER})))
    (local.set $snap (i64.add (local.get $state) (i64.const 16)))
    ;; (memory grows by pages of 64 KiB: the last one is not the budget's)
    (if (i64.gt_s (local.get $memory) (i64.const 131072))
      (then (local.set $memory (i64.sub (local.get $memory) (i64.const 65536)))))
    (local.set $step (local.get $tape))
    (if (i64.lt_s (local.get $step) (i64.const 8)) (then (local.set $step (i64.const 8))))
    (local.set $n1 (local.get $n))
    (if (i64.lt_s (local.get $n1) (i64.const 1)) (then (local.set $n1 (i64.const 1))))
    (if (i64.gt_s (local.get $snaps) (i64.const 0))
      (then (local.set $len (i64.const 1)) (local.set $total (local.get $snaps)))
    (else (if (i64.gt_s (local.get $memory) (i64.const 0))
      (then
        (if (i32.and (i64.ge_s (local.get $n) (i64.const 0))
                     (i64.le_s (i64.mul (local.get $n1) (local.get $step))
                               (i64.sub (local.get $memory) (local.get $snap))))
          (then (local.set $len (local.get $n1)) (local.set $total (i64.const 1))
                (local.set $done (i32.const 1))))
        (if (i32.and (i32.eqz (local.get $done)) (i64.ge_s (local.get $n) (i64.const 0)))
          (then
            (local.set $m (f64.convert_i64_s (local.get $memory)))
            (local.set $disc (f64.sub (f64.mul (local.get $m) (local.get $m))
              (f64.mul (f64.const 4) (f64.mul (f64.convert_i64_s (local.get $n1))
                (f64.mul (f64.convert_i64_s (local.get $snap))
                         (f64.convert_i64_s (local.get $step)))))))
            (if (f64.ge (local.get $disc) (f64.const 0))
              (then
                (local.set $len (i64.trunc_f64_s (f64.div
                  (f64.add (local.get $m) (f64.sqrt (local.get $disc)))
                  (f64.mul (f64.const 2) (f64.convert_i64_s (local.get $step))))))
                (if (i64.lt_s (local.get $len) (i64.const 1)) (then (local.set $len (i64.const 1))))
                (if (i64.gt_s (local.get $len) (local.get $n1))
                  (then (local.set $len (local.get $n1))))
                (block $fit (loop $shrink
                  (br_if $fit (i64.le_s (local.get $len) (i64.const 1)))
                  (br_if $fit (i64.le_s (i64.add
                    (i64.mul (call $ckpt.ceil (local.get $n1) (local.get $len)) (local.get $snap))
                    (i64.mul (local.get $len) (local.get $step))) (local.get $memory)))
                  (local.set $len (i64.sub (local.get $len) (i64.const 1)))
                  (br $shrink)))
                (local.set $total (call $ckpt.ceil (local.get $n1) (local.get $len)))
                (if (i64.le_s (i64.add (i64.mul (local.get $total) (local.get $snap))
                                       (i64.mul (local.get $len) (local.get $step)))
                              (local.get $memory))
                  (then (local.set $done (i32.const 1))))))))
        (if (i32.eqz (local.get $done))
          (then
            (local.set $len (i64.div_s (i64.div_s (local.get $memory) (i64.const 2))
                                       (local.get $step)))
            (if (i64.lt_s (local.get $len) (i64.const 1)) (then (local.set $len (i64.const 1))))
            (local.set $total (i64.div_s (i64.div_s (local.get $memory) (i64.const 2))
                                         (local.get $snap)))
            (if (i32.or (i64.lt_s (local.get $total) (i64.const 1))
                        (i64.lt_s (local.get $memory)
                                  (i64.add (local.get $snap) (local.get $step))))
              (then (call $ckpt.fail (local.get $site)))))))
      (else (if (i64.ge_s (local.get $n) (i64.const 0))
        (then
          (local.set $len (i64.add (i64.trunc_f64_s (f64.sqrt (f64.convert_i64_s
            (i64.sub (local.get $n1) (i64.const 1))))) (i64.const 1)))
          (local.set $total (call $ckpt.ceil (local.get $n1) (local.get $len))))
        (else (local.set $len (i64.const 1024)) (local.set $total (i64.const 64))))))))
    (if (i64.lt_s (local.get $snaps) (i64.const 0)) (then (call $ckpt.fail (local.get $site))))
    {_set("n", "(local.get $n)")}
    {_set("length", "(local.get $len)")}
    {_set("total", "(local.get $total)")}
    {_set("record", "(local.get $snap)")}
    {_set("count", "(i64.const 0)")}
    {_set("fpos", "(i64.const 0)")}
    {_set("ffree", "(i64.sub (local.get $total) (i64.const 1))")}
    (if (i64.ge_s (local.get $n) (i64.const 0))
      (then
        {_set("steps", "(call $ckpt.ceil (local.get $n) (local.get $len))")}
        {_set("fdone", "(i64.extend_i32_u (i64.eqz (local.get $n)))")}
        {_set("end", _get("steps"))}
        {_set("cur", _get("steps"))})
      (else  ;; online: at most half the slots while the loop runs
        (if (i64.lt_s (local.get $total) (i64.const 2)) (then (local.set $total (i64.const 2))))
        {_set("total", "(local.get $total)")}
        {_set("cap", "(i64.div_s (local.get $total) (i64.const 2))")}
        {_set("spacing", "(local.get $len)")}
        {_set("next", "(i64.const 0)")}))
    (local.get $h)
  )
  (func $ckpt.forward (param $h i32) (result i64 i64)
    ;; the forward run's next segment (lo, hi) in iterations; lo = -1 when it is over
    (local $lo i64) (local $hi i64) (local $steps i64) (local $free i64) (local $len i64)
    (if (i64.ne {_get("fdone")} (i64.const 0))
      (then (return (i64.const -1) (i64.const -1))))
    (local.set $lo {_get("fpos")})
    (local.set $steps {_get("steps")})
    (local.set $free {_get("ffree")})
    (local.set $len {_get("length")})
    (if (i32.and (i64.gt_s (i64.sub (local.get $steps) (local.get $lo)) (i64.const 1))
                 (i64.gt_s (local.get $free) (i64.const 0)))
      (then (local.set $hi (i64.add (local.get $lo)
              (call $ckpt.split (i64.sub (local.get $steps) (local.get $lo)) (local.get $free)))))
      (else (local.set $hi (local.get $steps)) {_set("fdone", "(i64.const 1)")}))
    {_set("fpos", "(local.get $hi)")}
    {_set("ffree", "(i64.sub (local.get $free) (i64.const 1))")}
    (i64.mul (local.get $lo) (local.get $len))
    (call $ckpt.clip (local.get $h) (i64.mul (local.get $hi) (local.get $len)))
  )
  (func $ckpt.clip (param $h i32) (param $i i64) (result i64)
    (if (result i64) (i64.gt_s (local.get $i) {_get("n")})
      (then {_get("n")}) (else (local.get $i)))
  )
  (func $ckpt.push (param $h i32) (param $at i64) (result i32)
    ;; a new record for the state before iteration $at: its address (where the caller
    ;; stores the state); online, records are thinned first when they fill half the slots
    (local $count i64) (local $a i32) (local $free i64) (local $j i64) (local $kept i64)
    (local $spacing i64) (local $online i32)
    (local.set $online (i64.lt_s {_get("n")} (i64.const 0)))
    (local.set $count {_get("count")})
    (local.set $a {_frame("(local.get $count)")})
    (if (i32.gt_u (i32.add (local.get $a) (i32.wrap_i64 {_get("record")})) (global.get $tape_end))
      (then (global.set $sp (local.get $a))
            (call $tape.reserve (i32.wrap_i64 {_get("record")}))))
    (global.set $sp (i32.add (local.get $a) (i32.wrap_i64 {_get("record")})))
    (if (i64.eqz (local.get $count))
      (then (local.set $free (i64.sub {_get("total")} (i64.const 1))))
      (else (local.set $free (i64.sub (i64.load offset=8
              {_frame("(i64.sub (local.get $count) (i64.const 1))")}) (i64.const 1)))))
    (i64.store (local.get $a) (if (result i64) (local.get $online) (then (local.get $at))
      (else (i64.div_s (local.get $at) {_get("length")}))))
    (i64.store offset=8 (local.get $a) (local.get $free))
    (local.set $count (i64.add (local.get $count) (i64.const 1)))
    {_set("count", "(local.get $count)")}
    (if (i32.eqz (local.get $online)) (then (return (local.get $a))))
    (local.set $spacing {_get("spacing")})
    (block $thin (loop $again
      (br_if $thin (i64.le_s (local.get $count) {_get("cap")}))
      (local.set $spacing (i64.mul (local.get $spacing) (i64.const 2)))
      (local.set $j (i64.const 0))
      (local.set $kept (i64.const 0))
      (block $done (loop $each
        (br_if $done (i64.ge_s (local.get $j) (local.get $count)))
        (if (i64.eqz (i64.rem_s (i64.load {_frame("(local.get $j)")}) (local.get $spacing)))
          (then
            (memory.copy {_frame("(local.get $kept)")} {_frame("(local.get $j)")}
                         (i32.wrap_i64 {_get("record")}))
            (local.set $kept (i64.add (local.get $kept) (i64.const 1)))))
        (local.set $j (i64.add (local.get $j) (i64.const 1)))
        (br $each)))
      (local.set $count (local.get $kept))
      (br $again)))
    {_set("count", "(local.get $count)")}
    {_set("spacing", "(local.get $spacing)")}
    {_set("next", "(i64.mul (i64.add (i64.div_s (local.get $at) (local.get $spacing)) "
                  "(i64.const 1)) (local.get $spacing))")}
    (global.set $sp {_frame("(local.get $count)")})
    (if (result i32) (i64.eqz (i64.rem_s (local.get $at) (local.get $spacing)))
      (then {_frame("(i64.sub (local.get $count) (i64.const 1))")})
      (else (global.get $sp)))  ;; (not kept: written above the tape, never read)
  )
  (func $ckpt.top (param $h i32) (result i32)
    ;; the record of the snapshot being loaded (the last one)
    {_frame("(i64.sub " + _get("count") + " (i64.const 1))")}
  )
  (func $ckpt.end (param $h i32) (param $n i64)
    ;; a while loop ran $n iterations: positions in segments, each piece's free slots
    (local $j i64) (local $count i64) (local $a i32) (local $free i64) (local $len i64)
    (local.set $len {_get("length")})
    {_set("n", "(local.get $n)")}
    {_set("steps", "(call $ckpt.ceil (local.get $n) (local.get $len))")}
    {_set("end", _get("steps"))}
    {_set("cur", _get("steps"))}
    (local.set $count {_get("count")})
    (block $done (loop $each
      (br_if $done (i64.ge_s (local.get $j) (local.get $count)))
      (local.set $a {_frame("(local.get $j)")})
      (i64.store (local.get $a) (i64.div_s (i64.load (local.get $a)) (local.get $len)))
      (local.set $free (i64.sub {_get("total")} (i64.add (local.get $j) (i64.const 1))))
      (if (i64.lt_s (local.get $free) (i64.const 0)) (then (local.set $free (i64.const 0))))
      (i64.store offset=8 (local.get $a) (local.get $free))
      (local.set $j (i64.add (local.get $j) (i64.const 1)))
      (br $each)))
  )
  (func $ckpt.next (param $h i32) (result i64 i64 i64)
    ;; the next action of the reversal: (op, lo, hi) in iterations; op 0: done (the
    ;; header is popped)
    (local $count i64) (local $a i64) (local $b i64) (local $free i64) (local $t i64)
    (local $cur i64) (local $len i64) (local $f i32)
    (local.set $len {_get("length")})
    (loop $again
      (local.set $count {_get("count")})
      (if (i64.eqz (local.get $count))
        (then (global.set $sp (local.get $h))
              (return (i64.const 0) (i64.const 0) (i64.const 0))))
      (local.set $f {_frame("(i64.sub (local.get $count) (i64.const 1))")})
      (local.set $a (i64.load (local.get $f)))
      (local.set $free (i64.load offset=8 (local.get $f)))
      (local.set $b {_get("end")})
      (if (i64.le_s (local.get $b) (local.get $a))
        (then
          {_set("count", "(i64.sub (local.get $count) (i64.const 1))")}
          (global.set $sp (local.get $f))
          {_set("end", "(local.get $a)")}
          (br $again)))
      (if (i64.eq (i64.sub (local.get $b) (local.get $a)) (i64.const 1))
        (then (local.set $t (local.get $a)))
        (else (if (i64.le_s (local.get $free) (i64.const 0))
          (then (local.set $t (i64.sub (local.get $b) (i64.const 1))))
          (else (local.set $t (i64.add (local.get $a) (call $ckpt.split
            (i64.sub (local.get $b) (local.get $a)) (local.get $free))))))))
      (local.set $cur {_get("cur")})
      (if (i32.or (i64.lt_s (local.get $cur) (local.get $a))
                  (i64.gt_s (local.get $cur) (local.get $t)))
        (then
          {_set("cur", "(local.get $a)")}
          (return (i64.const 1) (i64.mul (local.get $a) (local.get $len))
                  (i64.mul (local.get $a) (local.get $len)))))
      (if (i64.lt_s (local.get $cur) (local.get $t))
        (then
          {_set("cur", "(local.get $t)")}
          (return (i64.const 3) (i64.mul (local.get $cur) (local.get $len))
                  (call $ckpt.clip (local.get $h) (i64.mul (local.get $t) (local.get $len))))))
      (if (i32.or (i64.eq (i64.sub (local.get $b) (local.get $a)) (i64.const 1))
                  (i64.le_s (local.get $free) (i64.const 0)))
        (then
          {_set("end", "(local.get $t)")}
          {_set("cur", "(i64.const -1)")}
          (return (i64.const 4) (i64.mul (local.get $t) (local.get $len))
                  (call $ckpt.clip (local.get $h)
                    (i64.mul (i64.add (local.get $t) (i64.const 1)) (local.get $len))))))
      (return (i64.const 2) (i64.mul (local.get $t) (local.get $len))
              (i64.mul (local.get $t) (local.get $len))))
    unreachable
  )
"""


def checkpoint_maker(obj) -> bool:
    """Whether ``obj`` (a name's meaning in the adjoint) makes a ``Checkpoints``."""
    return isinstance(obj, functools.partial) and obj.func is Checkpoints


class CheckpointEmitter:
    """The statements of checkpointed loops, in WAT (mixed into FunctionEmitter)."""

    def ckpt_scan(self) -> None:
        """Names of the schedule (``_ckpt``), ranges, segment bounds: their types, before the
        kinds of the rest are inferred."""
        self.ckpts: dict[str, dict] = {}
        self.ranges: dict[str, tuple] = {}
        for s in ir.walk_statements(self.fdef.body):
            if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and \
                    isinstance(s.value, gast.Call):
                t = s.targets[0].id
                obj = self.resolve(s.value.func) if isinstance(s.value.func, gast.Name) and \
                    s.value.func.id in self.injected else None
                if checkpoint_maker(obj):
                    self.ckpts[t] = {"maker": obj}
                    self.types[t] = I32
                elif isinstance(s.value.func, gast.Name) and s.value.func.id == "range" and \
                        any(self._ckpt_range_use(t, x) for x in ir.walk(self.fdef)):
                    self.ranges[t] = ()
                    self.types[t] = I64
        if not self.ckpts:
            return
        self.ctx.checkpoints = True
        for s in ir.walk_statements(self.fdef.body):
            if isinstance(s, gast.For) and self._ckpt_call(s.iter, ("forward", "backward")):
                for e in s.target.elts:
                    self.types[e.id] = I64

    def ckpt_visible(self, body):
        """``body`` as the kinds inference sees it: a load from a snapshot gives the names
        the values they had (it is left out), a loop over a range's slice is a loop over a
        range."""
        if not getattr(self, "ckpts", None):
            return body

        def visit(stmts):
            out = []
            for s in stmts:
                if isinstance(s, gast.Assign) and self._ckpt_call(s.value, ("load",)):
                    continue
                s = ir.clone(s) if isinstance(s, (gast.If, gast.For, gast.While)) else s
                if isinstance(s, gast.For):
                    it = s.iter
                    rev = isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and \
                        it.func.id == "reversed"
                    inner = it.args[0] if rev else it
                    if isinstance(inner, gast.Subscript) and isinstance(inner.value, gast.Name) \
                            and inner.value.id in self.ranges or \
                            isinstance(it, gast.Name) and it.id in self.ranges:
                        s.iter = ir.call("range", ir.const(0))
                if isinstance(s, (gast.If, gast.For, gast.While)):
                    s.body = visit(s.body)
                    s.orelse = visit(s.orelse)
                out.append(s)
            return out

        return visit(body)

    @staticmethod
    def _ckpt_range_use(name, node) -> bool:
        """A read of a range that a checkpointed loop iterates (a slice, or the whole)."""
        if isinstance(node, gast.For) and isinstance(node.iter, gast.Name):
            return node.iter.id == name
        return isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and \
            node.value.id == name and isinstance(node.slice, gast.Slice)

    def _ckpt_call(self, e, methods) -> str | None:
        """The schedule's name when ``e`` is ``_ckpt.<method>(...)``."""
        if isinstance(e, gast.Call) and isinstance(e.func, gast.Attribute) and \
                isinstance(e.func.value, gast.Name) and e.func.value.id in \
                getattr(self, "ckpts", {}) and e.func.attr in methods:
            return e.func.value.id
        return None

    def ckpt_attribute(self, e) -> bool:
        return isinstance(e, gast.Attribute) and isinstance(e.value, gast.Name) and \
            e.value.id in getattr(self, "ckpts", {}) and e.attr == "next"

    # -- statements -----------------------------------------------------------------------
    def ckpt_assign(self, s) -> bool:
        target, value = s.targets[0], s.value
        if isinstance(target, gast.Name) and target.id in getattr(self, "ranges", {}):
            start, stop, step = self._range_parts(value, s)
            self.ranges[target.id] = self.range_locals(start, stop, step, f"{target.id}.")
            return True
        if isinstance(target, gast.Name) and target.id in getattr(self, "ckpts", {}):
            self._ckpt_init(target.id, value, s)
            return True
        if self._ckpt_call(value, ("load",)):
            names = target.elts if isinstance(target, gast.Tuple) else [target]
            self._ckpt_load(value, [n.id for n in names], s)
            return True
        return False

    def ckpt_expr(self, s) -> bool:
        v = s.value
        name = self._ckpt_call(v, ("save", "end", "load"))
        if name is None:
            return False
        if v.func.attr == "save":
            self._ckpt_save(v, s)
        elif v.func.attr == "load":
            self._ckpt_load(v, [], s)
        else:
            self.emit(f"local.get ${name}")
            self.expr(v.args[0], I64)
            self.emit("call $ckpt.end")
        return True

    def _ckpt_init(self, name, value, s) -> None:
        maker = self.ckpts[name]["maker"]
        n_arg, state = value.args[0], value.args[1]
        options = {k.arg: k.value for k in value.keywords}
        items = [e.id for e in state.elts]
        self.ckpts[name]["state"] = items
        self.emit(f";; {name}: the schedule of the checkpointed loop (line {self._line(s)})")
        # n (-1: a while loop), snapshots, memory, the state's bytes, one iteration's tape
        if isinstance(n_arg, gast.Constant) and n_arg.value is None:
            self.emit("i64.const -1")
        elif isinstance(n_arg, gast.Call) and isinstance(n_arg.args[0], gast.Name) and \
                n_arg.args[0].id in self.ranges:
            self.emit(f"local.get ${self.ranges[n_arg.args[0].id][2]}")
        else:
            raise self.refuse("this checkpointed loop", s)
        if "snapshots" in options:
            self.expr(options["snapshots"], I64)
            self._ckpt_snapshots_check(s)
        else:
            self.emit("i64.const 0")
        if "memory" in options:
            m = options["memory"]
            if isinstance(m, gast.Constant):
                self.emit(f"i64.const {parse_memory(m.value)}")
            else:
                self.expr(m, I64)
        else:
            self.emit("i64.const 0")
        _, arrays, offset = self._ckpt_layout(name)
        self.emit(f"i64.const {offset - 16}")  # (the numbers; a record's header is 16 bytes)
        for item, t in arrays:
            self._array_bytes(item, t)
            self.emit("i64.add")
        if "tape" in options:
            raise self.refuse("a memory budget for a loop whose inner loops' lengths are "
                              "known only when it starts (give snapshots=<count>)", s)
        numbers, _tuples, pushed_arrays = maker.keywords.get("tape", (0, 0, 0))
        if pushed_arrays and "memory" in options:
            raise self.refuse("a memory budget for a loop that tapes arrays (give "
                              "snapshots=<count>)", s)
        self.emit(f"i64.const {8 * (numbers + pushed_arrays)}")
        self.emit(f"i32.const {self.ctx.site(self.fir, s)}")
        self.emit("call $ckpt.init")
        self.emit(f"local.set ${name}")
        self.pushed = True

    def _ckpt_snapshots_check(self, s) -> None:
        """snapshots < 1 traps (code 5) at the loop: -1 reaches init, which fails."""
        tmp = self.hidden_local("snaps", I64)
        self.emit(f"local.tee ${tmp}")
        self.emit("i64.const 1")
        self.emit("i64.lt_s")
        self.emit(f"(if (result i64) (then i64.const -1) (else local.get ${tmp}))")

    def _ckpt_layout(self, name):
        """``([(local, type, offset)], [(array, type)], end of the numbers)`` of a record: the
        state in the order saved, a tuple of numbers as its items' locals."""
        from .wasm_emit import Arr

        out = []
        offset = 16
        arrays = []
        for item in self.ckpts[name]["state"]:
            t = self.types.get(item)
            if isinstance(t, Arr):
                arrays.append((item, t))
                continue
            for local in self._items([item]):
                lt = self.types.setdefault(local, self.hidden.get(local, t))
                out.append((local, lt, offset))
                offset += 8
        return out, arrays, offset

    def _ckpt_save(self, v, s) -> None:
        name = v.func.value.id
        addr = self.hidden_local("record", I32)
        self.emit(";; save a snapshot of the state")
        self.emit(f"local.get ${name}")
        self.expr(v.args[0], I64)
        self.emit("call $ckpt.push")
        self.emit(f"local.set ${addr}")
        numbers, arrays, offset = self._ckpt_layout(name)
        for item, t, off in numbers:
            self.emit(f"local.get ${addr}")
            self.expr(ir.name(item), t)
            if t == I32:
                self.emit("i64.extend_i32_u")
                t = I64
            self.emit(f"{t}.store offset={off}")
        self._ckpt_copy_arrays(addr, arrays, offset, into_record=True)

    def _array_bytes(self, item, t) -> None:
        """Push the bytes of array ``item`` (i64): 8 times its extents."""
        self.emit("i64.const 8")
        for d in range(t.ndim):
            self.emit(f"local.get ${item}.n{d}")
            self.emit("i64.mul")

    def _ckpt_copy_arrays(self, addr, arrays, offset, into_record: bool) -> None:
        at = self.hidden_local("at", I32)
        size = self.hidden_local("size", I32)
        self.emit(f"local.get ${addr}\n    i32.const {offset}\n    i32.add\n"
                  f"    local.set ${at}")
        for item, t in arrays:
            self._array_bytes(item, t)
            self.emit(f"i32.wrap_i64\n    local.set ${size}")
            if into_record:
                self.emit(f"local.get ${at}\n    local.get ${item}\n    local.get ${size}")
            else:
                self.emit(f"local.get ${item}\n    local.get ${at}\n    local.get ${size}")
            self.emit("memory.copy")
            self.emit(f"local.get ${at}\n    local.get ${size}\n    i32.add\n"
                      f"    local.set ${at}")

    def _ckpt_load(self, v, targets, s) -> None:
        name = v.func.value.id
        addr = self.hidden_local("record", I32)
        self.emit(f";; load the snapshot into {', '.join(targets) or 'its arrays'}")
        self.emit(f"local.get ${name}")
        self.emit("call $ckpt.top")
        self.emit(f"local.set ${addr}")
        numbers, arrays, offset = self._ckpt_layout(name)
        for local, t, off in numbers:  # (the names load() rebinds: the state's, in order)
            self.emit(f"local.get ${addr}")
            slot = F64 if t == F64 else I64
            self.emit(f"{slot}.load offset={off}")
            self.convert(slot, t)
            self.emit(f"local.set ${local}")
        self._ckpt_copy_arrays(addr, arrays, offset, into_record=False)

    def ckpt_for(self, s) -> bool:
        """The forward run's segments, the reversal's actions, and the loops over a range's
        slice (``_range[_lo:_hi]``, reversed or not)."""
        it = s.iter
        name = self._ckpt_call(it, ("forward", "backward"))
        if name is not None:
            return self._ckpt_driver(s, name, it.func.attr)
        if isinstance(it, gast.Name) and it.id in getattr(self, "ranges", {}):
            # the whole range (a loop that may exit early: its forward run)
            start, step, n = self.ranges[it.id]
            stop = self.hidden_local("stop", I64)
            self.emit(f"local.get ${start}\n    local.get ${n}\n    local.get ${step}\n"
                      f"    i64.mul\n    i64.add\n    local.set ${stop}")
            self.types[stop] = I64
            self.types.setdefault(start, I64)
            self.types.setdefault(step, I64)
            new = gast.For(target=s.target, iter=ir.call("range", ir.name(start),
                                                          ir.name(stop), ir.name(step)),
                           body=s.body, orelse=[], type_comment=None)
            self.for_loop(ir.at(new, s))
            return True
        rev = isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and \
            it.func.id == "reversed"
        inner = it.args[0] if rev else it
        if not (isinstance(inner, gast.Subscript) and isinstance(inner.value, gast.Name)
                and inner.value.id in getattr(self, "ranges", {})
                and isinstance(inner.slice, gast.Slice)):
            return False
        start, step, _ = self.ranges[inner.value.id]
        lo, hi = inner.slice.lower, inner.slice.upper
        # range(start + lo * step, start + hi * step, step), as the plain loop over range
        bounds = []
        for e in (lo, hi):
            local = self.hidden_local("bound", I64)
            self.emit(f"local.get ${start}")
            self.expr(e, I64)
            self.emit(f"local.get ${step}\n    i64.mul\n    i64.add\n    local.set ${local}")
            bounds.append(ir.name(local))
            self.types[local] = I64
        rng = ir.call("range", bounds[0], bounds[1], ir.name(step))
        self.types.setdefault(step, I64)
        new = gast.For(target=s.target, iter=ir.call("reversed", rng) if rev else rng,
                       body=s.body, orelse=[], type_comment=None)
        ir.at(new, s)
        self.for_loop(new)
        return True

    def _ckpt_driver(self, s, name, method) -> bool:
        targets = [e.id for e in s.target.elts]
        exit_, top = self._open_loop()
        if method == "forward":
            self.emit(f"local.get ${name}")
            self.emit("call $ckpt.forward")
            self.emit(f"local.set ${targets[1]}")
            self.emit(f"local.tee ${targets[0]}")
            self.emit("i64.const 0")
            self.emit("i64.lt_s")
            self.emit(f"br_if {exit_}")
            body = s.body
        else:
            self.emit(f"local.get ${name}")
            self.emit("call $ckpt.next")
            self.emit(f"local.set ${targets[2]}")
            self.emit(f"local.set ${targets[1]}")
            self.emit(f"local.tee ${targets[0]}")
            self.emit("i64.eqz")
            self.emit(f"br_if {exit_}")
            body = [ir.clone(x) for x in s.body]
            for node in ir.walk_block(body):
                if isinstance(node, gast.Constant) and node.value in OPS:
                    node.value = OPS[node.value]
        self._close_loop(exit_, top, body)
        return True
