"""Save and load a trained :class:`~cae_core.model.CoupledAutoencoder` as a folder of plain data (issue 12 item 7).

Layout of the folder::

    model.json    format name and version, the package version that wrote it, the configuration (arms as layer
                  lists, latent norm, coupling and their options, lam, alphas, dtype) and SHA-256 checksums
    weights.npz   the state dict: weights, batch-norm running statistics and the per-feature standardisation
                  (``scalers.<i>.mean`` / ``scalers.<i>.scale``), one numpy array per entry

Nothing in the folder is code: ``weights.npz`` is read with ``np.load(allow_pickle=False)`` and ``model.json``
with ``json``; the arms are rebuilt from their layer lists. A file changed after saving (its checksum differs),
a folder of another format version, or weights that do not fit the configuration give a ValueError saying which.

Arms that can be described: :func:`cae_core.arms.linear_arm`, :func:`~cae_core.arms.mlp_arm` and the paper's arms
(sequences of ``nn.Linear``, ``nn.ReLU``, dropout, ``GaussianNoise``, ``nn.Identity``) and
:func:`~cae_core.arms.mnist_arm`. Couplings must be given by name. For anything else, save ``model.state_dict()``
with ``torch.save`` and rebuild the model yourself.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata

import numpy as np
import torch
from torch import nn

from cae_core.arms import Arm, GaussianNoise, _ImageDecoder, _ImageEncoder, mnist_arm
from cae_core.checkpoint import fsync_directory
from cae_core.dropout import Dropout

#: Name and version of the folder format; a folder of another version is refused.
FORMAT = "cae_core.CoupledAutoencoder"
FORMAT_VERSION = 1
CONFIG_NAME = "model.json"
WEIGHTS_NAME = "weights.npz"


def package_version() -> str:
    """The installed cae-verify version ("unknown" when run from a source tree without metadata)."""
    try:
        return metadata.version("cae-verify")
    except metadata.PackageNotFoundError:
        return "unknown"


# ------------------------------------------------------------------------------------------ describing arms

def _layer_spec(layer: nn.Module, where: str) -> dict:
    if type(layer) is nn.Linear:
        return {"type": "Linear", "in": layer.in_features, "out": layer.out_features, "bias": layer.bias is not None}
    if type(layer) is nn.ReLU:
        return {"type": "ReLU"}
    if type(layer) is nn.Identity:
        return {"type": "Identity"}
    if type(layer) is Dropout:
        return {"type": "Dropout", "p": layer.p}
    if type(layer) is nn.Dropout:
        return {"type": "TorchDropout", "p": layer.p}
    if type(layer) is GaussianNoise:
        return {"type": "GaussianNoise", "std": layer.std}
    raise ValueError(f"{where} is a {type(layer).__name__}, which cannot be described as data; save supports "
                     f"Linear, ReLU, Identity, dropout and GaussianNoise layers and mnist_arm (for other arms save "
                     f"model.state_dict() with torch.save and rebuild the model yourself)")


def _build_layer(spec: dict) -> nn.Module:
    kind = spec.get("type")
    if kind == "Linear":
        return nn.Linear(int(spec["in"]), int(spec["out"]), bias=bool(spec["bias"]))
    if kind == "ReLU":
        return nn.ReLU()
    if kind == "Identity":
        return nn.Identity()
    if kind == "Dropout":
        return Dropout(float(spec["p"]))
    if kind == "TorchDropout":
        return nn.Dropout(float(spec["p"]))
    if kind == "GaussianNoise":
        return GaussianNoise(float(spec["std"]))
    raise ValueError(f"unknown layer type {kind!r} in the configuration")


def _stack_spec(module: nn.Module, where: str) -> dict:
    if type(module) is nn.Sequential:
        return {"sequential": True,
                "layers": [_layer_spec(layer, f"{where}[{n}]") for n, layer in enumerate(module)]}
    return {"sequential": False, "layers": [_layer_spec(module, where)]}


def _build_stack(spec: dict) -> nn.Module:
    layers = [_build_layer(layer) for layer in spec["layers"]]
    return nn.Sequential(*layers) if spec["sequential"] else layers[0]


def arm_spec(arm: Arm, where: str = "arm") -> dict:
    """A JSON-able description of ``arm`` from which :func:`build_arm` rebuilds the same architecture."""
    base = {"name": arm.name, "in_dim": arm.in_dim, "latent_dim": arm.latent_dim}
    if isinstance(arm.encoder, _ImageEncoder) and isinstance(arm.decoder, _ImageDecoder):
        enc = arm.encoder
        return {**base, "kind": "mnist", "image_size": enc.image_size, "channels": enc.conv.out_channels,
                "hidden": enc.dense[0].out_features, "dropout": enc.dropout.p}
    return {**base, "kind": "layers", "encoder": _stack_spec(arm.encoder, f"{where}.encoder"),
            "decoder": _stack_spec(arm.decoder, f"{where}.decoder")}


def build_arm(spec: dict) -> Arm:
    """The arm described by :func:`arm_spec` (fresh weights)."""
    if spec["kind"] == "mnist":
        return mnist_arm(int(spec["image_size"]), int(spec["latent_dim"]), channels=int(spec["channels"]),
                         hidden=int(spec["hidden"]), dropout=float(spec["dropout"]))
    if spec["kind"] != "layers":
        raise ValueError(f"unknown arm kind {spec['kind']!r} in the configuration")
    return Arm(_build_stack(spec["encoder"]), _build_stack(spec["decoder"]), int(spec["in_dim"]),
               int(spec["latent_dim"]), name=str(spec["name"]))


def model_config(model, *, strict: bool = True) -> dict:
    """The configuration of ``model`` as JSON-able data: arms, latent norm, coupling (with options), lam, alphas.

    ``strict=False`` (used by checkpoint fingerprints) describes what cannot be rebuilt by its ``repr``
    (custom arms) or name (callable couplings) instead of raising."""
    arms = []
    for i, arm in enumerate(model.arms):
        try:
            arms.append(arm_spec(arm, f"arms[{i}]"))
        except ValueError:
            if strict:
                raise
            arms.append({"repr": repr(arm)})
    coupling = model.coupling_name
    if not model.coupling_is_named:
        if strict:
            raise ValueError(f"the model's coupling is a callable ({coupling!r}); save supports couplings given by "
                             f"name (cae_core.couplings.names())")
        coupling = f"callable {coupling}"
    config = {"arms": arms, "latent_norm": model.latent_norm_name, "latent_norm_options": model.latent_norm_options,
              "coupling": coupling, "coupling_options": model.coupling_options, "lam": model.lam,
              "alphas": list(model.alphas)}
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError) as exc:
        if strict:
            raise ValueError(f"the model's options must be plain numbers, strings and lists to be saved ({exc})") \
                from None
        config = json.loads(json.dumps(config, default=repr))
    return config


def build_model(config: dict):
    """A fresh :class:`~cae_core.model.CoupledAutoencoder` of the configuration :func:`model_config` wrote."""
    from cae_core.model import CoupledAutoencoder
    return CoupledAutoencoder([build_arm(a) for a in config["arms"]], latent_norm=config["latent_norm"],
                              coupling=config["coupling"], lam=config["lam"], alphas=tuple(config["alphas"]),
                              coupling_options=config["coupling_options"] or None,
                              latent_norm_options=config["latent_norm_options"] or None)


# ------------------------------------------------------------------------------------------------ files

def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _canonical_sha256(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, allow_nan=False).encode()).hexdigest()


def save_model(model, path: str | os.PathLike, *, overwrite: bool = False) -> None:
    """Write ``model`` to the folder ``path`` (see the module docstring). The folder is written next to its
    destination and renamed into place, so an interrupted save leaves no half-written model. Refuses an existing
    non-empty ``path`` unless ``overwrite``."""
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"path {path!r} exists and is not a folder")
    if os.path.isdir(path) and os.listdir(path) and not overwrite:
        raise ValueError(f"path {path!r} is a non-empty folder; pass overwrite=True to replace it")
    config = model_config(model)
    dtype = str(next(model.parameters()).dtype).replace("torch.", "")
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".cae-model-", dir=parent)
    try:
        weights = os.path.join(tmp, WEIGHTS_NAME)
        arrays = {key: value.detach().cpu().numpy() for key, value in model.state_dict().items()}
        with open(weights, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "package_version": package_version(),
                    "torch_version": torch.__version__, "dtype": dtype, "model": config,
                    "sha256": {WEIGHTS_NAME: _sha256(weights), "model": _canonical_sha256(config)}}
        with open(os.path.join(tmp, CONFIG_NAME), "w") as fh:
            json.dump(manifest, fh, indent=2, allow_nan=False)
            fh.flush()
            os.fsync(fh.fileno())
        if os.path.isdir(path):
            old = tempfile.mkdtemp(prefix=".cae-model-old-", dir=parent)
            os.replace(path, os.path.join(old, "model"))
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    fsync_directory(parent)


def load_model(path: str | os.PathLike, *, device: str | torch.device = "cpu"):
    """The model saved by :func:`save_model` in folder ``path``, on ``device``, in eval mode."""
    path = os.fspath(path)
    config_file, weights_file = os.path.join(path, CONFIG_NAME), os.path.join(path, WEIGHTS_NAME)
    for f in (config_file, weights_file):
        if not os.path.isfile(f):
            raise ValueError(f"{path!r} is not a saved model folder: {os.path.basename(f)} is missing")
    try:
        with open(config_file) as fh:
            manifest = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{config_file} is not a valid model configuration (not JSON: {exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{config_file} is not a {FORMAT} configuration (format = "
                         f"{manifest.get('format') if isinstance(manifest, dict) else None!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path!r} was saved in format version {manifest.get('format_version')!r} (by cae-verify "
                         f"{manifest.get('package_version')}); this cae-verify ({package_version()}) reads format "
                         f"version {FORMAT_VERSION} only")
    sums = manifest.get("sha256") or {}
    if sums.get(WEIGHTS_NAME) != _sha256(weights_file):
        raise ValueError(f"{weights_file} does not match the SHA-256 recorded in {CONFIG_NAME}: the file was changed "
                         f"after saving (or is damaged)")
    try:
        config = manifest["model"]
        config_ok = sums.get("model") == _canonical_sha256(config)
    except (KeyError, TypeError, ValueError):
        config_ok = False
    if not config_ok:
        raise ValueError(f"the model section of {config_file} does not match its recorded SHA-256: the file was "
                         f"edited after saving (or is damaged)")
    try:
        model = build_model(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{config_file} holds a configuration this cae-verify cannot build: {exc}") from None
    dtype = {"float32": torch.float32, "float64": torch.float64}.get(manifest.get("dtype"))
    if dtype is None:
        raise ValueError(f"{config_file}: dtype must be 'float32' or 'float64', got {manifest.get('dtype')!r}")
    model.to(dtype=dtype)
    try:
        with np.load(weights_file, allow_pickle=False) as z:
            arrays = {key: z[key] for key in z.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{weights_file} is not a readable weights archive ({exc})") from None
    expected = model.state_dict()
    if set(arrays) != set(expected):
        missing, extra = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
        raise ValueError(f"{weights_file} does not fit the configuration: missing {missing[:5]}, unexpected "
                         f"{extra[:5]}")
    for key, value in expected.items():
        if tuple(arrays[key].shape) != tuple(value.shape):
            raise ValueError(f"{weights_file}: {key} has shape {arrays[key].shape}, the configuration needs "
                             f"{tuple(value.shape)}")
    model.load_state_dict({key: torch.as_tensor(arrays[key]).to(value.dtype) for key, value in expected.items()})
    from cae_core.train import resolve_device
    model.to(device=resolve_device(device))
    model.eval()
    return model
