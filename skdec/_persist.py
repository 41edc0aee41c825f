"""Saving and loading fitted estimators without pickle.

A model file is one NumPy ``.npz`` archive (a zip of ``.npy`` arrays) holding

- ``"module/<name>"``: each tensor of ``module_.state_dict()``, on the CPU;
- ``"attr/<name>"``: each fitted array named in ``_saved_arrays``;
- ``"feature_names_in_"``: the feature names, as a fixed-width unicode array;
- ``"__metadata__"``: UTF-8 JSON (as a ``uint8`` array) with the format name
  and version, the class name, the parameters, the module configuration, the
  JSON-able fitted values named in ``_saved_values``, the expected names
  and shapes of the arrays and the ``set_output`` configuration.

Loading reads it with ``np.load(allow_pickle=False)``, so no object is ever
unpickled and nothing in the file can run code; every name, shape and dtype
is checked against what the estimator class rebuilds before any weight is
used. Estimator classes take part through a small protocol: ``_saved_arrays``,
``_saved_values``, ``_module_config()`` and the classmethod
``_build_module(config)``.
"""

import json
import os
import warnings

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._archive import READ_ERRORS, json_default, read_error_reason, write_archive
from ._memory import memory_location
from ._networks import BUILT_IN_NETWORKS, ModuleRequiredError

FORMAT_NAME = "skdec"
# 2: the parameters of the smaller surface (the networks as module classes,
# one n_clusters_search) and n_clusters_rule_. Nothing was released before.
FORMAT_VERSION = 2

_METADATA_KEY = "__metadata__"
_MODULE_PREFIX = "module/"
_ATTR_PREFIX = "attr/"
_FEATURE_NAMES_KEY = "feature_names_in_"

# First bytes of a zip archive (an .npz file) and of a single .npy array.
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"

# ---------------------------------------------------------------------------
# Parameters and values as JSON


def _jsonable_param(name, value):
    """``value`` of parameter ``name`` as JSON-able data, or a ``ValueError``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list | range):
        return [_jsonable_param(name, item) for item in value]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value.tolist()
    if callable(value):
        raise ValueError(
            f"Cannot save parameter {name}={value!r}: a callable cannot be stored "
            "in a file that loading never executes. Use a named option instead."
        )
    raise ValueError(
        f"Cannot save parameter {name}={value!r} of type {type(value).__name__}: "
        "only None, numbers, strings and sequences of them can be stored."
    )


def _params_metadata(est):
    """Parameters as JSON, names to restore as tuples or arrays, notes, and
    the name of the built-in ``module`` class (or None)."""
    params, notes, network = {}, [], None
    restore_as = {"tuple": [], "array": []}
    for name, value in est.get_params(deep=False).items():
        if isinstance(value, np.random.RandomState | np.random.Generator):
            warnings.warn(
                f"{name} is a {type(value).__name__} instance, which cannot be "
                f"saved; the loaded estimator has {name}=None. Pass an int to "
                "make refitting the loaded estimator reproducible.",
                UserWarning,
            )
            notes.append(f"{name} was a {type(value).__name__} instance")
            value = None
        if name == "module" and _built_in_name(value) is not None:
            # skdec's own classes are named, in their own field: loading
            # maps the name to the class and imports nothing.
            network = _built_in_name(value)
            value = None
        elif name in ("module", "callbacks") and value is not None:
            # Code is never stored: load takes a user's network again (its
            # module__ parameters and weights are kept); callbacks are gone.
            notes.append(f"{name} was not saved")
            value = None
        if name == "memory" and not (value is None or isinstance(value, str)):
            # A joblib.Memory means its folder, which a path says as well.
            value = memory_location(value)
        params[name] = _jsonable_param(name, value)
        if isinstance(value, tuple | range):
            restore_as["tuple"].append(name)
        elif isinstance(value, np.ndarray):
            restore_as["array"].append(name)
    return params, restore_as, notes, network


def _built_in_name(module):
    """The name of ``module`` when it is one of skdec.networks' classes."""
    if isinstance(module, type) and BUILT_IN_NETWORKS.get(module.__name__) is module:
        return module.__name__
    return None


# ---------------------------------------------------------------------------
# Saving


