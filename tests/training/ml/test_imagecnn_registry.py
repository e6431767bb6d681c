"""The model registry: both models, their kinds and spaces, one calling convention."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.training.ml.data import make_reports
from tests.training.ml.volumes import write_volumes
from training.ml import imagecnn, registry, textclf


def test_both_models_are_registered_text_first():
    assert registry.names()[:2] == ("ngram-bag", "cnn3d-small")
    assert registry.get("ngram-bag").kind == "text"
    assert registry.get("cnn3d-small").kind == "image"
    assert all(spec.description for spec in registry.models())


def test_an_unknown_model_is_named_with_the_known_ones():
    with pytest.raises(KeyError, match="cnn3d-small"):
        registry.get("resnet-152")


def test_an_unknown_kind_is_refused():
    spec = registry.get("ngram-bag")
    with pytest.raises(ValueError, match="kind"):
        registry.register(registry.ModelSpec(**{**spec.__dict__, "name": "odd", "kind": "audio"}))
    assert "odd" not in registry.names()


def test_each_model_has_its_own_space_and_fixed_searches_nothing():
    text, image = registry.get("ngram-bag"), registry.get("cnn3d-small")

    assert set(text.search_space("tpe")) == {"lr", "embed_dim", "dropout", "weight_decay"}
    assert set(image.search_space("gp")) == {"lr", "channels", "dropout", "weight_decay"}
    assert text.search_space("fixed") == image.search_space("fixed") == {}
    # A searched point turns into the model's own params; unknown keys are ignored.
    params = image.params({"lr": 0.01, "channels": 16, "embed_dim": 3})
    assert (params.lr, params.channels) == (0.01, 16)
    assert isinstance(params, imagecnn.ImageParams)
    assert isinstance(text.params({"lr": 0.01}), textclf.TrainParams)


def test_fit_load_and_predict_have_one_calling_convention(tmp_path):
    texts, text_targets = make_reports(40, seed=1)
    paths, image_targets = write_volumes(tmp_path, 24, seed=1, shape=(12, 12, 6))
    cases = [
        ("ngram-bag", texts, text_targets, {"epochs": 1, "buckets": 1024}),
        ("cnn3d-small", [str(p) for p in paths], image_targets, {"epochs": 1, "size": 8, "depth": 4}),
    ]
    for name, inputs, targets, values in cases:
        spec = registry.get(name)
        result, _model = spec.fit(labels=["a", "b"], train_inputs=inputs[:30], train_targets=targets[:30],
                                  val_inputs=inputs[30:], val_targets=targets[30:], params=spec.params(values),
                                  on_epoch=None, threads=1)
        model, labels, params = spec.load(result.weights)
        scores = spec.predict(model, inputs[:3], params=params)

        assert labels == ["a", "b"]
        assert scores.shape == (3, 2)
        assert len(result.history) == 1


def test_importing_the_registry_loads_neither_torch_nor_optuna():
    code = "import sys; from training.ml import registry; registry.names(); print('torch' in sys.modules, 'optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
