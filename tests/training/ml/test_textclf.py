"""The n-gram classifier: learns, masks ignored targets, is deterministic, uses the GPU when there is one."""
from __future__ import annotations

import numpy as np
import pytest

from tests.training.ml.data import LABELS, make_reports
from training.ml import textclf

PARAMS = textclf.TrainParams(epochs=4, buckets=4096, embed_dim=16, seed=11)


def _train(**overrides):
    train_texts, train_targets = make_reports(150, seed=1)
    val_texts, val_targets = make_reports(50, seed=2)
    kwargs = {"labels": LABELS, "train_texts": train_texts, "train_targets": train_targets, "val_texts": val_texts,
              "val_targets": val_targets, "params": PARAMS, "threads": 1, "device": "cpu", **overrides}
    return textclf.train(**kwargs)


def test_it_learns_the_phrases_and_reports_every_epoch():
    seen = []
    result, model = _train(on_epoch=seen.append)

    assert [r.epoch for r in seen] == [1, 2, 3, 4]
    assert seen[-1].val_macro_auroc > 0.95
    assert seen[-1].train_loss < seen[0].train_loss
    p = textclf.predict(model, ["FINDINGS: right apical pneumothorax. no pleural effusion."], params=PARAMS)
    assert p[0][1] > 0.5 > p[0][0]


def test_the_same_seed_gives_the_same_weights():
    first, _ = _train()
    second, _ = _train()

    assert first.weights_sha256 == second.weights_sha256


def test_ignored_targets_do_not_move_the_loss():
    import torch

    logits = torch.tensor([[5.0, -5.0]])
    y = torch.tensor([[0.0, 1.0]])
    masked = textclf.masked_bce(logits, y, torch.tensor([[0.0, 0.0]]))
    assert float(masked) == 0.0
    one = textclf.masked_bce(logits, y, torch.tensor([[1.0, 0.0]]))
    assert float(one) == pytest.approx(float(torch.nn.functional.softplus(torch.tensor(5.0))))


def test_a_callback_can_stop_training():
    class Stop(Exception):
        pass

    def stop(report):
        raise Stop

    with pytest.raises(Stop):
        _train(on_epoch=stop)


def test_hashing_is_stable_across_processes():
    # crc32, not Python's salted hash(): a model trained in one worker predicts in another.
    import subprocess
    import sys

    code = "from training.ml.textclf import hashed_ngrams; print(hashed_ngrams('No pleural effusion', buckets=65536, ngrams=2))"
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**__import__("os").environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2")
    }
    assert outputs == {str(textclf.hashed_ngrams("No pleural effusion", buckets=65536, ngrams=2)) + "\n"}


def test_weights_round_trip():
    result, model = _train()
    loaded, labels, params = textclf.load_weights(result.weights)
    texts = ["FINDINGS: small left pleural effusion."]
    assert labels == LABELS
    np.testing.assert_allclose(textclf.predict(loaded, texts, params=params), textclf.predict(model, texts, params=PARAMS))


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA GPU")
def test_on_a_gpu_it_trains_with_mixed_precision():
    result, model = _train(device="auto")

    assert result.device == "cuda"
    assert next(model.parameters()).is_cuda
    assert result.history[-1].val_macro_auroc > 0.95
