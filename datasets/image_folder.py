"""Your own images: convert `SOURCE/<class>/*.{jpg,jpeg,png}` to TFRecords.

No dataset module to write: the converter records the classes and split sizes
in `metadata.json` next to the shards, and `dataset_factory.get_dataset(
'image_folder', split, dir)` reads them from there.

Each class directory is split on its own (stratified) with a fixed seed:
`round(validation_fraction * n)` of its images go to 'validation', the rest to
'train'. JPEG and PNG bytes are stored unchanged; other encodings hiding under
those extensions (e.g. CMYK JPEG) are re-encoded as RGB JPEG. Files that are
not images, or not decodable, are logged by path and skipped, and the count is
kept in `metadata.json` under `skipped`.

Typical use:

    from datasets import image_folder
    image_folder.run('/tmp/my_records', source_dir='/data/my_photos',
                     validation_fraction=0.1)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import glob
import math
import os
import random

from absl import logging

from datasets import dataset_utils

NAME = 'image_folder'
SPLITS_TO_SIZES = None  # Read from metadata.json.
NUM_CLASSES = None  # Read from metadata.json.
FILE_PATTERN = 'image_folder_%s_*.tfrecord'
CHANNELS = 3
EXTENSIONS = ('.jpeg', '.jpg', '.png')
_SHARD_PATTERN = 'image_folder_%(split)s_%(shard)05d-of-%(num)05d.tfrecord'
_SEED = 0
_IMAGES_PER_SHARD = 1024


def list_images(source_dir):
  """Lists the class directories and their files.

  Returns:
    (sorted class names, sorted list of (path, class name) with an image
    extension, sorted list of other file paths found in class directories).

  Raises:
    ValueError: `source_dir` is missing or has no class sub-directories.
  """
  if not os.path.isdir(source_dir):
    raise ValueError('--source_dir %r is not a directory' % source_dir)
  classes = sorted(d for d in os.listdir(source_dir)
                   if os.path.isdir(os.path.join(source_dir, d))
                   and not d.startswith('.'))
  if not classes:
    raise ValueError('--source_dir %r has no class sub-directories; expected '
                     'SOURCE/<class>/*.{jpg,jpeg,png}' % source_dir)
  images, others = [], []
  for name in classes:
    class_dir = os.path.join(source_dir, name)
    for root, dirs, files in os.walk(class_dir):
      dirs.sort()
      for f in sorted(files):
        path = os.path.join(root, f)
        if os.path.splitext(f)[1].lower() in EXTENSIONS:
          images.append((path, name))
        else:
          others.append(path)
  return classes, images, others


def split_images(images, validation_fraction, seed=_SEED):
  """Per-class seeded split; returns dict split -> list of (path, class)."""
  by_class = {}
  for path, name in images:
    by_class.setdefault(name, []).append((path, name))
  rng = random.Random(seed)
  splits = {'train': [], 'validation': []}
  for name in sorted(by_class):
    members = by_class[name]
    rng.shuffle(members)
    n_val = int(round(validation_fraction * len(members)))
    splits['validation'].extend(members[:n_val])
    splits['train'].extend(members[n_val:])
  for split in splits.values():  # Mix classes within each split.
    rng.shuffle(split)
  return splits


def run(dataset_dir, source_dir, validation_fraction=0.1):
  """Converts an image tree into sharded TFRecords, labels.txt and metadata.

  Args:
    dataset_dir: output directory (created if missing).
    source_dir: the tree `SOURCE/<class>/*.{jpg,jpeg,png}`.
    validation_fraction: share of each class held out for 'validation', in
      [0, 1).

  Returns:
    dict split -> number of records written.

  Raises:
    ValueError: bad `source_dir` or `validation_fraction`, or no usable image.
  """
  if not 0.0 <= validation_fraction < 1.0:
    raise ValueError('--validation_fraction=%r must be in [0, 1)' %
                     validation_fraction)
  classes, images, others = list_images(source_dir)
  if not os.path.isdir(dataset_dir):
    os.makedirs(dataset_dir)
  dataset_utils.remove_stale_tmp_files(dataset_dir)
  class_ids = {name: i for i, name in enumerate(classes)}
  skipped = []
  for path in others:
    logging.warning('Skipping %s: not a .jpg, .jpeg or .png file', path)
    skipped.append(path)
  splits = split_images(images, validation_fraction)
  # The plan: each split cut into contiguous shards of the (seeded, so
  # repeatable) image order. A rerun keeps every shard an earlier run
  # finished, checked, not assumed: its record count must be the plan's (a
  # shard with a skipped image is redone, which costs only that shard).
  plan = []
  for split_name, split in sorted(splits.items()):
    num_shards = int(math.ceil(len(split) / _IMAGES_PER_SHARD))
    for shard in range(num_shards):
      plan.append((split_name, dataset_utils.shard_filename(
          dataset_dir, _SHARD_PATTERN, split_name, shard, num_shards),
                   split[len(split) * shard // num_shards:
                         len(split) * (shard + 1) // num_shards]))
  sizes = {split_name: 0 for split_name in splits}
  written = set()
  todo = []
  for split_name, path, items in plan:
    if dataset_utils.count_records(path) == len(items):
      sizes[split_name] += len(items)
      written.add(path)
    else:
      todo.append((split_name, path, items))
  progress = dataset_utils.Progress(
      'Converting %s' % source_dir, len(plan),
      sum(len(items) for _, _, items in plan))
  if written:
    logging.info('Keeping %d of %d shards already complete in %s; converting '
                 'the other %d', len(written), len(plan), dataset_dir,
                 len(todo))
    progress.start_from(len(written), sum(sizes.values()))
  for split_name, path, items in todo:
    with dataset_utils.AtomicTFRecordWriter(path) as writer:
      for image_path, class_name in items:
        progress.add(0, 1)
        record = dataset_utils.image_file_to_example(image_path,
                                                     class_ids[class_name])
        if record is None:
          skipped.append(image_path)
          continue
        writer.write(record)
        sizes[split_name] += 1
    written.add(path)
    progress.add(1, 0)
  progress.maybe_log(force=True)
  if not sizes.get('train'):
    raise ValueError('No usable image under --source_dir %r (%d skipped)' %
                     (source_dir, len(skipped)))
  if skipped:
    logging.warning('Skipped %d unreadable or non-image file(s) under %s',
                    len(skipped), source_dir)
  # Shards of an earlier conversion into the same directory would match the
  # file pattern; drop them only now that the new ones are complete.
  for split_name in ('train', 'validation'):
    pattern = os.path.join(dataset_dir, FILE_PATTERN % split_name)
    for old in glob.glob(pattern):
      if old not in written:
        os.remove(old)
  dataset_utils.write_label_file(dict(enumerate(classes)), dataset_dir)
  dataset_utils.write_metadata(dataset_dir, NAME, sizes, classes, FILE_PATTERN,
                               source_dir=os.path.abspath(source_dir),
                               validation_fraction=validation_fraction,
                               skipped=sorted(skipped))
  logging.info('Finished converting %s into %s: %s', source_dir, dataset_dir,
               sizes)
  return sizes
