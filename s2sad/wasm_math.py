"""The math library of emitted Wasm modules, written in the scalar subset s2sad compiles.

Wasm has sqrt, abs, floor, ceil, min, max and copysign as instructions and nothing else, and a
call from Wasm back into Python costs microseconds, so each module carries its own versions of
the functions below, compiled by wasm_emit from this file.  They follow the published
algorithms (fdlibm / musl: argument reduction then a polynomial; Kahan's and Goldberg's
formulations for expm1 and log1p) and run as ordinary Python too, which is how the tests check
them against Python's ``math`` (tests/test_wasm_math.py) before checking the compiled ones.

``ldexp``, ``frexp_mantissa`` and ``frexp_exponent`` are intrinsics: plain Python here, bit
operations in Wasm.  Known limit: sin, cos and tan reduce their argument with a three-part
pi/2 (Cody-Waite), exact for |x| <= 2**20 * pi/2; beyond it they refuse (``beyond_reduction``:
the module traps, an S2SADError) -- they gave sin(1e20) as 2.7e27.
"""

import math

INF = math.inf
PI = 3.141592653589793
PIO2_HI = 1.5707963267948966
PIO2_LO = 6.123233995736766e-17
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00
INV_PIO2 = 6.36619772367581382433e-01
PIO2_1 = 1.57079632673412561417e+00
PIO2_1T = 6.07710050650619224932e-11
PIO2_2 = 6.07710050630396597660e-11
PIO2_2T = 2.02226624879595063154e-21
PIO2_3 = 2.02226624871116645580e-21
PIO2_3T = 8.47842766036889956997e-32


def ldexp(y, k):
    """y * 2**k (intrinsic)."""
    return math.ldexp(y, k)


def frexp_mantissa(x):
    """m in [0.5, 1) with x = m * 2**e (intrinsic)."""
    return math.frexp(x)[0]


def scale2(y, k):
    """y * 2**k for a whole number k given as a float (intrinsic: the bits of 2**k)."""
    return math.ldexp(y, int(k))


# beyond this |x| the three-part pi/2 of _reduce_pio2 is not exact (2**20 * pi/2)
REDUCTION_LIMIT = 2 ** 20 * PI / 2


def beyond_reduction():
    """Stop: an argument of sin, cos or tan beyond REDUCTION_LIMIT (intrinsic: the module
    traps with error code 6, reported as an S2SADError; here, the same refusal)."""
    from .errors import S2SADError

    raise S2SADError(REDUCTION_MESSAGE)


REDUCTION_MESSAGE = ("math.sin, cos or tan of an argument beyond 2**20 * pi/2 in magnitude: "
                     "the Wasm backend reduces arguments exactly only below it")


def floorf(x):
    """floor(x) as a float (intrinsic: one f64.floor)."""
    return float(math.floor(x))


def frexp_exponent(x):
    """e with x = m * 2**e (intrinsic)."""
    return math.frexp(x)[1]


def exp(x):
    if x != x:
        return x
    if x > 709.782712893384:
        return INF
    if x < -745.1332191019412:
        return 0.0
    if abs(x) < 3.725290298461914e-09:
        return 1.0 + x
    k = floorf(x * INV_LN2 + 0.5)
    hi = x - k * LN2_HI
    lo = k * LN2_LO
    r = hi - lo
    t = r * r
    # fdlibm's polynomial by Estrin's scheme (its three pairs side by side: a shorter chain
    # of dependent operations than Horner's, which is what bounds a loop of exps)
    t2 = t * t
    c = r - t * ((1.66666666666666019037e-01 + t * -2.77777777770155933842e-03) + t2 * (
        (6.61375632143793436117e-05 + t * -1.65339022054652515390e-06)
        + t2 * 4.13813679705723846039e-08))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    return scale2(y, k)