def _arrays_to_save(est):
    """Every array of the file, metadata included, keyed by archive name."""
    from . import __version__

    arrays = {}
    module_keys = {}
    for key, tensor in est.module_.state_dict().items():
        array = tensor.detach().cpu().numpy()
        arrays[_MODULE_PREFIX + key] = array
        module_keys[key] = list(array.shape)
    for name in est._saved_arrays:
        array = np.asarray(getattr(est, name))
        if array.dtype.kind not in "biuf":
            # np.savez would pickle it, and loading would then refuse the file.
            raise ValueError(
                f"Cannot save fitted attribute {name} of dtype {array.dtype}: "
                "only numeric arrays can be stored."
            )
        arrays[_ATTR_PREFIX + name] = array
    feature_names = getattr(est, "feature_names_in_", None)
    if feature_names is not None:
        # Fixed-width unicode, never an object array, so loading needs no pickle.
        arrays[_FEATURE_NAMES_KEY] = np.asarray(feature_names, dtype=str)

    params, restore_as, notes, network = _params_metadata(est)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": type(est).__name__,
        "skdec_version": __version__,
        "params": params,
        "tuple_params": restore_as["tuple"],
        "array_params": restore_as["array"],
        "notes": notes,
        "network": network,
        "module_config": est._module_config(),
        "module_training": bool(est.module_.training),
        "n_features_in": int(est.n_features_in_),
        "values": {name: getattr(est, name) for name in est._saved_values},
        "array_names": list(est._saved_arrays),
        "module_keys": module_keys,
        # The set_output configuration ({"transform": "pandas"}), which
        # scikit-learn keeps there and offers no public getter for.
        "output_config": dict(getattr(est, "_sklearn_output_config", {})),
    }
    try:
        text = json.dumps(metadata, default=json_default)
    except TypeError as exc:
        raise ValueError(f"Cannot save {type(est).__name__}: {exc}.") from exc
    arrays[_METADATA_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    return arrays


def save_estimator(est, path):
    """Write the fitted estimator ``est`` to ``path`` atomically.

    The archive is written by :func:`write_archive`: an interrupted save
    leaves any previous file at ``path`` untouched and no temporary file
    behind.

    Parameters
    ----------
    est : estimator
        A fitted estimator implementing the persistence protocol.

    path : str or path-like
        Destination file, used exactly as given (no suffix is added).

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from skdec import DECClusterer
    >>> from skdec._persist import load_estimator, save_estimator
    >>> X = np.random.default_rng(0).random((40, 3))
    >>> dec = DECClusterer(2, module__hidden_dims=(4,), module__latent_dim=2,
    ...                    pretrain_epochs=0, max_iter=0, n_init=1,
    ...                    random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "model.skdec")
    ...     save_estimator(dec, path)
    ...     loaded = load_estimator(path, DECClusterer)
    >>> bool((loaded.predict(X) == dec.predict(X)).all())
    True
    """
    check_is_fitted(est)
    write_archive(path, _arrays_to_save(est))


# ---------------------------------------------------------------------------
# Loading


def _check_zip_magic(path):
    """Refuse a file that is not a zip archive before numpy guesses its format.

    Given anything else, ``np.load`` tries the ``.npy`` and pickle formats,
    and its messages then speak of pickled data.
    """
    with open(path, "rb") as file:
        start = file.read(max(len(_NPY_MAGIC), len(_ZIP_MAGIC)))
    if start.startswith(_NPY_MAGIC):
        raise ValueError(
            f"{path!r} is not an skdec model file: it holds a single array, not "
            "an archive."
        )
    if not start.startswith(_ZIP_MAGIC):
        raise ValueError(f"{path!r} is not an skdec model file.")


def _read_archive(path):
    """All arrays of the file at ``path``, read without unpickling anything."""
    _check_zip_magic(path)
    try:
        archive = np.load(path, allow_pickle=False)
        with archive:
            arrays = {name: archive[name] for name in archive.files}
    except READ_ERRORS as exc:
        raise ValueError(
            f"{path!r} is not an skdec model file, or it is corrupted "
            f"({read_error_reason(exc)})."
        ) from None
    for name, value in arrays.items():
        # NpzFile hands back raw bytes for members that are not .npy arrays.
        if not isinstance(value, np.ndarray):
            raise ValueError(
                f"{path!r} is not an skdec model file: entry {name!r} is not a "
                "NumPy array."
            )
    return arrays


def _parse_metadata(path, arrays):
    if _METADATA_KEY not in arrays:
        raise ValueError(
            f"{path!r} is not an skdec model file: it has no {_METADATA_KEY!r} entry."
        )
    raw = arrays.pop(_METADATA_KEY)
    try:
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError("the metadata is not a byte string")
        metadata = json.loads(raw.tobytes().decode("utf-8"))
        if not isinstance(metadata, dict):
            raise ValueError("the metadata is not a JSON object")
    except ValueError as exc:
        raise ValueError(
            f"{path!r} is not an skdec model file: unreadable metadata ({exc})."
        ) from None
    if metadata.get("format") != FORMAT_NAME:
        raise ValueError(
            f"{path!r} is not an skdec model file (format={metadata.get('format')!r})."
        )
    version = metadata.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{path!r} has an invalid format_version={version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses skdec file format version {version}, newer than the "
            f"version {FORMAT_VERSION} this skdec reads; upgrade skdec to load it."
        )
    if version < FORMAT_VERSION:
        raise ValueError(
            f"{path!r} uses skdec file format version {version}, written by a "
            "development version whose parameters this skdec no longer has; "
            "fit the model again."
        )
    return metadata


def _field(path, metadata, name, kind):
    """``metadata[name]``, checked to be of type ``kind``."""
    value = metadata.get(name)
    if not isinstance(value, kind):
        raise ValueError(f"{path!r} is corrupted: invalid or missing {name!r}.")
    return value


def _names(path, metadata, name):
    """``metadata[name]``, checked to be a list of strings."""
    value = _field(path, metadata, name, list)
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{path!r} is corrupted: {name!r} must list strings.")
    return value


def _restore_params(path, metadata, cls, module):
    params = dict(_field(path, metadata, "params", dict))
    tuple_params = _names(path, metadata, "tuple_params")
    array_params = _names(path, metadata, "array_params")
    # module__ parameters belong to a user's network, checked when it is built.
    known = set(cls._get_param_names())
    unknown = sorted(
        n for n in params if n not in known and not n.startswith("module__")
    )
    if unknown:
        raise ValueError(
            f"{path!r} holds parameters {unknown} that {cls.__name__} does not have."
        )
    for name in tuple_params:
        if isinstance(params.get(name), list):
            params[name] = tuple(params[name])
    for name in array_params:
        if isinstance(params.get(name), list):
            params[name] = np.asarray(params[name])
    if params.get("module") is not None:
        raise ValueError(
            f"{path!r} names a module ({params['module']!r}); a model file "
            "never names code, so it is refused."
        )
    network = metadata.get("network")
    if network is not None:
        if not isinstance(network, str) or network not in BUILT_IN_NETWORKS:
            raise ValueError(
                f"{path!r} names the network {network!r}, which is not one of "
                f"skdec's ({', '.join(BUILT_IN_NETWORKS)}), so it is refused."
            )
        if module is not None:
            raise ValueError(
                f"{path!r} was fitted with skdec's {network}: load takes no module."
            )
        params["module"] = BUILT_IN_NETWORKS[network]
    if module is not None:
        if "module" not in cls._get_param_names():
            raise ValueError(
                f"{cls.__name__} builds its own network: load takes no module."
            )
        params["module"] = module
    est = cls(**params)
    try:
        # Same checks as fit: a tampered parameter is refused here, not later.
        est._validate_params()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} holds an invalid parameter: {exc}") from None
    return est


