"""MNIST: download the four gzipped IDX files and convert them to TFRecords.

Upstream layout (IDX, big-endian): images have a 16-byte header (magic 2051,
count, rows, cols) then count x 28 x 28 uint8; labels an 8-byte header (magic
2049, count) then count uint8. Output as in TF-Slim: `mnist_train.tfrecord`
(60000) and `mnist_test.tfrecord` (10000) of 28x28x1 PNGs and `labels.txt`
(zero ... nine; Slim's file says 'size' for 6, we write 'six').

The files are fetched from the copy TensorFlow itself uses
(storage.googleapis.com/cvdf-datasets/mnist/, byte-identical to
yann.lecun.com/exdb/mnist/, which now often refuses downloads); the SHA-256s
below are of those files.

Typical use:

    from datasets import mnist
    mnist.run('/tmp/mnist')
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import gzip
import os

import numpy as np
from absl import logging

from datasets import dataset_utils

NAME = 'mnist'
SPLITS_TO_SIZES = {'train': 60000, 'test': 10000}
NUM_CLASSES = 10
FILE_PATTERN = 'mnist_%s.tfrecord'
CHANNELS = 1
# Every image's (height, width, channels): the shape of raw-pixel records.
IMAGE_SHAPE = (28, 28, 1)
CLASS_NAMES = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
               'eight', 'nine']

BASE_URL = 'https://storage.googleapis.com/cvdf-datasets/mnist/'
# split -> (images file, labels file)
SPLIT_FILES = {
    'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
    'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
# SHA-256 of the upstream files (sizes 9912422, 28881, 1648877, 4542 bytes).
SHA256 = {
    'train-images-idx3-ubyte.gz':
        '440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609',
    'train-labels-idx1-ubyte.gz':
        '3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c',
    't10k-images-idx3-ubyte.gz':
        '8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6',
    't10k-labels-idx1-ubyte.gz':
        'f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6',
}
_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049


def _read_idx(path, magic, header_ints):
  with gzip.open(path, 'rb') as f:
    data = f.read()
  header = np.frombuffer(data[:4 * header_ints], dtype='>u4')
  if len(header) != header_ints or header[0] != magic:
    raise ValueError('%s is not an IDX file with magic %d (header %s)' %
                     (path, magic, header.tolist()))
  return header, np.frombuffer(data[4 * header_ints:], dtype=np.uint8)


def read_images(path):
  """Returns uint8 [N, rows, cols, 1] from a gzipped IDX image file."""
  header, pixels = _read_idx(path, _IMAGES_MAGIC, 4)
  count, rows, cols = (int(v) for v in header[1:])
  if pixels.size != count * rows * cols:
    raise ValueError('%s: header says %d images of %dx%d but holds %d bytes' %
                     (path, count, rows, cols, pixels.size))
  return pixels.reshape(count, rows, cols, 1)


def read_labels(path):
  """Returns int64 [N] from a gzipped IDX label file."""
  header, labels = _read_idx(path, _LABELS_MAGIC, 2)
  if labels.size != int(header[1]):
    raise ValueError('%s: header says %d labels but holds %d' %
                     (path, header[1], labels.size))
  return labels.astype(np.int64)


def run(dataset_dir, mirror=None):
  """Downloads and converts MNIST into `dataset_dir`.

  Args:
    dataset_dir: output directory (created if missing).
    mirror: URL prefix replacing `BASE_URL`; its files are not held to the
      upstream SHA-256s.
  """
  if not os.path.isdir(dataset_dir):
    os.makedirs(dataset_dir)
  if dataset_utils.dataset_is_complete(dataset_dir, NAME):
    logging.info('mnist already converted in %s; nothing to do', dataset_dir)
    return
  dataset_utils.remove_stale_tmp_files(dataset_dir)
  downloaded = {}
  for filename in sorted(SHA256):
    downloaded[filename] = dataset_utils.download(
        (mirror or BASE_URL) + filename, dataset_dir,
        sha256=None if mirror else SHA256[filename])
  sizes = {}
  for split_name, (images_file, labels_file) in sorted(SPLIT_FILES.items()):
    images = read_images(downloaded[images_file])
    labels = read_labels(downloaded[labels_file])
    if len(images) != len(labels):
      raise ValueError('%s has %d images but %s has %d labels' %
                       (images_file, len(images), labels_file, len(labels)))
    path = os.path.join(dataset_dir, FILE_PATTERN % split_name)
    with dataset_utils.AtomicTFRecordWriter(path) as writer:
      for image, label in zip(images, labels):
        writer.write(dataset_utils.image_to_tfexample(
            dataset_utils.encode_png(image), b'png', image.shape[0],
            image.shape[1], label).SerializeToString())
    sizes[split_name] = len(labels)
  dataset_utils.write_label_file(dict(enumerate(CLASS_NAMES)), dataset_dir)
  dataset_utils.write_metadata(dataset_dir, NAME, sizes, CLASS_NAMES,
                               FILE_PATTERN)
  for path in downloaded.values():
    os.remove(path)
  logging.info('Finished converting mnist into %s: %s', dataset_dir, sizes)