def _log_parts(x):
    """fdlibm's log reduction: x = 2**e * (1 + f) with sqrt(2)/2 <= 1 + f < sqrt(2),
    s = f / (2 + f), and the two halves t1, t2 of the polynomial in s*s."""
    m = frexp_mantissa(x)
    e = frexp_exponent(x)
    if m < 0.7071067811865476:
        m = m * 2.0
        e = e - 1
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01
                                              + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 + w * (
        1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
    return e, f, s, t1, t2


def log(x):
    if x != x or x == INF:
        return x
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -INF
    e, f, s, t1, t2 = _log_parts(x)
    r = t2 + t1
    hfsq = 0.5 * f * f
    return e * LN2_HI - ((hfsq - (s * (hfsq + r) + e * LN2_LO)) - f)


def log1p(x):
    u = 1.0 + x
    if u == 1.0:
        return x
    if u == INF:
        return u
    return log(u) * x / (u - 1.0)


def expm1(x):
    if x != x:
        return x
    if abs(x) < 1e-5:
        return x + 0.5 * x * x + x * x * x / 6.0
    u = exp(x)
    if u == INF:
        return u
    if u == 1.0:
        return x
    um1 = u - 1.0
    if um1 == -1.0:
        return -1.0
    return um1 * x / log(u)


def log2(x):
    return log(x) * 1.4426950408889634


def log10(x):
    return log(x) * 0.4342944819032518


def tanh(x):
    # Cephes' tanh: a rational function below 0.625 (no expm1, which is an exp and a log
    # here: 50 ns a call, now one exp at most)
    a = abs(x)
    if a > 22.0:
        return math.copysign(1.0, x)
    if a >= 0.625:
        z = 1.0 - 2.0 / (exp(2.0 * a) + 1.0)
        return math.copysign(z, x)
    if a < 2.7755575615628914e-17:
        return x
    z = x * x
    p = (-9.64399179425052238628e-1 * z - 9.92877231001918586564e1) * z \
        - 1.61468768441708447952e3
    q = ((z + 1.12811678491632931402e2) * z + 2.23548839060100448583e3) * z \
        + 4.84406305325125486048e3
    return x + x * z * p / q


def sinh(x):
    a = abs(x)
    if a < 22.0:
        t = expm1(a)
        if a < 1.0:
            return math.copysign(0.5 * (2.0 * t - t * t / (t + 1.0)), x)
        return math.copysign(0.5 * (t + t / (t + 1.0)), x)
    if a < 709.7822265625:
        return math.copysign(0.5 * exp(a), x)
    w = exp(0.5 * a)
    return math.copysign(0.5 * w * w, x)


def cosh(x):
    a = abs(x)
    if a < 0.34657359027997264:
        t = expm1(a)
        w = 1.0 + t
        return 1.0 + (t * t) / (w + w)
    if a < 22.0:
        t = exp(a)
        return 0.5 * t + 0.5 / t
    if a < 709.7822265625:
        return 0.5 * exp(a)
    w = exp(0.5 * a)
    return 0.5 * w * w


def _reduce_pio2(x):
    """(y0, y1, fn): x = fn * pi/2 + (y0 + y1), |y0| <= pi/4, with pi/2 in three parts
    (Cody-Waite); the third part only when the first two leave a result small enough for
    their error to show.  Exact for |x| < 2**20 * pi/2."""
    y0 = x
    y1 = 0.0
    fn = 0.0
    if abs(x) > REDUCTION_LIMIT and abs(x) != INF:
        y0 = beyond_reduction()  # (no sin of 1e20 as 2.7e27: refused where it happens)
    if abs(x) >= 0.7853981633974483 and abs(x) != INF:
        fn = floorf(x * INV_PIO2 + 0.5)
        r = x - fn * PIO2_1
        t = r
        w = fn * PIO2_2
        r = t - w
        w = fn * PIO2_2T - ((t - r) - w)
        y0 = r - w
        if abs(y0) < 1e-6:
            t = r
            w = fn * PIO2_3
            r = t - w
            w = fn * PIO2_3T - ((t - r) - w)
            y0 = r - w
        y1 = (r - y0) - w
    return y0, y1, fn


def _sin_kernel(y0, y1):
    """sin(y0 + y1) for |y0| <= pi/4 (fdlibm's __sin)."""
    z = y0 * y0
    w = z * z
    r = 8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04
                                          + z * 2.75573137070700676789e-06) + z * w * (
        -2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)
    v = z * y0
    return y0 - ((z * (0.5 * y1 - v * r) - y1) - v * -1.66666666666666324348e-01)


def _cos_kernel(y0, y1):
    """cos(y0 + y1) for |y0| <= pi/4 (fdlibm's __cos)."""
    z = y0 * y0
    w = z * z
    r = z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03
                                               + z * 2.48015872894767294178e-05)) + w * w * (
        -2.75573143513906633035e-07 + z * (2.08757232129817482790e-09
                                           + z * -1.13596475577881948265e-11))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - y0 * y1))


