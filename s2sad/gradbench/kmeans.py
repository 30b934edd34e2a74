"""GradBench's kmeans eval: the k-means cost and one Newton step direction, the gradient
divided by the Hessian times ones (JAX's jvp of grad: here forward over reverse)."""

import numpy as np

from s2sad.gradbench import timed
from s2sad.higher import hvp_transformations


def costfun(points, centers):
    def all_pairs_norm(a, b):
        a_sqr = np.sum(a ** 2, 1)[None, :]
        b_sqr = np.sum(b ** 2, 1)[:, None]
        diff = np.matmul(a, b.T).T
        return a_sqr + b_sqr - 2 * diff

    dists = all_pairs_norm(points, centers)
    min_dist = np.min(dists, axis=0)
    return min_dist.sum()


_tangents = {}  # argument ranks -> the tangent of the gradient (built by warm_up)


def _hvp(points, centroids):
    key = (points.ndim, centroids.ndim)
    if key not in _tangents:
        _tangents[key] = hvp_transformations(costfun, (points, centroids), ["centers"],
                                             ["centers"])[1].jvp
    return _tangents[key]


def _prepare(raw):
    return (np.array(raw["points"], dtype=np.float64),
            np.array(raw["centroids"], dtype=np.float64))


@timed(_prepare, float)
def cost(data):
    return costfun(*data)


@timed(_prepare, lambda x: x.tolist())
def dir(data):  # noqa: A001 (GradBench's name)
    points, centroids = data
    (_, gradient), (_, hessian_ones) = _hvp(points, centroids)(
        points, centroids, 1.0, np.ones(centroids.shape))
    return gradient / hessian_ones


def warm_up():
    rng = np.random.default_rng(0)
    _hvp(rng.random((6, 2)), rng.random((3, 2)))