def _restore_module(path, metadata, cls, arrays, user_module=None):
    """The module rebuilt from the config, with the file's weights loaded."""
    config = _field(path, metadata, "module_config", dict)
    if user_module is not None and "user_module" not in config:
        raise ValueError(
            f"{path!r} was fitted with skdec's own network, which the file "
            "describes: load takes no module."
        )
    extra = {} if user_module is None else {"module": user_module}
    try:
        module = cls._build_module(config, **extra)
    except ModuleRequiredError as exc:
        raise ValueError(f"{path!r}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(
            f"{path!r} is corrupted: cannot rebuild the network from its "
            f"configuration {config!r} ({type(exc).__name__}: {exc})."
        ) from None
    expected = module.state_dict()
    found = {
        name[len(_MODULE_PREFIX) :]: arrays.pop(name)
        for name in list(arrays)
        if name.startswith(_MODULE_PREFIX)
    }
    unexpected = sorted(set(found) - set(expected))
    if unexpected:
        raise ValueError(f"{path!r} has unexpected weights {unexpected}.")
    state = {}
    for key, tensor in expected.items():
        if key not in found:
            raise ValueError(f"{path!r} is missing the weight {key!r}.")
        array = found[key]
        if array.shape != tuple(tensor.shape):
            raise ValueError(
                f"{path!r}: weight {key!r} has shape {array.shape}, expected "
                f"{tuple(tensor.shape)}."
            )
        if array.dtype != tensor.new_empty(0).cpu().numpy().dtype:
            raise ValueError(
                f"{path!r}: weight {key!r} has dtype {array.dtype}, expected "
                f"{tensor.dtype}."
            )
        state[key] = torch.from_numpy(array)
    module.load_state_dict(state, strict=True)
    module.train(bool(metadata.get("module_training", False)))
    return module


def _restore_arrays(path, metadata, cls, arrays):
    names = _names(path, metadata, "array_names")
    if sorted(names) != sorted(cls._saved_arrays):
        raise ValueError(
            f"{path!r} holds fitted arrays {names}, but {cls.__name__} expects "
            f"{list(cls._saved_arrays)}."
        )
    restored = {}
    for name in cls._saved_arrays:
        array = arrays.pop(_ATTR_PREFIX + name, None)
        if array is None:
            raise ValueError(f"{path!r} is missing the fitted array {name!r}.")
        if array.dtype.kind not in "biuf":
            raise ValueError(
                f"{path!r}: fitted array {name!r} has non-numeric dtype {array.dtype}."
            )
        restored[name] = array
    return restored