def _sin_or_cos(x, shift):
    """sin(x) for shift 0, cos(x) for shift 1: the kernel of the quadrant."""
    if x != x or abs(x) == INF:
        return x - x
    if shift == 0.0 and abs(x) < 7.450580596923828e-09:
        return x
    y0, y1, fn = _reduce_pio2(x)
    q = fn + shift
    n = q - 4.0 * floorf(q * 0.25)  # the quadrant
    if n == 0.0:
        return _sin_kernel(y0, y1)
    if n == 1.0:
        return _cos_kernel(y0, y1)
    if n == 2.0:
        return -_sin_kernel(y0, y1)
    return -_cos_kernel(y0, y1)


def sincos(x):
    """(sin(x), cos(x)) from one argument reduction: both kernels of the quadrant.  The Wasm
    gradient of a loop that takes sin(u) tapes cos(u) from here instead of computing it
    again in the adjoint sweep."""
    y0, y1, fn = _reduce_pio2(x)
    n = fn - 4.0 * floorf(fn * 0.25)
    ks = _sin_kernel(y0, y1)
    kc = _cos_kernel(y0, y1)
    so = ks
    co = kc
    if n == 1.0:
        so = kc
        co = -ks
    elif n == 2.0:
        so = -ks
        co = -kc
    elif n == 3.0:
        so = -kc
        co = ks
    if x != x or abs(x) == INF:
        so = x - x
        co = x - x
    return so, co


def sin(x):
    return _sin_or_cos(x, 0.0)


def cos(x):
    return _sin_or_cos(x, 1.0)


def tan(x):
    return sin(x) / cos(x)


def atan(x):
    if x != x:
        return x
    a = abs(x)
    if a >= 7.37869762948382064640e+19:
        return math.copysign(PIO2_HI + PIO2_LO, x)
    hi = 0.0
    lo = 0.0
    reduced = True
    if a < 0.4375:
        if a < 3.725290298461914e-09:
            return x
        reduced = False
        t = a
    elif a < 0.6875:
        hi = 4.63647609000806093515e-01
        lo = 2.26987774529616870924e-17
        t = (2.0 * a - 1.0) / (2.0 + a)
    elif a < 1.1875:
        hi = 7.85398163397448278999e-01
        lo = 3.06161699786838301793e-17
        t = (a - 1.0) / (a + 1.0)
    elif a < 2.4375:
        hi = 9.82793723247329054082e-01
        lo = 1.39033110312309984516e-17
        t = (a - 1.5) / (1.0 + 1.5 * a)
    else:
        hi = 1.57079632679489655800e+00
        lo = 6.12323399573676603587e-17
        t = -1.0 / a
    z = t * t
    w = z * z
    s1 = z * (3.33333333333329318027e-01 + w * (1.42857142725034663711e-01 + w * (
        9.09088713343650656196e-02 + w * (6.66107313738753120669e-02 + w * (
            4.97687799461593236017e-02 + w * 1.62858201153657823623e-02)))))
    s2 = w * (-1.99999999998764832476e-01 + w * (-1.11111104054623557880e-01 + w * (
        -7.69187620504482999495e-02 + w * (-5.83357013379057348645e-02
                                           + w * -3.65315727442169155270e-02))))
    if not reduced:
        return math.copysign(t - t * (s1 + s2), x)
    return math.copysign(hi - ((t * (s1 + s2) - lo) - t), x)


def atan2(y, x):
    if x != x or y != y:
        return x + y
    if y == 0.0:
        if math.copysign(1.0, x) > 0.0:
            return y
        return math.copysign(PI, y)
    if x == 0.0:
        return math.copysign(PIO2_HI, y)
    if abs(x) == INF:
        if abs(y) == INF:
            if x > 0.0:
                return math.copysign(0.7853981633974483, y)
            return math.copysign(2.356194490192345, y)
        if x > 0.0:
            return math.copysign(0.0, y)
        return math.copysign(PI, y)
    if abs(y) == INF:
        return math.copysign(PIO2_HI, y)
    z = atan(abs(y / x))
    if x > 0.0:
        return math.copysign(z, y)
    return math.copysign(PI - (z - 1.2246467991473532e-16), y)


def asin(x):
    if abs(x) > 1.0:
        return math.nan
    return atan2(x, math.sqrt((1.0 - x) * (1.0 + x)))


def acos(x):
    if abs(x) > 1.0:
        return math.nan
    return atan2(math.sqrt((1.0 - x) * (1.0 + x)), x)


