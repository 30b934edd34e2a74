"""NumPy coverage against autograd's: every public function autograd differentiates (its
``numpy_vjps``, ``linalg`` and ``fft`` modules, read from autograd 1.7's rule table and
listed here so that autograd need not be installed) either has a rule in s2sad's one table
(each checked by tests/test_rules.py) or is in the README's list of what is missing -- the
README's list is checked to be exactly what is missing."""

import re
from pathlib import Path

import numpy as np

from s2sad import rules

AUTOGRAD = """
absolute add amax amin angle arccos arccosh arcsin arcsinh arctan arctan2 arctanh
array_split atleast_1d atleast_2d atleast_3d broadcast_to cholesky clip conjugate cos cosh
cross cumsum deg2rad degrees det diag diagonal diff divide dot dsplit eig eigh einsum exp exp2
expand_dims expm1 fabs fft fft2 fftn fftshift fliplr flipud fmax fmin full gradient hsplit
hypot ifft ifft2 ifftn ifftshift imag inner inv irfft irfft2 irfftn kron linspace log log10
log1p log2 logaddexp logaddexp2 matmul max maximum mean min minimum moveaxis multiply
nan_to_num negative norm outer pad partition pinv power prod rad2deg radians ravel real
real_if_close reciprocal remainder repeat reshape rfft rfft2 rfftn roll rollaxis rot90 sin
sinc sinh slogdet solve sort split sqrt square squeeze std subtract sum svd swapaxes tan tanh
tensordot tile trace transpose tril triu var vsplit where
""".split()

# autograd.scipy.special's rules (1.7): scipy.special functions, checked the same way
AUTOGRAD_SPECIAL = """
beta betainc betaln polygamma psi digamma gamma gammaln gammainc gammaincc gammasgn rgamma
multigammaln j0 y0 j1 y1 jn yn i0 i1 iv ive erf erfc erfinv erfcinv logit expit logsumexp
""".split()

README = Path(__file__).resolve().parent.parent / "README.md"


def covered(name: str) -> bool:
    for module in (np, np.linalg, np.fft):
        obj = getattr(module, name, None)
        if obj is not None and (rules.lookup(obj) is not None
                                or rules.lookup_for_arrays(obj) is not None
                                or rules.is_nondifferentiable(obj)):
            return True
    return False


def test_coverage_and_the_readme_agree():
    missing = sorted(n for n in AUTOGRAD if not covered(n))
    text = " ".join(README.read_text().split())  # (the paragraph is wrapped)
    m = re.search(r"Not yet \(of autograd's \d+\): ([^.]*)\.", text)
    assert m, "the README's NumPy coverage paragraph is missing"
    listed = sorted(x.strip().strip("`") for x in m.group(1).replace("\n", " ").split(",")
                    if x.strip() != "none")
    assert listed == missing
    count = re.search(r"s2sad differentiates (\d+) of the (\d+)", text)
    assert count and int(count.group(1)) == len(AUTOGRAD) - len(missing) and \
        int(count.group(2)) == len(AUTOGRAD)
    assert len(AUTOGRAD) - len(missing) >= 90


def test_scipy_special_coverage_and_the_readme_agree():
    import scipy.special as sp

    missing = [n for n in AUTOGRAD_SPECIAL if rules.lookup(getattr(sp, n)) is None
               and not rules.is_nondifferentiable(getattr(sp, n))]
    assert not missing
    text = " ".join(README.read_text().split())
    assert f"all {len(AUTOGRAD_SPECIAL)} of autograd's `scipy.special` functions" in text
