"""cae_core: a reference k-coupled autoencoder in PyTorch (supplement of Gala et al., NeurIPS 2019, Eq. 1).

- arms (:mod:`cae_core.arms`): ``linear_arm``, ``mlp_arm`` and the paper's ``mnist_arm``, ``patchseq_t_arm``,
  ``patchseq_e_arm``, ``facs_arm``;
- the model (:mod:`cae_core.model`): ``CoupledAutoencoder(arms, latent_norm, coupling, lam, alphas)`` with
  ``encode`` (all modalities or one), ``translate``, ``save``/``load`` (:mod:`cae_core.saving`);
- data (:mod:`cae_core.data`): ``PairedDataset`` and ``load_paired`` (csv/npz); AnnData/MuData in
  :mod:`cae_core.anndata_io` (optional extra ``mudata``); standardisation in :mod:`cae_core.preprocessing`;
- training (:mod:`cae_core.train`): ``fit`` and its ``FitConfig``; a scikit-learn-style estimator in
  :mod:`cae_core.estimator`;
- couplings (:mod:`cae_core.couplings`) and collapse diagnostics (:mod:`cae_core.diagnostics`).
"""
from cae_core import couplings, diagnostics
from cae_core.arms import facs_arm, linear_arm, mlp_arm, mnist_arm, patchseq_e_arm, patchseq_t_arm
from cae_core.data import PairedDataset, load_paired
from cae_core.model import CoupledAutoencoder
from cae_core.train import FitConfig, fit

__all__ = ["CoupledAutoencoder", "PairedDataset", "load_paired", "fit", "FitConfig", "linear_arm", "mlp_arm",
           "mnist_arm", "patchseq_t_arm", "patchseq_e_arm", "facs_arm", "couplings", "diagnostics"]