def hypot(x, y):
    a = abs(x)
    b = abs(y)
    if a == INF or b == INF:
        return INF
    if a != a or b != b:
        return a + b
    if a < b:
        t = a
        a = b
        b = t
    if a == 0.0:
        return 0.0
    r = b / a
    return a * math.sqrt(1.0 + r * r)


def _log_tail(x, hi):
    """The rounding error of ``hi = log(x)``: log(x) - hi, from a double-double evaluation of
    the same formula (two-sums and Dekker's exact square carry what rounding drops)."""
    e, f, s, t1, t2 = _log_parts(x)
    # f * f exactly: ff + ff_err (Veltkamp split)
    c = 134217729.0 * f
    fh = c - (c - f)
    fl = f - fh
    ff = f * f
    ff_err = ((fh * fh - ff) + 2.0 * fh * fl) + fl * fl
    hfsq = 0.5 * ff
    small = s * (hfsq + t2 + t1) + e * LN2_LO
    # (e * LN2_HI + f) - hfsq + small, each sum with its error (two-sum)
    a = e * LN2_HI
    b1 = a + f
    bb = b1 - a
    err1 = (a - (b1 - bb)) + (f - bb)
    b2 = b1 - hfsq
    bb = b2 - b1
    err2 = (b1 - (b2 - bb)) + (-hfsq - bb)
    total = b2 + small
    bb = total - b2
    err3 = (b2 - (total - bb)) + (small - bb)
    return (total - hi) + (err1 + err2 + err3 - 0.5 * ff_err)


def _pow_positive(a, y):
    """a ** y for a > 0: exp(y * log(a)) with log(a) in double-double and Dekker's exact
    product, so that the large |y log a| does not magnify rounding errors."""
    big = log(a)
    tail = _log_tail(a, big)
    p = y * big
    c = 134217729.0 * y
    yh = c - (c - y)
    yl = y - yh
    c = 134217729.0 * big
    bh = c - (c - big)
    bl = big - bh
    err = ((yh * bh - p) + yh * bl + yl * bh) + yl * bl
    e = exp(p)
    return e + e * (err + y * tail)


def pow(x, y):
    if y == 0.0 or x == 1.0:
        return 1.0
    if x != x or y != y:
        return x + y
    if x == 0.0:
        if y < 0.0:
            return INF
        return 0.0
    if y == math.floor(y) and abs(y) < 9007199254740992.0:
        # an integer exponent: a negative base keeps its sign for odd exponents
        r = _pow_positive(abs(x), y)
        if x < 0.0 and math.floor(y) % 2 == 1:
            return -r
        return r
    if x < 0.0:
        return math.nan
    return _pow_positive(x, y)


def asinh(x):
    a = abs(x)
    if a > 1e8:
        return math.copysign(log(a) + LN2_HI + LN2_LO, x)
    return math.copysign(log1p(a + a * a / (1.0 + math.sqrt(1.0 + a * a))), x)


def acosh(x):
    if x < 1.0:
        return math.nan
    if x > 1e8:
        return log(x) + LN2_HI + LN2_LO
    t = x - 1.0
    return log1p(t + math.sqrt(2.0 * t + t * t))


def atanh(x):
    a = abs(x)
    if a > 1.0:
        return math.nan
    return math.copysign(0.5 * log1p(2.0 * a / (1.0 - a)), x)


def degrees(x):
    return x * 57.29577951308232


def radians(x):
    return x * 0.017453292519943295


INTRINSICS = ("ldexp", "frexp_mantissa", "frexp_exponent", "floorf", "scale2",
              "beyond_reduction")


