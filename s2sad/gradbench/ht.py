"""GradBench's ht eval: hand tracking -- the residuals between observed points and a skinned
hand model posed by ``theta`` (and, in the complicated variant, by barycentric coordinates
``us`` on the model's triangles), and their Jacobian.  The PyTorch tool's objective with
``torch`` replaced by NumPy (``torch.transpose(a, 0, 1)`` is ``np.swapaxes(a, 0, 1)``); the
Jacobian by forward mode, one column per parameter (``s2sad.jacobian(mode="fwd")``), laid out
as the tool lays it out (the complicated variant's ``us`` part as the two columns of each
point's 3x2 block)."""

import numpy as np

import s2sad
from s2sad.gradbench import timed


def to_pose_params(theta, nbones):
    pose_params = np.zeros((int(nbones) + 3, 3), dtype=np.float64)

    pose_params[0, :] = theta[0:3]
    pose_params[1, :] = np.ones((3,))
    pose_params[2, :] = theta[3:6]

    i_theta = 6
    i_pose_params = 5
    n_fingers = 5
    for i_finger in range(n_fingers):  # noqa: B007 (as the PyTorch tool writes it)
        for i in [1, 2, 3]:
            pose_params[i_pose_params, 0] = theta[i_theta]
            i_theta += 1
            if i == 1:
                pose_params[i_pose_params, 1] = theta[i_theta]
                i_theta += 1
            i_pose_params += 1
        i_pose_params += 1

    return pose_params


def euler_angles_to_rotation_matrix(xzy):
    tx = xzy[0]
    ty = xzy[2]
    tz = xzy[1]

    Rx = np.eye(3)
    Rx[1, 1] = np.cos(tx)
    Rx[2, 1] = np.sin(tx)
    Rx[1, 2] = -Rx[2, 1]
    Rx[2, 2] = Rx[1, 1]

    Ry = np.eye(3)
    Ry[0, 0] = np.cos(ty)
    Ry[2, 0] = np.sin(ty)
    Ry[0, 2] = -Ry[2, 0]
    Ry[2, 2] = Ry[0, 0]

    Rz = np.eye(3)
    Rz[0, 0] = np.cos(tz)
    Rz[1, 0] = np.sin(tz)
    Rz[0, 1] = -Rz[1, 0]
    Rz[1, 1] = Rz[0, 0]

    return (Rz @ Ry) @ Rx


def get_posed_relatives(pose_params, base_relatives):
    def inner(rot_param, base_relative):
        tr = np.eye(4, dtype=np.float64)
        R = euler_angles_to_rotation_matrix(rot_param)
        tr[:3, :3] = R
        return base_relative @ tr

    relatives = np.stack(
        [
            inner(pose_params[3:][i], base_relatives[i])
            for i in range(len(pose_params[3:]))
        ]
    )

    return relatives


def relatives_to_absolutes(relatives, parents):
    absolutes = []
    for i in range(relatives.shape[0]):
        if parents[i] == -1:
            absolutes.append(relatives[i])
        else:
            absolutes.append(absolutes[parents[i]] @ relatives[i])

    return np.stack(absolutes)


def angle_axis_to_rotation_matrix(angle_axis):
    n = np.sqrt(np.sum(angle_axis**2))

    def aa2R():
        angle_axis_normalized = angle_axis / n
        x = angle_axis_normalized[0]
        y = angle_axis_normalized[1]
        z = angle_axis_normalized[2]
        s, c = np.sin(n), np.cos(n)
        R = np.zeros((3, 3), dtype=np.float64)
        R[0, 0] = x * x + (1 - x * x) * c
        R[0, 1] = x * y * (1 - c) - z * s
        R[0, 2] = x * z * (1 - c) + y * s

        R[1, 0] = x * y * (1 - c) + z * s
        R[1, 1] = y * y + (1 - y * y) * c
        R[1, 2] = y * z * (1 - c) - x * s

        R[2, 0] = x * z * (1 - c) - y * s
        R[2, 1] = z * y * (1 - c) + x * s
        R[2, 2] = z * z + (1 - z * z) * c
        return R

    if n < 0.0001:
        return np.eye(3)
    else:
        return aa2R()


def apply_global_transform(pose_params, positions):
    R = angle_axis_to_rotation_matrix(pose_params[0])
    s = pose_params[1]
    R *= s
    t = pose_params[2]
    return np.swapaxes(R @ np.swapaxes(positions, 0, 1), 0, 1) + t


def get_skinned_vertex_positions(
    pose_params,
    base_relatives,
    parents,
    inverse_base_absolutes,
    base_positions,
    weights,
    mirror_factor,
):
    relatives = get_posed_relatives(pose_params, base_relatives)

    absolutes = relatives_to_absolutes(relatives, parents)

    transforms = np.stack(
        [(absolutes[i] @ inverse_base_absolutes[i]) for i in range(len(absolutes))]
    )

    positions = np.swapaxes(
        np.swapaxes(
            np.stack(
                [
                    transforms[i, :, :] @ np.swapaxes(base_positions, 0, 1)
                    for i in range(transforms.shape[0])
                ]
            ),
            0,
            2,
        ),
        1,
        2,
    )

    positions2 = np.sum(positions * weights.reshape((*weights.shape, 1)), 1)[:, :3]

    positions3 = apply_global_transform(pose_params, positions2)

    return positions3


