"""The search core: each strategy proposes trials, TPE lies constantly, the GP leaves start-up."""
from __future__ import annotations

import math

import optuna
import pytest

from training.ml import search


def _run(tmp_path, strategy: str, *, trials: int, pruner: str = "median", startup: int = 3) -> optuna.Study:
    url = f"sqlite:///{tmp_path / 'optuna.sqlite3'}"
    space = search.search_space(strategy)
    for slot in range(trials):
        # Rebuilt per ask, as in a Celery trial task: a fresh process has no sampler state.
        sampler = search.make_sampler(strategy, seed=search.seed_for(7, slot), n_startup_trials=startup)
        study = search.load_study(url=url, name=f"s-{strategy}", sampler=sampler,
                                  pruner=search.make_pruner(pruner, min_complete=startup, max_epochs=4))
        trial = study.ask(space)
        lr = trial.params.get("lr", 0.05)
        value = 0.0
        for epoch in range(1, 5):
            # Poor learning rates stay poor at every epoch: the median pruner's favourite prey.
            value = 1.0 - abs(math.log10(lr) + 1.3) / 3 - 0.05 / epoch
            trial.report(value, epoch)
            if trial.should_prune():
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                break
        else:
            study.tell(trial, value)
    return study


@pytest.mark.parametrize("strategy", ["fixed", "random", "tpe", "gp"])
def test_each_strategy_runs_its_budget_of_trials(tmp_path, strategy):
    study = _run(tmp_path, strategy, trials=5)

    assert len(study.trials) == 5
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 5
    if strategy == "fixed":
        assert all(t.params == {} for t in study.trials)
    else:
        assert len({t.params["lr"] for t in study.trials}) == 5, "each ask has its own seed"


def test_gp_trials_after_start_up_are_proposed_by_the_gp_even_with_pruning(tmp_path):
    study = _run(tmp_path, "gp", trials=7, pruner="median", startup=3)

    by = [search.proposed_by(t) for t in study.trials]
    assert by[:3] == ["random"] * 3
    assert by[3:] == ["gp"] * 4
    # The guard let the first three complete, so the GP had data to learn from.
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials[:3])


def test_without_the_guard_aggressive_pruning_starves_the_gp(tmp_path):
    # The trap the guard exists for: each trial is pruned after its first report, no trial
    # completes, so the GP never has its start-up data and keeps sampling at random.
    class PruneAll(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    url = f"sqlite:///{tmp_path / 'optuna.sqlite3'}"
    for slot in range(5):
        study = search.load_study(url=url, name="starved", pruner=PruneAll(),
                                  sampler=search.make_sampler("gp", seed=search.seed_for(1, slot)))
        trial = study.ask(search.search_space("gp"))
        trial.report(0.5, 1)
        assert trial.should_prune()
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    assert {search.proposed_by(t) for t in study.trials} == {"random"}


def test_tpe_uses_constant_liar():
    sampler = search.make_sampler("tpe", seed=1)
    assert sampler.inner._constant_liar is True