# erf and erfc: fdlibm's s_erf.c -- x + x*P/Q near 0, erx + P/Q around 1, and beyond 1.25
# exp(-x*x - 0.5625 + R/S) / x, with x*x split so that the big part is exact
ERX = 8.45062911510467529297e-01
EFX = 1.28379167095512586316e-01
PP0 = 1.28379167095512558561e-01
PP1 = -3.25042107247001499370e-01
PP2 = -2.84817495755985104766e-02
PP3 = -5.77027029648944159157e-03
PP4 = -2.37630166566501626084e-05
QQ1 = 3.97917223959155352819e-01
QQ2 = 6.50222499887672944485e-02
QQ3 = 5.08130628187576562776e-03
QQ4 = 1.32494738004321644526e-04
QQ5 = -3.96022827877536812320e-06
PA0 = -2.36211856075265944077e-03
PA1 = 4.14856118683748331666e-01
PA2 = -3.72207876035701323847e-01
PA3 = 3.18346619901161753674e-01
PA4 = -1.10894694282396677476e-01
PA5 = 3.54783043256182359371e-02
PA6 = -2.16637559486879084300e-03
QA1 = 1.06420880400844228286e-01
QA2 = 5.40397917702171048937e-01
QA3 = 7.18286544141962662868e-02
QA4 = 1.26171219808761642112e-01
QA5 = 1.36370839120290507362e-02
QA6 = 1.19844998467991074170e-02
RA0 = -9.86494403484714822705e-03
RA1 = -6.93858572707181764372e-01
RA2 = -1.05586262253232909814e+01
RA3 = -6.23753324503260060396e+01
RA4 = -1.62396669462573470355e+02
RA5 = -1.84605092906711035994e+02
RA6 = -8.12874355063065934246e+01
RA7 = -9.81432934416914548592e+00
SA1 = 1.96512716674392571292e+01
SA2 = 1.37657754143519042600e+02
SA3 = 4.34565877475229228821e+02
SA4 = 6.45387271733267880336e+02
SA5 = 4.29008140027567833386e+02
SA6 = 1.08635005541779435134e+02
SA7 = 6.57024977031928170135e+00
SA8 = -6.04244152148580987438e-02
RB0 = -9.86494292470009928597e-03
RB1 = -7.99283237680523006574e-01
RB2 = -1.77579549177547519889e+01
RB3 = -1.60636384855821916062e+02
RB4 = -6.37566443368389627722e+02
RB5 = -1.02509513161107724954e+03
RB6 = -4.83519191608651397019e+02
SB1 = 3.03380607434824582924e+01
SB2 = 3.25792512996573918826e+02
SB3 = 1.53672958608443695994e+03
SB4 = 3.19985821950859553908e+03
SB5 = 2.55305040643316442583e+03
SB6 = 4.74528541206955367215e+02
SB7 = -2.24409524465858183362e+01


def _erf_small(x):
    """(erf(x) - x) / x for |x| < 0.84375."""
    z = x * x
    r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)))
    s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))))
    return r / s


def _erf_near_one(a):
    """erf(a) - ERX for a in [0.84375, 1.25)."""
    s = a - 1.0
    p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))))
    q = 1.0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))))
    return p / q


def _erfc_tail(a):
    """erfc(a) for a in [1.25, 28)."""
    s = 1.0 / (a * a)
    if a < 2.857142857142857:
        r = RA0 + s * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7))))))
        q = 1.0 + s * (SA1 + s * (SA2 + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (
            SA7 + s * SA8)))))))
    else:
        r = RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6)))))
        q = 1.0 + s * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7))))))
    # z: a with its low mantissa bits cleared (21 significant bits), so z * z is exact
    z = ldexp(floorf(ldexp(frexp_mantissa(a), 21)), frexp_exponent(a) - 21)
    return exp(-z * z - 0.5625) * exp((z - a) * (z + a) + r / q) / a


def erf(x):
    if x != x:
        return x
    a = abs(x)
    if a < 0.84375:
        if a < 3.725290298461914e-09:
            return x + EFX * x
        return x + x * _erf_small(x)
    if a < 1.25:
        return math.copysign(ERX + _erf_near_one(a), x)
    if a >= 6.0:
        return math.copysign(1.0, x)
    return math.copysign(1.0 - _erfc_tail(a), x)


def erfc(x):
    if x != x:
        return x
    a = abs(x)
    if a < 0.84375:
        if a < 1.3877787807814457e-17:
            return 1.0 - x
        y = _erf_small(x)
        if a < 0.25:
            return 1.0 - (x + x * y)
        return 0.5 - (x * y + (x - 0.5))
    if a < 1.25:
        if x > 0.0:
            return (1.0 - ERX) - _erf_near_one(a)
        return 1.0 + (ERX + _erf_near_one(a))
    if a < 28.0:
        if x < -6.0:
            return 2.0
        if x > 0.0:
            return _erfc_tail(a)
        return 2.0 - _erfc_tail(a)
    if x > 0.0:
        return 0.0
    return 2.0


