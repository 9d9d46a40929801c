"""Datasets with TensorFlow Playground's geometry, features, splits and CSV import."""

import numpy as np
import pytest

from playground.datasets import DATASETS, InputScaling, features, make_split, network_inputs, read_points_csv
from playground.experiment import Data, ExperimentError


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_shapes_labels_and_balance(name):
    X, y = DATASETS[name](500, 0.0, np.random.default_rng(0))
    assert X.shape == (500, 2) and X.dtype == np.float32 and y.shape == (500,)
    assert set(np.unique(y)) == {0.0, 1.0}
    assert 0.3 < y.mean() < 0.7
    assert np.abs(X).max() <= 6.0


def test_circle_geometry():
    X, y = DATASETS["circle"](1000, 0.0, np.random.default_rng(0))
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all(r[y == 1] < 2.5) and np.all((r[y == 0] >= 3.5) & (r[y == 0] <= 5))


def test_xor_and_gauss_geometry():
    X, y = DATASETS["xor"](1000, 0.0, np.random.default_rng(0))
    assert np.all((X[:, 0] * X[:, 1] >= 0) == (y == 1)) and np.abs(X).min() >= 0.3
    X, y = DATASETS["gauss"](1000, 0.0, np.random.default_rng(0))
    np.testing.assert_allclose(X[y == 1].mean(0), [2, 2], atol=0.15)
    assert X[y == 1].var(0).mean() == pytest.approx(0.5, rel=0.15)
    X, _ = DATASETS["gauss"](1000, 0.5, np.random.default_rng(0))
    assert X[:500].var(0).mean() == pytest.approx(4.0, rel=0.15)


def test_noise_flips_some_circle_labels():
    X, y = DATASETS["circle"](2000, 0.5, np.random.default_rng(0))
    r = np.hypot(X[:, 0], X[:, 1])
    wrong = np.mean((r < 3) != (y == 1))
    assert 0.02 < wrong < 0.4


def test_features():
    points = np.array([[1.0, 2.0], [-3.0, 0.5]], np.float32)
    out = features(points, ("x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2"))
    np.testing.assert_allclose(out[0], [1, 2, 1, 4, 2, np.sin(1), np.sin(2)], rtol=1e-6)
    assert out.flags.c_contiguous and out.dtype == np.float32


def test_split_is_seeded_and_follows_train_fraction():
    data = Data(dataset="spiral", n_points=200, train_fraction=0.3)
    a, b, c = make_split(data, 0), make_split(data, 0), make_split(data, 1)
    assert len(a.train_points) == 60 and len(a.test_points) == 140
    np.testing.assert_array_equal(a.train_points, b.train_points)
    assert not np.array_equal(a.train_points, c.train_points)
    assert not a.train_points.flags.writeable


def test_custom_points_are_used_as_given():
    points = [[float(i), 0.0, i % 2] for i in range(20)]
    split = make_split(Data(points=points, train_fraction=0.5), 0)
    assert len(split.train_points) == 10
    together = np.concatenate([split.train_points[:, 0], split.test_points[:, 0]])
    assert sorted(together.tolist()) == [float(i) for i in range(20)]


ALL_FEATURES = ("x1", "x2", "x1_sq", "x2_sq", "x1x2", "sin_x1", "sin_x2")


def test_standardize_measures_the_training_split_and_applies_it_to_the_test_split():
    split = make_split(Data(dataset="spiral", features=ALL_FEATURES), 3)
    assert split.scaling is not None and split.scaling.features == ALL_FEATURES
    train = network_inputs(split.train_points, ALL_FEATURES, split.scaling)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0), 1.0, rtol=1e-4)
    raw_test = features(split.test_points, ALL_FEATURES)
    expected = (raw_test - np.array(split.scaling.mean)) / np.array(split.scaling.std)  # the train statistics
    np.testing.assert_allclose(network_inputs(split.test_points, ALL_FEATURES, split.scaling), expected,
                               rtol=1e-5, atol=1e-5)
    assert not np.allclose(network_inputs(split.test_points, ALL_FEATURES, split.scaling).mean(axis=0), 0.0,
                           atol=1e-4)  # test statistics are not used
    assert np.std(features(split.train_points, ("x1_sq",))) > 5  # what the network would see without it


def test_standardize_off_keeps_raw_inputs_and_a_constant_feature_is_only_shifted():
    split = make_split(Data(dataset="circle", standardize=False), 0)
    assert split.scaling is None
    np.testing.assert_array_equal(network_inputs(split.train_points, ("x1", "x2"), None),
                                  features(split.train_points, ("x1", "x2")))
    flat = np.column_stack([np.full(12, 2.0), np.arange(12.0)]).astype(np.float32)
    scaling = InputScaling.measure(flat, ("x1", "x2"))
    assert scaling.std[0] == 1.0 and scaling.mean[0] == 2.0
    assert np.all(np.isfinite(scaling.apply(features(flat, ("x1", "x2")))))
    with pytest.raises(ValueError, match="measured on"):
        network_inputs(flat, ("x1",), scaling)


def test_csv_import_skips_junk_rows_with_a_warning(tmp_path):
    path = tmp_path / "points.csv"
    good = "\n".join(f"{i},{-i},{i % 2}" for i in range(12))
    path.write_text("x,y,label\n" + good + "\nhello,world,1\n1,2\n3,4,7\n5,6,-1\n")
    points = read_points_csv(path)
    rows, warnings = [list(row) for row in points.rows], points.warnings
    assert len(rows) == 13 and rows[-1] == [5.0, 6.0, 0]  # -1 (TF Playground's) reads as 0
    assert len(warnings) == 3 and "line 14" in warnings[0]


def test_csv_with_too_few_rows_is_refused(tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("1,2,0\n3,4,1\n")
    with pytest.raises(ExperimentError, match="few.csv: 2 usable rows; need at least 10"):
        read_points_csv(path)
    with pytest.raises(ExperimentError, match="cannot read"):
        read_points_csv(tmp_path / "nope.csv")
