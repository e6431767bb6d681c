"""Hyperparameter search with Optuna: samplers, pruners and the search space, no Django.

Strategies: "fixed" (the defaults, nothing searched), "random", "tpe" (with constant_liar, so
trials running in parallel do not all explore the same point) and "gp" (Gaussian process).

Known trap, handled here: a GP sampler learns only from COMPLETE trials, and pruned ones do not
count, so with an aggressive pruner every trial can be pruned before the GP has its start-up
trials and it never leaves random sampling. `StartupGuardPruner` therefore prunes nothing until
the study has `min_complete` completed trials (the sampler's start-up count for GP), and
`TracingSampler` writes into each trial which sampler actually proposed it, so a test (and the
results page) can see the switch-over.

Samplers are rebuilt in every process that asks (a Celery trial task), so each ask gets its own
seed (`seed_for`): a seeded sampler rebuilt with the same seed would propose the same start-up
point every time.
"""
from __future__ import annotations

from typing import Any

STRATEGIES = ("fixed", "random", "tpe", "gp")
PROPOSED_BY = "radlabel:proposed_by"
DEFAULT_STARTUP = 3


def search_space(strategy: str) -> dict[str, Any]:
    """The distributions searched (empty for "fixed")."""
    import optuna

    if strategy == "fixed":
        return {}
    return {
        "lr": optuna.distributions.FloatDistribution(1e-3, 0.3, log=True),
        "embed_dim": optuna.distributions.IntDistribution(16, 64, step=16),
        "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
        "weight_decay": optuna.distributions.FloatDistribution(1e-6, 1e-2, log=True),
    }


def seed_for(base_seed: int, slot: int) -> int:
    return (base_seed * 1_000_003 + slot * 7919) % (2**31 - 1)


def make_sampler(strategy: str, *, seed: int, n_startup_trials: int = DEFAULT_STARTUP) -> Any:
    import optuna

    if strategy in ("fixed", "random"):
        inner: Any = optuna.samplers.RandomSampler(seed=seed)
    elif strategy == "tpe":
        inner = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials, constant_liar=True)
    elif strategy == "gp":
        inner = optuna.samplers.GPSampler(seed=seed, n_startup_trials=n_startup_trials, deterministic_objective=False)
    else:
        raise ValueError(f"Unknown strategy {strategy!r}")
    return TracingSampler(inner, strategy)


def make_pruner(kind: str, *, min_complete: int, max_epochs: int) -> Any:
    """"median", "hyperband" or "none", guarded so it prunes nothing before `min_complete` trials complete."""
    import optuna

    if kind == "none":
        return optuna.pruners.NopPruner()
    if kind == "median":
        inner: Any = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=1)
    elif kind == "hyperband":
        inner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 2), reduction_factor=3)
    else:
        raise ValueError(f"Unknown pruner {kind!r}")
    return StartupGuardPruner(inner, min_complete=min_complete)


def _pruner_base() -> type:
    import optuna

    return optuna.pruners.BasePruner


def _sampler_base() -> type:
    import optuna

    return optuna.samplers.BaseSampler


class _Lazy:
    """Builds the real class on first use, so importing this module does not import Optuna."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self._cls: type | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._cls is None:
            self._cls = self._factory()
        return self._cls(*args, **kwargs)


def _startup_guard_pruner() -> type:
    from optuna.trial import TrialState

    class StartupGuardPruner(_pruner_base()):  # type: ignore[misc]
        def __init__(self, inner: Any, *, min_complete: int) -> None:
            self.inner = inner
            self.min_complete = min_complete

        def prune(self, study: Any, trial: Any) -> bool:
            complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if len(complete) < self.min_complete:
                return False
            return bool(self.inner.prune(study, trial))

    return StartupGuardPruner


def _tracing_sampler() -> type:
    class TracingSampler(_sampler_base()):  # type: ignore[misc]
        """Delegates to a sampler and records, per trial, whether its relative (model) step proposed it."""

        def __init__(self, inner: Any, strategy: str) -> None:
            self.inner = inner
            self.strategy = strategy

        def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
            return self.inner.infer_relative_search_space(study, trial)

        def sample_relative(self, study: Any, trial: Any, search_space: dict[str, Any]) -> dict[str, Any]:
            params = self.inner.sample_relative(study, trial, search_space)
            if params:
                study._storage.set_trial_system_attr(trial._trial_id, PROPOSED_BY, self.strategy)
            return params

        def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
            if PROPOSED_BY not in trial.system_attrs:
                label = "random" if self.strategy in ("tpe", "gp") else self.strategy
                study._storage.set_trial_system_attr(trial._trial_id, PROPOSED_BY, label)
                trial.system_attrs[PROPOSED_BY] = label
            return self.inner.sample_independent(study, trial, name, distribution)

        def before_trial(self, study: Any, trial: Any) -> None:
            self.inner.before_trial(study, trial)

        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            self.inner.after_trial(study, trial, state, values)

        def reseed_rng(self) -> None:
            self.inner.reseed_rng()

    return TracingSampler


StartupGuardPruner = _Lazy(_startup_guard_pruner)
TracingSampler = _Lazy(_tracing_sampler)


def storage(url: str) -> Any:
    """An RDB storage; on SQLite with a long busy timeout, since several workers write to one file."""
    import optuna
    from sqlalchemy.pool import NullPool

    # No pool: a worker asks and tells a few times a trial, and an idle pooled connection
    # would outlive the job (and block dropping a test database).
    engine_kwargs: dict[str, Any] = {"poolclass": NullPool}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": 60}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, skip_compatibility_check=False)


def ensure_schema(url: str, schema: str) -> None:
    """Create Optuna's own PostgreSQL schema, committed on a connection of its own."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    if not schema.isidentifier():
        raise ValueError(f"Not a schema name: {schema!r}")
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        engine.dispose()


def load_study(*, url: str, name: str, sampler: Any, pruner: Any) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=name, storage=storage(url), sampler=sampler, pruner=pruner, direction="maximize", load_if_exists=True
    )


def proposed_by(trial: Any, study: Any = None) -> str | None:
    """Which sampler proposed a trial: a FrozenTrial, or a live Trial with its study."""
    if study is not None:
        trial = study._storage.get_trial(trial._trial_id)
    return trial.system_attrs.get(PROPOSED_BY)