# lgamma: fdlibm's e_lgamma_r.c -- for x in (0, 2) a polynomial or rational function around
# 1, around the minimum at TC and around 2 (lgamma(x) = lgamma(x + 1) - log(x) below 0.9);
# in [2, 8) a rational function on [2, 3) and lgamma(1 + s) = log(s) + lgamma(s) up; beyond 8
# Stirling's (x - 0.5)(log(x) - 1) plus a series in 1/x; negative x by the reflection
# lgamma(x) = log(pi / |x sin(pi x)|) - lgamma(-x).  Poles (0 and the negative integers) give
# inf, as C's lgamma (Python's raises ValueError).
LG_A0 = 7.72156649015328655494e-02
LG_A1 = 3.22467033424113591611e-01
LG_A2 = 6.73523010531292681824e-02
LG_A3 = 2.05808084325167332806e-02
LG_A4 = 7.38555086081402883957e-03
LG_A5 = 2.89051383673415629091e-03
LG_A6 = 1.19270763183362067845e-03
LG_A7 = 5.10069792153511336608e-04
LG_A8 = 2.20862790713908385557e-04
LG_A9 = 1.08011567247583939954e-04
LG_A10 = 2.52144565451257326939e-05
LG_A11 = 4.48640949618915160150e-05
LG_TC = 1.46163214496836224576e+00
LG_TF = -1.21486290535849611461e-01
LG_TT = -3.63867699703950536541e-18
LG_T0 = 4.83836122723810047042e-01
LG_T1 = -1.47587722994593911752e-01
LG_T2 = 6.46249402391333854778e-02
LG_T3 = -3.27885410759859649565e-02
LG_T4 = 1.79706750811820387126e-02
LG_T5 = -1.03142241298341437450e-02
LG_T6 = 6.10053870246291332635e-03
LG_T7 = -3.68452016781138256760e-03
LG_T8 = 2.25964780900612472250e-03
LG_T9 = -1.40346469989232843813e-03
LG_T10 = 8.81081882437654011382e-04
LG_T11 = -5.38595305356740546715e-04
LG_T12 = 3.15632070903625950361e-04
LG_T13 = -3.12754168375120860518e-04
LG_T14 = 3.35529192635519073543e-04
LG_U0 = -7.72156649015328655494e-02
LG_U1 = 6.32827064025093366517e-01
LG_U2 = 1.45492250137234768737e+00
LG_U3 = 9.77717527963372745603e-01
LG_U4 = 2.28963728064692451092e-01
LG_U5 = 1.33810918536787660377e-02
LG_V1 = 2.45597793713041134822e+00
LG_V2 = 2.12848976379893395361e+00
LG_V3 = 7.69285150456672783825e-01
LG_V4 = 1.04222645593369134254e-01
LG_V5 = 3.21709242282423911810e-03
LG_S0 = -7.72156649015328655494e-02
LG_S1 = 2.14982415960608852501e-01
LG_S2 = 3.25778796408930981787e-01
LG_S3 = 1.46350472652464452805e-01
LG_S4 = 2.66422703033638609560e-02
LG_S5 = 1.84028451407337715652e-03
LG_S6 = 3.19475326584100867617e-05
LG_R1 = 1.39200533467621045958e+00
LG_R2 = 7.21935547567138069525e-01
LG_R3 = 1.71933865632803078993e-01
LG_R4 = 1.86459191715652901344e-02
LG_R5 = 7.77942496381893596434e-04
LG_R6 = 7.32668430744625636189e-06
LG_W0 = 4.18938533204672725052e-01
LG_W1 = 8.33333333333329678849e-02
LG_W2 = -2.77777777728775536470e-03
LG_W3 = 7.93650558643019558500e-04
LG_W4 = -5.95187557450339963135e-04
LG_W5 = 8.36339918996282139126e-04
LG_W6 = -1.63092934096575273989e-03


def _sin_pi(x):
    """sin(pi * x) for x < 0, its argument reduced exactly (|x| mod 2, then the quadrant's
    kernel); 0.0 at an integer."""
    if x > -0.25:
        return _sin_kernel(PI * x, 0.0)
    y = -x
    if floorf(y) == y:
        return 0.0
    y = 2.0 * (0.5 * y - floorf(0.5 * y))  # |x| mod 2
    n = floorf(y * 4.0)
    if n == 0.0:
        r = _sin_kernel(PI * y, 0.0)
    elif n <= 2.0:
        r = _cos_kernel(PI * (0.5 - y), 0.0)
    elif n <= 4.0:
        r = _sin_kernel(PI * (1.0 - y), 0.0)
    elif n <= 6.0:
        r = -_cos_kernel(PI * (y - 1.5), 0.0)
    else:
        r = _sin_kernel(PI * (y - 2.0), 0.0)
    return -r


