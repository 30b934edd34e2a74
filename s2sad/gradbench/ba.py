"""GradBench's ba eval: bundle adjustment -- the reprojection errors of p observations of m
points by n cameras, and their sparse Jacobian (the PyTorch tool's objective with ``torch``
replaced by NumPy; the Jacobian of each observation's two errors by two pullbacks,
``s2sad.jacobian(mode="rev")``, placed in the sparse matrix as the tool's BASparseMat does)."""

import numpy as np

import s2sad
from s2sad.gradbench import timed

BA_NCAMPARAMS = 11  # number of camera parameters for BA
ROT_IDX = 0
C_IDX = 3
F_IDX = 6
X0_IDX = 7
RAD_IDX = 9


def rodrigues_rotate_point(rot, X):
    sqtheta = np.sum(rot**2)
    if sqtheta != 0.0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        theta_inverse = 1.0 / theta

        w = theta_inverse * rot
        w_cross_X = np.cross(w, X)
        tmp = np.dot(w, X) * (1.0 - costheta)

        return X * costheta + w_cross_X * sintheta + w * tmp
    else:
        return X + np.cross(rot, X)


def radial_distort(rad_params, proj):
    rsq = np.sum(proj**2)
    L = 1.0 + rad_params[0] * rsq + rad_params[1] * rsq * rsq
    return proj * L


def project(cam, X):
    Xcam = rodrigues_rotate_point(cam[ROT_IDX : ROT_IDX + 3], X - cam[C_IDX : C_IDX + 3])
    distorted = radial_distort(cam[RAD_IDX : RAD_IDX + 2], Xcam[0:2] / Xcam[2])
    return distorted * cam[F_IDX] + cam[X0_IDX : X0_IDX + 2]


def compute_reproj_err(cam, X, w, feat):
    return w * (project(cam, X) - feat)


def compute_w_err(w):
    return 1.0 - w**2


_reproj_jacobian = s2sad.jacobian(compute_reproj_err, wrt=(0, 1, 2), mode="rev")
_w_err_grad = s2sad.grad(compute_w_err)


def _prepare(raw):
    n, m, p = int(raw["n"]), int(raw["m"]), int(raw["p"])
    cams = np.tile(np.asarray(raw["cam"], dtype=np.float64), (n, 1))
    X = np.tile(np.asarray(raw["x"], dtype=np.float64), (m, 1))
    w = np.tile(float(raw["w"]), p)
    feats = np.tile(np.asarray(raw["feat"], dtype=np.float64), (p, 1))
    obs = np.array([(i % n, i % m) for i in range(p)], dtype=int).reshape(p, 2)
    return n, m, p, cams, X, w, obs, feats


@timed(_prepare, lambda out: {
    "reproj_error": {"elements": out[0][:2].tolist(), "repeated": len(out[0]) // 2},
    "w_err": {"element": float(out[1][0]), "repeated": len(out[1])}})
def objective(data):
    n, m, p, cams, X, w, obs, feats = data
    reproj_error = np.empty((p, 2))
    w_err = np.empty(p)
    for j in range(p):
        reproj_error[j] = compute_reproj_err(cams[obs[j, 0]], X[obs[j, 1]], w[j], feats[j])
        w_err[j] = compute_w_err(w[j])
    return reproj_error.ravel(), w_err


def _dedup(values):
    return values[0:30] + [values[-1]]


@timed(_prepare, lambda mat: {"rows": _dedup([int(v) for v in mat[0]]),
                              "cols": _dedup([int(v) for v in mat[1]]),
                              "vals": _dedup([float(v) for v in mat[2]])})
def jacobian(data):
    n, m, p, cams, X, w, obs, feats = data
    rows, cols, vals = [0], [], []
    n_new_cols = BA_NCAMPARAMS + 3 + 1
    for j in range(p):
        cam_idx, pt_idx = obs[j]
        dcam, dx, dw = _reproj_jacobian(cams[cam_idx], X[pt_idx], w[j], feats[j])
        rows.append(rows[-1] + n_new_cols)
        rows.append(rows[-1] + n_new_cols)
        for r in range(2):
            cols.extend(BA_NCAMPARAMS * cam_idx + i for i in range(BA_NCAMPARAMS))
            vals.extend(dcam[r])
            cols.extend(BA_NCAMPARAMS * n + 3 * pt_idx + i for i in range(3))
            vals.extend(dx[r])
            cols.append(BA_NCAMPARAMS * n + 3 * m + j)
            vals.append(dw[r])
    for j in range(p):
        rows.append(rows[-1] + 1)
        cols.append(BA_NCAMPARAMS * n + 3 * m + j)
        vals.append(_w_err_grad(w[j]))
    return rows, cols, vals


def warm_up():
    cam = np.linspace(0.1, 1.1, BA_NCAMPARAMS)
    _reproj_jacobian(cam, np.array([0.3, 0.2, 5.0]), 0.7, np.array([0.1, 0.2]))
    _w_err_grad(0.7)
