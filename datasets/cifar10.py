"""CIFAR-10: download the python-pickle tarball and convert it to TFRecords.

Upstream: https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz, holding
`cifar-10-batches-py/data_batch_1..5` (train) and `test_batch`, each a pickled
dict with `data` (N x 3072 uint8, channel-major) and `labels`. Output as in
TF-Slim: `cifar10_train.tfrecord` (50000) and `cifar10_test.tfrecord` (10000)
of 32x32x3 PNGs, plus `labels.txt` (airplane ... truck).

The pickles come from the network, so they are read with
`dataset_utils.safe_unpickle`, which refuses anything but numpy arrays.

Typical use:

    from datasets import cifar10
    cifar10.run('/tmp/cifar10')                       # upstream, checksummed
    cifar10.run('/tmp/cifar10', mirror='http://127.0.0.1:8000/')
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import shutil

import numpy as np
from absl import logging

from datasets import dataset_utils

NAME = 'cifar10'
SPLITS_TO_SIZES = {'train': 50000, 'test': 10000}
NUM_CLASSES = 10
FILE_PATTERN = 'cifar10_%s.tfrecord'
CHANNELS = 3
# Every image's (height, width, channels): the shape of raw-pixel records.
IMAGE_SHAPE = (32, 32, 3)
CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
               'horse', 'ship', 'truck']

BASE_URL = 'https://www.cs.toronto.edu/~kriz/'
ARCHIVE = 'cifar-10-python.tar.gz'
# SHA-256 of the upstream tarball (170498071 bytes; md5 c58f3010...349a).
ARCHIVE_SHA256 = (
    '6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce')
BATCH_DIR = 'cifar-10-batches-py'
SPLIT_BATCHES = {
    'train': ['data_batch_%d' % i for i in range(1, 6)],
    'test': ['test_batch'],
}


def read_batch(path):
  """Reads one pickled CIFAR batch.

  Returns:
    (images uint8 [N, 32, 32, 3], labels int64 [N]).

  Raises:
    ValueError: the pickle is unsafe or lacks `data`/`labels`.
  """
  batch = dataset_utils.safe_unpickle(path)
  if not isinstance(batch, dict):
    raise ValueError('%s is not a CIFAR batch (a pickled dict)' % path)
  # Python 2 pickles load with bytes keys, Python 3 ones with str keys.
  batch = {k.decode('latin1') if isinstance(k, bytes) else k: v
           for k, v in batch.items()}
  if 'data' not in batch or 'labels' not in batch:
    raise ValueError('%s lacks "data"/"labels"; keys: %s' %
                     (path, ', '.join(sorted(batch))))
  data = np.asarray(batch['data'], dtype=np.uint8)
  images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # NCHW -> NHWC
  return images, np.asarray(batch['labels'], dtype=np.int64)


def run(dataset_dir, mirror=None):
  """Downloads and converts CIFAR-10 into `dataset_dir`.

  Args:
    dataset_dir: output directory (created if missing).
    mirror: URL prefix replacing `BASE_URL`; its archive is not held to the
      upstream SHA-256.
  """
  if not os.path.isdir(dataset_dir):
    os.makedirs(dataset_dir)
  if dataset_utils.dataset_is_complete(dataset_dir, NAME):
    logging.info('cifar10 already converted in %s; nothing to do', dataset_dir)
    return
  dataset_utils.remove_stale_tmp_files(dataset_dir)
  archive = dataset_utils.download(
      (mirror or BASE_URL) + ARCHIVE, dataset_dir,
      sha256=None if mirror else ARCHIVE_SHA256)
  work_dir = dataset_utils.tmp_path_for(os.path.join(dataset_dir, 'extract'))
  try:
    dataset_utils.safe_extract_tar(archive, work_dir)
    # Read every batch before writing, so a bad archive writes nothing.
    data = {batch: read_batch(os.path.join(work_dir, BATCH_DIR, batch))
            for batches in SPLIT_BATCHES.values() for batch in batches}
    sizes = {}
    for split_name, batches in sorted(SPLIT_BATCHES.items()):
      path = os.path.join(dataset_dir, FILE_PATTERN % split_name)
      with dataset_utils.AtomicTFRecordWriter(path) as writer:
        for batch in batches:
          for image, label in zip(*data[batch]):
            writer.write(dataset_utils.image_to_tfexample(
                dataset_utils.encode_png(image), b'png', 32, 32,
                label).SerializeToString())
        sizes[split_name] = writer.count
  finally:
    shutil.rmtree(work_dir, ignore_errors=True)
  dataset_utils.write_label_file(dict(enumerate(CLASS_NAMES)), dataset_dir)
  dataset_utils.write_metadata(dataset_dir, NAME, sizes, CLASS_NAMES,
                               FILE_PATTERN)
  os.remove(archive)
  logging.info('Finished converting cifar10 into %s: %s', dataset_dir, sizes)