def hand_objective(
    params,
    nbones,
    parents,
    base_relatives,
    inverse_base_absolutes,
    base_positions,
    weights,
    mirror_factor,
    points,
    correspondences,
):
    pose_params = to_pose_params(params, nbones)
    vertex_positions = get_skinned_vertex_positions(
        pose_params,
        base_relatives,
        parents,
        inverse_base_absolutes,
        base_positions,
        weights,
        mirror_factor,
    )

    err = np.stack(
        [
            points[i] - vertex_positions[int(correspondences[i])]
            for i in range(points.shape[0])
        ]
    )

    return err


def hand_objective_complicated(
    all_params,
    nbones,
    parents,
    base_relatives,
    inverse_base_absolutes,
    base_positions,
    weights,
    mirror_factor,
    points,
    correspondences,
    triangles,
):
    npts = points.shape[0]
    us = all_params[: 2 * npts].reshape((npts, 2))
    theta = all_params[2 * npts :]
    pose_params = to_pose_params(theta, nbones)
    vertex_positions = get_skinned_vertex_positions(
        pose_params,
        base_relatives,
        parents,
        inverse_base_absolutes,
        base_positions,
        weights,
        mirror_factor,
    )

    def get_hand_pt(u, triangle):
        return (
            u[0] * vertex_positions[int(triangle[0])]
            + u[1] * vertex_positions[int(triangle[1])]
            + (1.0 - u[0] - u[1]) * vertex_positions[int(triangle[2])]
        )

    err = np.stack(
        [
            points[i] - get_hand_pt(us[i], triangles[int(correspondences[i])])
            for i in range(points.shape[0])
        ]
    )

    return err


def _prepare(raw):
    data, model = raw["data"], raw["data"]["model"]
    params = (
        int(model["bone_count"]),
        np.asarray(model["parents"], dtype=np.int32),
        np.asarray(model["base_relatives"], dtype=np.float64),
        np.asarray(model["inverse_base_absolutes"], dtype=np.float64),
        np.asarray(model["base_positions"], dtype=np.float64),
        np.asarray(model["weights"], dtype=np.float64),
        bool(model["is_mirrored"]),
        np.asarray(data["points"], dtype=np.float64),
        np.asarray(data["correspondences"], dtype=np.int32),
    )
    theta = np.asarray(raw["theta"], dtype=np.float64)
    us = np.asarray(raw.get("us") or [], dtype=np.float64)
    if us.size:  # the complicated variant
        triangles = np.asarray(model["triangles"], dtype=np.int32)
        return hand_objective_complicated, np.append(us.ravel(), theta), params + (triangles,)
    return hand_objective, theta, params


@timed(_prepare, lambda err: err.ravel().tolist())
def objective(data):
    f, inputs, params = data
    return f(inputs, *params)


def _directions(inputs, params, complicated):
    """The tangents whose jvps are the Jacobian's columns: one per theta; in the complicated
    variant two more for ``us`` -- point i's residuals depend on ``us[i]`` only, so moving
    every ``us[i][0]`` at once gives each point's first column of its 3x2 block."""
    n = inputs.size
    if not complicated:
        return np.eye(n)
    nus = 2 * params[7].shape[0]
    theta = np.zeros((n - nus, n))
    theta[:, nus:] = np.eye(n - nus)
    us = np.zeros((2, n))
    us[0, 0:nus:2] = 1.0
    us[1, 1:nus:2] = 1.0
    return np.vstack([us, theta])


def _jacobian(data):
    f, inputs, params = data
    complicated = f is hand_objective_complicated
    zeros = [0.0] * len(params)
    columns = [s2sad.jvp(f, (inputs, *params), (d, *zeros))[1].ravel()
               for d in _directions(inputs, params, complicated)]
    return np.stack(columns, axis=1)


jacobian = timed(_prepare, lambda jac: jac.tolist())(_jacobian)


def warm_up():
    rng = np.random.default_rng(0)
    nbones, nverts, npts = 22, 4, 3  # (to_pose_params places 22 bones' angles)
    parents = np.arange(-1, nbones - 1, dtype=np.int32)
    relatives = np.tile(np.eye(4), (nbones, 1, 1))
    positions = np.hstack([rng.random((nverts, 3)), np.ones((nverts, 1))])
    weights = rng.random((nverts, nbones))
    points = rng.random((npts, 3))
    correspondences = np.array([0, 1, 2], dtype=np.int32)
    triangles = np.array([[0, 1, 2], [1, 2, 3], [0, 2, 3]], dtype=np.int32)
    params = (nbones, parents, relatives, relatives, positions, weights, False, points,
              correspondences)
    theta = rng.random(26) * 0.1
    for f, inputs, extra in ((hand_objective, theta, ()),
                             (hand_objective_complicated,
                              np.append(rng.random(2 * npts), theta), (triangles,))):
        _jacobian((f, inputs, params + extra))
