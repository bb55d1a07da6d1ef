"""The offline 'digits' dataset: UCI handwritten digits shipped in scikit-learn.

`sklearn.datasets.load_digits()` reads 1797 8x8 grayscale digits (values
0..16) from a file inside the scikit-learn package, so this dataset needs no
network. The converter splits it per class with a fixed seed (about 80/20:
1438 train, 359 validation), upscales each image 4x by pixel replication to
32x32 and scales 0..16 to 0..255 (round(v * 255 / 16), which is one-to-one,
so nothing is lost), and stores it as a grayscale PNG record. The records are
decoded with 3 channels so every model can take them.

Typical use:

    from datasets import digits
    digits.run('/tmp/digits')          # or download_and_convert_data.py
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os

import numpy as np
from absl import logging

from datasets import dataset_utils

NAME = 'digits'
SPLITS_TO_SIZES = {'train': 1438, 'validation': 359}
NUM_CLASSES = 10
FILE_PATTERN = 'digits_%s_*.tfrecord'
CHANNELS = 3
CLASS_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
               'eight', 'nine']

_SHARD_PATTERN = 'digits_%(split)s_%(shard)05d-of-%(num)05d.tfrecord'
_NUM_SHARDS = {'train': 2, 'validation': 1}
_SEED = 0
_VALIDATION_FRACTION = 0.2
IMAGE_SIZE = 32  # 8 x 8 pixels, each replicated into a 4 x 4 block.


def load_source():
  """Returns (images uint8 [1797, 32, 32], labels int64 [1797]) as stored."""
  # Imported here: only the converter needs scikit-learn.
  from sklearn import datasets as sk_datasets  # pylint: disable=g-import-not-at-top
  digits = sk_datasets.load_digits()
  # 0..16 -> 0..255; distinct inputs stay distinct after rounding.
  images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
  factor = IMAGE_SIZE // images.shape[1]
  images = images.repeat(factor, axis=1).repeat(factor, axis=2)
  return images, digits.target.astype(np.int64)


def split_indices(labels, validation_fraction=_VALIDATION_FRACTION, seed=_SEED):
  """Deterministic stratified split.

  Args:
    labels: int array [N].
    validation_fraction: share of each class that goes to validation.
    seed: RandomState seed.

  Returns:
    dict split name -> sorted int array of indices into `labels`.
  """
  rng = np.random.RandomState(seed)
  validation = []
  for label in range(NUM_CLASSES):
    members = np.flatnonzero(labels == label)
    members = members[rng.permutation(len(members))]
    validation.extend(members[:int(round(validation_fraction * len(members)))])
  validation = np.array(sorted(validation), dtype=np.int64)
  train = np.setdiff1d(np.arange(len(labels)), validation)
  return {'train': train, 'validation': validation}


def run(dataset_dir):
  """Converts scikit-learn's digits into PNG TFRecords in `dataset_dir`.

  Writes `digits_{train,validation}_NNNNN-of-NNNNN.tfrecord`, `labels.txt`
  and `metadata.json`; does nothing if the dataset is already complete.

  Args:
    dataset_dir: output directory (created if missing).
  """
  if not os.path.isdir(dataset_dir):
    os.makedirs(dataset_dir)
  if dataset_utils.dataset_is_complete(dataset_dir, NAME):
    logging.info('digits already converted in %s; nothing to do', dataset_dir)
    return
  dataset_utils.remove_stale_tmp_files(dataset_dir)
  images, labels = load_source()
  splits = split_indices(labels)
  sizes = {}
  for split_name, indices in sorted(splits.items()):
    examples = [
        dataset_utils.image_to_tfexample(
            dataset_utils.encode_png(images[i]), b'png', IMAGE_SIZE,
            IMAGE_SIZE, labels[i]).SerializeToString() for i in indices]
    dataset_utils.write_sharded(examples, dataset_dir, _SHARD_PATTERN,
                                split_name, _NUM_SHARDS[split_name])
    sizes[split_name] = len(examples)
  if sizes != SPLITS_TO_SIZES:
    raise AssertionError('digits split sizes %s differ from the declared %s '
                         '(a different scikit-learn?)' %
                         (sizes, SPLITS_TO_SIZES))
  dataset_utils.write_label_file(dict(enumerate(CLASS_NAMES)), dataset_dir)
  dataset_utils.write_metadata(dataset_dir, NAME, sizes, CLASS_NAMES,
                               FILE_PATTERN)
  logging.info('Finished converting digits into %s: %s', dataset_dir, sizes)
