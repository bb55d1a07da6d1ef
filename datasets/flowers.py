"""Flowers: download TensorFlow's flower_photos.tgz and convert it to TFRecords.

Upstream: http://download.tensorflow.org/example_images/flower_photos.tgz,
holding `flower_photos/<class>/*.jpg` for 5 classes (daisy, dandelion, roses,
sunflowers, tulips; sorted directory names give the ids) and a LICENSE.txt.
As in TF-Slim: files are shuffled with seed 0, the first 350 form
'validation' and the rest 'train' (3320), written as 5 shards per split
(`flowers_<split>_0000N-of-00005.tfrecord`) holding the original JPEG bytes
with format 'jpg'. Unlike Slim, the file list is sorted before shuffling so the
split is the same on every file system.

Typical use:

    from datasets import flowers
    flowers.run('/tmp/flowers')
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import random
import shutil

from absl import logging

from datasets import dataset_utils

NAME = 'flowers'
SPLITS_TO_SIZES = {'train': 3320, 'validation': 350}
NUM_CLASSES = 5
FILE_PATTERN = 'flowers_%s_*.tfrecord'
CHANNELS = 3

BASE_URL = 'http://download.tensorflow.org/example_images/'
ARCHIVE = 'flower_photos.tgz'
# SHA-256 of the upstream archive (228813984 bytes).
ARCHIVE_SHA256 = (
    '4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c')
PHOTO_DIR = 'flower_photos'
NUM_VALIDATION = 350
NUM_SHARDS = 5
_SEED = 0
_SHARD_PATTERN = 'flowers_%(split)s_%(shard)05d-of-%(num)05d.tfrecord'


def list_photos(root):
  """Returns (sorted class names, sorted list of (path, class name))."""
  classes = sorted(d for d in os.listdir(root)
                   if os.path.isdir(os.path.join(root, d)))
  photos = []
  for name in classes:
    class_dir = os.path.join(root, name)
    photos.extend((os.path.join(class_dir, f), name)
                  for f in sorted(os.listdir(class_dir)))
  return classes, photos


def split_photos(photos, num_validation=NUM_VALIDATION, seed=_SEED):
  """Slim's split: shuffle with `seed`; the first `num_validation` validate."""
  photos = list(photos)
  random.Random(seed).shuffle(photos)
  return {'validation': photos[:num_validation],
          'train': photos[num_validation:]}


def run(dataset_dir, mirror=None, num_validation=NUM_VALIDATION,
        num_shards=NUM_SHARDS):
  """Downloads and converts the flower photos into `dataset_dir`.

  Args:
    dataset_dir: output directory (created if missing).
    mirror: URL prefix replacing `BASE_URL`; its archive is not held to the
      upstream SHA-256.
    num_validation: photos in the validation split (Slim: 350).
    num_shards: shards per split (Slim: 5).
  """
  if not os.path.isdir(dataset_dir):
    os.makedirs(dataset_dir)
  if dataset_utils.dataset_is_complete(dataset_dir, NAME):
    logging.info('flowers already converted in %s; nothing to do', dataset_dir)
    return
  dataset_utils.remove_stale_tmp_files(dataset_dir)
  archive = dataset_utils.download(
      (mirror or BASE_URL) + ARCHIVE, dataset_dir,
      sha256=None if mirror else ARCHIVE_SHA256)
  work_dir = dataset_utils.tmp_path_for(os.path.join(dataset_dir, 'extract'))
  try:
    dataset_utils.safe_extract_tar(archive, work_dir)
    classes, photos = list_photos(os.path.join(work_dir, PHOTO_DIR))
    class_ids = {name: i for i, name in enumerate(classes)}
    sizes = {}
    splits = split_photos(photos, num_validation)
    for split_name, split in sorted(splits.items()):
      examples = []
      for path, class_name in split:
        record = dataset_utils.image_file_to_example(
            path, class_ids[class_name],
            format_name=lambda fmt: b'jpg' if fmt == b'jpeg' else fmt)
        if record is not None:
          examples.append(record)
      dataset_utils.write_sharded(examples, dataset_dir, _SHARD_PATTERN,
                                  split_name, num_shards)
      sizes[split_name] = len(examples)
  finally:
    shutil.rmtree(work_dir, ignore_errors=True)
  dataset_utils.write_label_file(dict(enumerate(classes)), dataset_dir)
  dataset_utils.write_metadata(dataset_dir, NAME, sizes, classes, FILE_PATTERN)
  os.remove(archive)
  logging.info('Finished converting flowers into %s: %s', dataset_dir, sizes)