def _restore_feature_names(path, arrays, n_features_in):
    names = arrays.pop(_FEATURE_NAMES_KEY, None)
    if names is None:
        return None
    if names.dtype.kind != "U" or names.shape != (n_features_in,):
        raise ValueError(
            f"{path!r}: feature_names_in_ must be {n_features_in} strings, got "
            f"an array of dtype {names.dtype} and shape {names.shape}."
        )
    # scikit-learn keeps feature names as an object array of str.
    return names.astype(object)


def _restore_output_config(path, metadata, est):
    """Set the saved ``set_output`` configuration."""
    config = _field(path, metadata, "output_config", dict)
    if not all(isinstance(value, str) for value in config.values()):
        raise ValueError(f"{path!r} is corrupted: invalid 'output_config'.")
    if config:
        # Where scikit-learn keeps it; set_output itself only sets "transform".
        est._sklearn_output_config = dict(config)


def _estimator_classes():
    """skdec's public estimators by class name."""
    import skdec  # here, not at the top: skdec imports this module

    classes = (getattr(skdec, name) for name in skdec.__all__)
    return {
        cls.__name__: cls
        for cls in classes
        if isinstance(cls, type) and hasattr(cls, "_build_module")
    }


def _resolve_class(path, saved_class, cls):
    """The class to rebuild: ``cls``, or the one named in the file when None."""
    if cls is not None:
        if saved_class != cls.__name__:
            raise ValueError(
                f"{path!r} holds a {saved_class} model; load it with "
                f"{saved_class}.load, not {cls.__name__}.load."
            )
        return cls
    known = _estimator_classes()
    if not isinstance(saved_class, str):
        raise ValueError(f"{path!r} is corrupted: invalid or missing 'class'.")
    if saved_class not in known:
        raise ValueError(
            f"{path!r} holds a {saved_class} model, which is not one of skdec's "
            f"estimators ({', '.join(sorted(known))}); load it with "
            f"{saved_class}.load."
        )
    return known[saved_class]


def load_estimator(path, cls=None, module=None):
    """Load an estimator written by :func:`save_estimator`.

    The file is read with ``allow_pickle=False``: a pickle, a ``torch.save``
    archive, a truncated or tampered file is refused with a ``ValueError``
    naming the file and the problem, and nothing in it is executed. The
    network is rebuilt on the CPU.

    Parameters
    ----------
    path : str or path-like
        File written by :func:`save_estimator`.

    cls : type, default=None
        Estimator class implementing the persistence protocol; it must be the
        class that saved the file. None takes the class named in the file,
        which must be one of skdec's public estimators (a subclass of your
        own is loaded with its own ``load``).

    module : torch.nn.Module class or instance, default=None
        The user's network of a model fitted with ``module=...``: its class
        (built with the saved ``module__`` parameters) or an instance of the
        same architecture. The file never names code to import or run.

    Returns
    -------
    est : estimator
        The fitted estimator, with the ``set_output`` configuration it was
        saved with.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from skdec import DECClusterer
    >>> from skdec._persist import load_estimator
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "not-a-model")
    ...     with open(path, "wb") as file:
    ...         _ = file.write(b"garbage")
    ...     load_estimator(path, DECClusterer)
    Traceback (most recent call last):
    ...
    ValueError: '...not-a-model' is not an skdec model file.
    """
    path = os.fspath(path)
    arrays = _read_archive(path)
    metadata = _parse_metadata(path, arrays)
    cls = _resolve_class(path, metadata.get("class"), cls)

    est = _restore_params(path, metadata, cls, module)
    n_features_in = _field(path, metadata, "n_features_in", int)
    if isinstance(n_features_in, bool) or n_features_in < 1:
        raise ValueError(f"{path!r} is corrupted: n_features_in={n_features_in}.")
    network = _restore_module(path, metadata, cls, arrays, module)
    fitted_arrays = _restore_arrays(path, metadata, cls, arrays)
    feature_names = _restore_feature_names(path, arrays, n_features_in)
    values = _field(path, metadata, "values", dict)
    missing = [name for name in cls._saved_values if name not in values]
    if missing:
        raise ValueError(f"{path!r} is missing the fitted values {missing}.")
    if arrays:
        raise ValueError(f"{path!r} has unexpected entries {sorted(arrays)}.")
    _restore_output_config(path, metadata, est)

    for name, array in fitted_arrays.items():
        setattr(est, name, array)
    for name in cls._saved_values:
        setattr(est, name, values[name])
    est.n_features_in_ = n_features_in
    if feature_names is not None:
        est.feature_names_in_ = feature_names
    est.module_ = network
    return est