def _lgamma_near(y, i):
    """lgamma near its zeros and its minimum, y measured from there: around 2 (i == 0), TC
    (i == 1) or 1 (i == 2); without the -log(x) of arguments below 0.9."""
    if i == 0.0:
        z = y * y
        p1 = LG_A0 + z * (LG_A2 + z * (LG_A4 + z * (LG_A6 + z * (LG_A8 + z * LG_A10))))
        p2 = z * (LG_A1 + z * (LG_A3 + z * (LG_A5 + z * (LG_A7 + z * (LG_A9 + z * LG_A11)))))
        return (y * p1 + p2) - 0.5 * y
    if i == 1.0:
        z = y * y
        w = z * y
        p1 = LG_T0 + w * (LG_T3 + w * (LG_T6 + w * (LG_T9 + w * LG_T12)))
        p2 = LG_T1 + w * (LG_T4 + w * (LG_T7 + w * (LG_T10 + w * LG_T13)))
        p3 = LG_T2 + w * (LG_T5 + w * (LG_T8 + w * (LG_T11 + w * LG_T14)))
        return LG_TF + (z * p1 - (LG_TT - w * (p2 + y * p3)))
    p1 = y * (LG_U0 + y * (LG_U1 + y * (LG_U2 + y * (LG_U3 + y * (LG_U4 + y * LG_U5)))))
    p2 = 1.0 + y * (LG_V1 + y * (LG_V2 + y * (LG_V3 + y * (LG_V4 + y * LG_V5))))
    return -0.5 * y + p1 / p2


def lgamma(x):
    if x != x:
        return x
    a = abs(x)
    if a == INF:
        return INF
    if a < 8.470329472543003e-22:  # (2**-70: -log|x|)
        return -log(a)
    nadj = 0.0
    if x < 0.0:
        if a >= 4503599627370496.0:  # (2**52: an integer, a pole)
            return INF
        t = _sin_pi(x)
        if t == 0.0:
            return INF
        nadj = log(PI / abs(t * x))
        x = a
    if x == 1.0 or x == 2.0:
        r = 0.0
    elif x < 2.0:
        if x < 0.9000000953674316:
            r = -log(x)
            if x >= 0.7315998077392578:
                r = r + _lgamma_near(1.0 - x, 0.0)
            elif x >= 0.23163998126983643:
                r = r + _lgamma_near(x - (LG_TC - 1.0), 1.0)
            else:
                r = r + _lgamma_near(x, 2.0)
        elif x >= 1.7316312789916992:
            r = _lgamma_near(2.0 - x, 0.0)
        elif x >= 1.2316322326660156:
            r = _lgamma_near(x - LG_TC, 1.0)
        else:
            r = _lgamma_near(x - 1.0, 2.0)
    elif x < 8.0:
        i = floorf(x)
        y = x - i
        p = y * (LG_S0 + y * (LG_S1 + y * (LG_S2 + y * (LG_S3 + y * (LG_S4 + y * (
            LG_S5 + y * LG_S6))))))
        q = 1.0 + y * (LG_R1 + y * (LG_R2 + y * (LG_R3 + y * (LG_R4 + y * (LG_R5 + y * LG_R6)))))
        r = 0.5 * y + p / q
        z = 1.0  # lgamma(1 + s) = log(s) + lgamma(s)
        if i >= 7.0:
            z = z * (y + 6.0)
        if i >= 6.0:
            z = z * (y + 5.0)
        if i >= 5.0:
            z = z * (y + 4.0)
        if i >= 4.0:
            z = z * (y + 3.0)
        if i >= 3.0:
            z = z * (y + 2.0)
            r = r + log(z)
    elif x < 2.8823037615171174e+17:  # (2**58)
        t = log(x)
        z = 1.0 / x
        y = z * z
        w = LG_W0 + z * (LG_W1 + y * (LG_W2 + y * (LG_W3 + y * (LG_W4 + y * (LG_W5 + y * LG_W6)))))
        r = (x - 0.5) * (t - 1.0) + w
    else:
        r = x * (log(x) - 1.0)
    if nadj != 0.0:
        r = nadj - r
    return r
