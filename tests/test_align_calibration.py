"""Loading DSEC calibration: the YAML and rectify map, the homography, and clear errors."""

from __future__ import annotations

import copy
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from egpt_dsec.source.calibration import (
    Calibration,
    load_calibration,
    load_rectify_map,
    parse_cam_to_cam,
    rectify_map_path,
)
from egpt_dsec.source.errors import InputError
from egpt_dsec.synth.calibration import SynthCalibration, rotation

# The layout of a real DSEC cam_to_cam.yaml (keys and nesting as DSEC's tools read them;
# the numbers are made up). Extra keys (camera_type, disparity_to_depth, ...) are ignored.
DSEC_STYLE_YAML = """\
disparity_to_depth:
  cams_03:
  - [1.0, 0.0, 0.0, -335.0]
  - [0.0, 1.0, 0.0, -221.0]
  - [0.0, 0.0, 0.0, 570.0]
  - [0.0, 0.0, 1.7, 0.0]
extrinsics:
  R_rect0:
  - [0.99993, -0.00231, 0.01148]
  - [0.00235, 0.99999, -0.00347]
  - [-0.01147, 0.00349, 0.99993]
  R_rect1:
  - [0.99986, -0.01303, -0.01076]
  - [0.01306, 0.99991, 0.00318]
  - [0.01072, -0.00332, 0.99994]
  T_10:
  - [0.99969, 0.00965, 0.02306, -0.0441]
  - [-0.00972, 0.99995, 0.00292, 0.0005]
  - [-0.02303, -0.00314, 0.99973, -0.0123]
  - [0.0, 0.0, 0.0, 1.0]
intrinsics:
  cam0:
    camera_matrix: [555.7, 555.8, 342.6, 215.3]
    distortion_coeffs: [-0.091, 0.183, -0.0007, 0.0004]
    distortion_model: radtan
    resolution: [640, 480]
  camRect0:
    camera_location: left
    camera_matrix: [569.8, 569.8, 335.1, 221.2]
    camera_model: pinhole
    camera_type: event
    is_rectified: true
    resolution: [640, 480]
  camRect1:
    camera_location: left
    camera_matrix:
    - 1164.6
    - 1164.6
    - 713.6
    - 570.9
    camera_model: pinhole
    camera_type: frame
    is_rectified: true
    resolution: [1440, 1080]
"""


def synth_calibration(frame_size: tuple[int, int] = (1440, 1080)) -> SynthCalibration:
    return SynthCalibration.random(np.random.default_rng(11), frame_size)


def write_yaml(seq: Path, data: object) -> Path:
    path = seq / "calibration" / "cam_to_cam.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return seq


def project(k: np.ndarray, points: np.ndarray) -> np.ndarray:
    p = k @ points
    return p[:2] / p[2]


def far_points(n: int = 50) -> np.ndarray:
    """Points 1000 km away in the event camera's frame, spread over its field of view."""
    rng = np.random.default_rng(0)
    rays = np.stack([rng.uniform(-0.6, 0.6, n), rng.uniform(-0.45, 0.45, n), np.ones(n)])
    return rays * 1e6


def test_dsec_style_yaml_parses(tmp_path: Path) -> None:
    calib = load_calibration(write_yaml(tmp_path, DSEC_STYLE_YAML))
    assert calib.frame_rect.size == (1440, 1080) and calib.event_rect.size == (640, 480)
    assert (calib.event_rect.fx, calib.event_rect.cx, calib.event_rect.cy) == (569.8, 335.1, 221.2)
    assert calib.frame_from_event[0, 2] == 0.02306  # T_10's rotation, as written
    h = calib.frame_to_event_homography()
    centre = h @ np.array([719.5, 539.5, 1.0])
    assert np.all(np.abs(centre[:2] / centre[2] - [319.5, 239.5]) < 80)


def test_synthetic_yaml_round_trips(tmp_path: Path) -> None:
    synth = synth_calibration()
    calib = load_calibration(write_yaml(tmp_path, synth.cam_to_cam()))
    assert calib.event_rect == synth.event_rect and calib.frame_rect == synth.frame_rect
    np.testing.assert_array_equal(calib.event_rotation, synth.event_rotation)
    np.testing.assert_array_equal(calib.frame_rotation, synth.frame_rotation)
    np.testing.assert_array_equal(calib.frame_from_event, synth.frame_from_event)


def test_homography_matches_projection_of_distant_points() -> None:
    """Project the same far points into both rectified cameras; H carries one to the other."""
    s = synth_calibration()
    x0 = far_points()
    in_event = project(s.event_rect.matrix @ s.event_rotation, x0)
    x1 = s.frame_from_event @ x0 + np.array([[-0.044], [0.001], [-0.013]])
    in_frame = project(s.frame_rect.matrix @ s.frame_rotation, x1)
    h = s.calibration().frame_to_event_homography()
    mapped = project(h, np.vstack([in_frame, np.ones(in_frame.shape[1])]))
    assert np.abs(mapped - in_event).max() < 1e-3
    assert np.abs(in_frame * (640 / 1440) - in_event).max() > 3  # not aligned by a resize


