"""The image CNN: learns a blob and a rod, masks ignored targets, is deterministic, 2D for one-slice images."""
from __future__ import annotations

from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest

from tests.training.ml.volumes import LABELS, write_volumes
from training.ml import imagecnn, metrics

PARAMS = imagecnn.ImageParams(epochs=6, size=16, depth=8, channels=8, lr=3e-3, seed=3)


@pytest.fixture(scope="module")
def volumes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("volumes")
    return {
        "train": write_volumes(folder / "train", 64, seed=1, missing=0.1),
        "validation": write_volumes(folder / "validation", 32, seed=2),
        "test": write_volumes(folder / "test", 40, seed=3),
    }


def _train(volumes, **overrides):
    (train, train_y), (val, val_y) = volumes["train"], volumes["validation"]
    kwargs = {"labels": LABELS, "train_volumes": train, "train_targets": train_y, "val_volumes": val,
              "val_targets": val_y, "params": PARAMS, "threads": 1, "device": "cpu", **overrides}
    return imagecnn.train(**kwargs)


def _held_out_auroc(model, volumes, params):
    paths, targets = volumes["test"]
    scores = imagecnn.predict(model, paths, params=params)
    return [metrics.auroc([row[j] for row in targets], scores[:, j].tolist()) for j in range(len(LABELS))]


def test_it_learns_each_label_on_held_out_volumes_and_reports_every_epoch(volumes):
    seen = []
    result, model = _train(volumes, on_epoch=seen.append)

    assert [r.epoch for r in seen] == list(range(1, PARAMS.epochs + 1))
    assert seen[-1].train_loss < seen[0].train_loss
    assert seen[-1].val_macro_auroc > 0.8
    assert min(_held_out_auroc(model, volumes, PARAMS)) > 0.8
    assert (result.device, result.amp, result.params.depth) == ("cpu", "off", 8)


def test_the_same_seed_gives_the_same_weights(volumes):
    first, _ = _train(volumes)
    second, _ = _train(volumes)
    other, _ = _train(volumes, params=replace(PARAMS, seed=4))

    assert first.weights_sha256 == second.weights_sha256
    assert other.weights_sha256 != first.weights_sha256


def test_a_label_without_targets_teaches_nothing(volumes):
    (train, train_y) = volumes["train"]
    no_rod = [[blob, None] for blob, _ in train_y]
    params = replace(PARAMS, weight_decay=0.0, epochs=2)
    initial = imagecnn.build_model(n_labels=2, params=params)

    result, model = _train(volumes, train_targets=no_rod, params=params)

    # The masked label's output row gets no gradient at all; the taught one moves.
    assert torch_equal(model.out.weight[1], initial.out.weight[1])
    assert torch_equal(model.out.bias[1], initial.out.bias[1])
    assert not torch_equal(model.out.weight[0], initial.out.weight[0])
    assert len(result.history) == 2


def torch_equal(a, b) -> bool:
    return bool((a.detach() == b.detach()).all())


def test_a_callback_can_stop_training(volumes):
    class Stop(Exception):
        pass

    def stop(report):
        raise Stop

    with pytest.raises(Stop):
        _train(volumes, on_epoch=stop)


def test_weights_round_trip(volumes):
    result, model = _train(volumes, params=replace(PARAMS, epochs=1))
    loaded, labels, params = imagecnn.load_weights(result.weights)
    paths = volumes["test"][0][:5]

    assert labels == LABELS
    assert params == result.params
    np.testing.assert_allclose(imagecnn.predict(loaded, paths, params=params),
                               imagecnn.predict(model, paths, params=params), rtol=1e-5)


def test_one_slice_images_train_a_2d_network_that_learns(tmp_path):
    train, train_y = write_volumes(tmp_path / "train", 64, seed=5, shape=(24, 24, 1), spacing=(0.5, 0.5, 1.0))
    val, val_y = write_volumes(tmp_path / "val", 40, seed=6, shape=(24, 24, 1), spacing=(0.5, 0.5, 1.0))

    result, model = imagecnn.train(labels=LABELS, train_volumes=train, train_targets=train_y, val_volumes=val,
                                   val_targets=val_y, params=PARAMS, threads=1, device="cpu")

    assert result.params.depth == 1
    assert model.features[0].kernel_size == (1, 3, 3)
    assert result.history[-1].val_macro_auroc > 0.8


def test_volumes_are_fitted_to_one_shape_keeping_their_aspect():
    # 40 x 20 x 5 voxels of 0.5 x 1 x 4 mm are 20 mm each way: a cube, whatever the voxel counts.
    assert imagecnn.fitted_shape((5, 20, 40), (4.0, 1.0, 0.5), (8, 16, 16)) == (8, 8, 8)
    # A wide slab stays wide; an axis of one voxel stays one voxel.
    assert imagecnn.fitted_shape((4, 32, 64), (1.0, 1.0, 1.0), (8, 16, 16)) == (1, 8, 16)
    assert imagecnn.fitted_shape((1, 30, 30), (1.0, 1.0, 1.0), (8, 16, 16)) == (1, 16, 16)

    rng = np.random.default_rng(0)
    out = imagecnn.preprocess(rng.normal(500, 80, (5, 20, 40)).astype(np.float32), (4.0, 1.0, 0.5), depth=8, size=16)
    assert out.shape == (8, 16, 16)
    assert out.dtype == np.float32
    centre = out[0:8, 4:12, 4:12]
    assert abs(float(centre.mean())) < 0.2
    assert float(out[:, 0, :].max()) == pytest.approx(float(out.min()))  # padding is the background

    assert not imagecnn.normalise(np.full((3, 4, 4), 7.0, dtype=np.float32)).any()


def test_nifti_axes_become_slices_rows_columns(tmp_path):
    data = np.zeros((6, 5, 4), dtype=np.float32)  # columns, rows, slices
    data[5, 0, 3] = 1.0
    path = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([0.7, 0.8, 2.5, 1.0])), str(path))
    flat = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((6, 5), dtype=np.float32), np.eye(4)), str(flat))

    array, spacing = imagecnn.read_volume(path)

    assert array.shape == (4, 5, 6)
    assert array[3, 0, 5] == 1.0
    assert spacing == pytest.approx((2.5, 0.8, 0.7))
    assert imagecnn.read_volume(flat)[0].shape == (1, 5, 6)
    assert (imagecnn.slice_count(path), imagecnn.slice_count(flat)) == (4, 1)


def test_amp_is_for_cuda_only():
    assert imagecnn.amp_dtype("cpu", "auto") is None
    assert imagecnn.amp_dtype("cpu", "fp16") is None
    with pytest.raises(ValueError, match="amp mode"):
        imagecnn.amp_dtype("cpu", "fp8")


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA GPU")
@pytest.mark.parametrize(("amp", "expected"), [("auto", {"bf16", "fp16"}), ("fp16", {"fp16"})])
def test_on_a_gpu_it_trains_with_mixed_precision(volumes, amp, expected):
    result, model = _train(volumes, device="auto", amp=amp)

    assert result.device == "cuda"
    assert result.amp in expected
    assert next(model.parameters()).is_cuda
    assert result.history[-1].val_macro_auroc > 0.8
    assert min(_held_out_auroc(model.cpu(), volumes, result.params)) > 0.8