def test_homography_accounts_for_resized_frames_and_output() -> None:
    s = synth_calibration()
    x0 = far_points()
    in_event = project(s.event_rect.matrix @ s.event_rotation, x0)
    in_frame = project(s.frame_rect.matrix @ s.frame_rotation, s.frame_from_event @ x0)
    small = (in_frame + 0.5) * 0.25 - 0.5  # the frame resized to 360x270 (pixel centres)
    h = s.calibration().frame_to_event_homography(frame_size=(360, 270), out_size=(320, 240))
    mapped = project(h, np.vstack([small, np.ones(small.shape[1])]))
    np.testing.assert_allclose(mapped, (in_event + 0.5) * 0.5 - 0.5, atol=1e-6)


def test_right_camera_uses_t32_inverted() -> None:
    """Right side: T_32 takes the frame camera (cam2) to the event camera (cam3)."""
    r_32 = rotation(0.01, -0.02, 0.005)
    t_32 = np.eye(4)
    t_32[:3, :3] = r_32
    data = {
        "intrinsics": {
            "camRect3": {"camera_matrix": [570.0, 570.0, 320.0, 240.0], "resolution": [640, 480]},
            "camRect2": {
                "camera_matrix": [1160.0, 1160.0, 720.0, 540.0],
                "resolution": [1440, 1080],
            },
        },
        "extrinsics": {
            "R_rect3": np.eye(3).tolist(),
            "R_rect2": np.eye(3).tolist(),
            "T_32": t_32.tolist(),
        },
    }
    calib = parse_cam_to_cam(data, "right")
    x2 = far_points()  # points in the frame camera cam2
    in_event = project(calib.event_rect.matrix, r_32 @ x2)
    in_frame = project(calib.frame_rect.matrix, x2)
    mapped = project(calib.frame_to_event_homography(), np.vstack([in_frame, np.ones(50)]))
    assert np.abs(mapped - in_event).max() < 1e-6


def _broken(change: str) -> dict:
    data = copy.deepcopy(synth_calibration().cam_to_cam())
    if change == "no camRect1":
        del data["intrinsics"]["camRect1"]
    elif change == "short matrix":
        data["intrinsics"]["camRect0"]["camera_matrix"] = [570.0, 570.0, 320.0]
    elif change == "nan":
        data["extrinsics"]["R_rect1"][0][0] = float("nan")
    elif change == "not a rotation":
        data["extrinsics"]["R_rect0"][0][0] = 2.0
    elif change == "T_10 3x3":
        data["extrinsics"]["T_10"] = data["extrinsics"]["T_10"][:3]
    elif change == "text":
        data["extrinsics"]["T_10"] = "identity"
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("no camRect1", "no 'camRect1' under intrinsics"),
        ("short matrix", r"camRect0/camera_matrix has shape \(3,\), expected \(4,\)"),
        ("nan", "R_rect1 holds non-finite values"),
        ("not a rotation", "R_rect0 is not a rotation matrix"),
        ("T_10 3x3", r"T_10 has shape \(3, 4\)"),
        ("text", "T_10 is not a list of numbers"),
    ],
)
def test_malformed_yaml_is_an_input_error(tmp_path: Path, change: str, message: str) -> None:
    seq = write_yaml(tmp_path, _broken(change))
    with pytest.raises(InputError, match=message) as info:
        load_calibration(seq)
    assert info.value.path == seq / "calibration/cam_to_cam.yaml"
    assert "train_calibration.zip" in info.value.fix


def test_missing_or_unreadable_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing") as info:
        load_calibration(tmp_path)
    assert (
        "test_calibration.zip" in info.value.fix and "calibration/cam_to_cam.yaml" in info.value.fix
    )
    with pytest.raises(InputError, match="unreadable YAML"):
        load_calibration(write_yaml(tmp_path, "intrinsics: [unclosed\n"))
    with pytest.raises(InputError, match="no 'intrinsics' under the top level"):
        load_calibration(write_yaml(tmp_path, "- just a list\n"))


def write_map(path: Path, data: np.ndarray, name: str = "rectify_map") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.create_dataset(name, data=data)


@pytest.mark.parametrize("folder", ["events/left", "events_left"])
def test_rectify_map_in_either_layout(tmp_path: Path, folder: str) -> None:
    expected = synth_calibration().rectify_map()
    write_map(tmp_path / folder / "rectify_map.h5", expected)
    assert rectify_map_path(tmp_path) == tmp_path / folder / "rectify_map.h5"
    got = load_rectify_map(tmp_path)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (np.zeros((480, 640, 3), np.float32), "rectify_map", "expected float"),
        (np.zeros((480, 640, 2), np.int32), "rectify_map", "expected float"),
        (np.full((480, 640, 2), np.inf, np.float32), "rectify_map", "non-finite"),
        (np.zeros((480, 640, 2), np.float32), "map", "no 'rectify_map' dataset"),
    ],
)
def test_bad_rectify_map(tmp_path: Path, data: np.ndarray, name: str, message: str) -> None:
    write_map(tmp_path / "events/left/rectify_map.h5", data, name)
    with pytest.raises(InputError, match=message) as info:
        load_rectify_map(tmp_path)
    assert "rectify_map.h5 ships beside events.h5" in info.value.fix


def test_missing_or_corrupt_rectify_map(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing"):
        load_rectify_map(tmp_path)
    path = tmp_path / "events/left/rectify_map.h5"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="unreadable HDF5"):
        load_rectify_map(tmp_path)


def test_unknown_camera() -> None:
    with pytest.raises(ValueError, match="camera must be one of"):
        parse_cam_to_cam({}, "middle")
    assert isinstance(synth_calibration().calibration(), Calibration)
