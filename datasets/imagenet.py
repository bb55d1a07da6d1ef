"""ImageNet (ILSVRC-2012): record layout and a converter from the ILSVRC tree.

Records follow TF-Slim's `build_imagenet_data.py`: labels 1..1000 in the order
of the synset list (0 is an unused background class, so `NUM_CLASSES` is
1001), `image/class/synset`, `image/class/text`, bounding boxes under
`image/object/bbox/{xmin,ymin,xmax,ymax,label}` (also written as
`image/object/class/label`, the key Slim's decoder reads), format 'JPEG',
colorspace 'RGB'. Files: `train-NNNNN-of-01024`, `validation-NNNNN-of-00128`.

Input layout under `source_dir` (what image-net.org's tarballs unpack to plus
the small text files Slim's scripts use):

    train/<synset>/*.JPEG
    validation/*.JPEG                             (flat, as in the val tarball)
    imagenet_2012_validation_synset_labels.txt    (a synset per validation
                                                   file, in sorted file order;
                                                   not needed if validation/
                                                   is already sorted into
                                                   <synset>/ folders)
    imagenet_lsvrc_2015_synsets.txt               (optional; default: sorted
                                                   train/ sub-directories)
    imagenet_metadata.txt                         (optional; synset<TAB>text)
    imagenet_2012_bounding_boxes.csv              (optional; file,xmin,ymin,
                                                   xmax,ymax in [0, 1])

The train set's known oddities (one PNG and 22 CMYK JPEGs) are found by
decoding, not by a hard-coded list, and re-encoded as RGB JPEG. Shards are
written by parallel processes; each shard appears under its final name only
when complete.

Typical use:

    from datasets import imagenet
    imagenet.run('/data/imagenet-tfrecords', source_dir='/data/ILSVRC2012',
                 num_workers=8)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import multiprocessing
import os
import random

from absl import logging

from datasets import dataset_utils

NAME = 'imagenet'
SPLITS_TO_SIZES = {'train': 1281167, 'validation': 50000}
NUM_CLASSES = 1001
FILE_PATTERN = '%s-*'
CHANNELS = 3
# Records carry Slim's image/object/bbox/* boxes (dataset_factory decodes).
OBJECT_BOXES = True

TRAIN_SHARDS = 1024
VALIDATION_SHARDS = 128
VALIDATION_LABELS_FILE = 'imagenet_2012_validation_synset_labels.txt'
SYNSETS_FILE = 'imagenet_lsvrc_2015_synsets.txt'
METADATA_FILE = 'imagenet_metadata.txt'
BOUNDING_BOX_FILE = 'imagenet_2012_bounding_boxes.csv'
_SHARD_PATTERN = '%(split)s-%(shard)05d-of-%(num)05d'
# A progress line at least this often (seconds).
_PROGRESS_SECS = 30
_SEED = 12345  # Slim's shuffle seed.
_EXTENSIONS = ('.jpeg', '.jpg', '.png')


def _read_lines(path):
  with open(path) as f:
    return [line.strip() for line in f if line.strip()]


def _read_synset_texts(path):
  texts = {}
  if os.path.isfile(path):
    for line in _read_lines(path):
      synset, _, text = line.partition('\t')
      texts[synset] = text.strip()
  return texts


def _read_bounding_boxes(path):
  """Returns basename -> list of (xmin, ymin, xmax, ymax), clipped to [0, 1]."""
  boxes = {}
  if os.path.isfile(path):
    for line in _read_lines(path):
      parts = line.split(',')
      if len(parts) != 5:
        raise ValueError('%s: expected "file,xmin,ymin,xmax,ymax", got %r' %
                         (path, line))
      box = tuple(min(max(float(v), 0.0), 1.0) for v in parts[1:])
      boxes.setdefault(parts[0], []).append(box)
  return boxes


def _is_image(name):
  return os.path.splitext(name)[1].lower() in _EXTENSIONS


def find_images(source_dir):
  """Lists the ILSVRC-2012 tree.

  Returns:
    (synsets list, dict split -> list of (path, synset)).

  Raises:
    ValueError: a missing directory/file, or label counts that do not match.
  """
  train_dir = os.path.join(source_dir, 'train')
  val_dir = os.path.join(source_dir, 'validation')
  if not os.path.isdir(val_dir) and os.path.isdir(os.path.join(source_dir,
                                                               'val')):
    val_dir = os.path.join(source_dir, 'val')
  for d in (train_dir, val_dir):
    if not os.path.isdir(d):
      raise ValueError('ImageNet source %r lacks %s/; expected train/<synset>/'
                       '*.JPEG and a flat validation/ folder' %
                       (source_dir, os.path.basename(d)))
  synsets_path = os.path.join(source_dir, SYNSETS_FILE)
  if os.path.isfile(synsets_path):
    synsets = _read_lines(synsets_path)
  else:
    synsets = sorted(d for d in os.listdir(train_dir)
                     if os.path.isdir(os.path.join(train_dir, d)))
  known = set(synsets)
  train = []
  for synset in sorted(os.listdir(train_dir)):
    if not os.path.isdir(os.path.join(train_dir, synset)):
      continue
    if synset not in known:
      raise ValueError('train/%s is not in the synset list %s' %
                       (synset, synsets_path))
    train.extend((os.path.join(train_dir, synset, f), synset)
                 for f in sorted(os.listdir(os.path.join(train_dir, synset)))
                 if _is_image(f))
  val_subdirs = sorted(d for d in os.listdir(val_dir)
                       if os.path.isdir(os.path.join(val_dir, d)))
  if val_subdirs:
    # Already sorted into validation/<synset>/ (what Slim's
    # preprocess_imagenet_validation_data.py does): no label file needed.
    unknown = sorted(set(val_subdirs) - known)
    if unknown:
      raise ValueError('validation/%s is not in the synset list' % unknown[0])
    validation = [(os.path.join(val_dir, s, f), s) for s in val_subdirs
                  for f in sorted(os.listdir(os.path.join(val_dir, s)))
                  if _is_image(f)]
    return synsets, {'train': train, 'validation': validation}
  labels_path = os.path.join(source_dir, VALIDATION_LABELS_FILE)
  if not os.path.isfile(labels_path):
    raise ValueError('ImageNet source %r lacks %s (one synset per validation '
                     'image, in sorted file order)' %
                     (source_dir, VALIDATION_LABELS_FILE))
  val_files = sorted(f for f in os.listdir(val_dir) if _is_image(f))
  val_labels = _read_lines(labels_path)
  if len(val_files) != len(val_labels):
    raise ValueError('%s has %d labels but %s holds %d images' %
                     (labels_path, len(val_labels), val_dir, len(val_files)))
  unknown = sorted(set(val_labels) - known)
  if unknown:
    raise ValueError('%s names synsets not in the synset list: %s' %
                     (labels_path, ', '.join(unknown[:5])))
  validation = [(os.path.join(val_dir, f), s)
                for f, s in zip(val_files, val_labels)]
  return synsets, {'train': train, 'validation': validation}


def _process_shard(task):
  """Writes one shard; runs in a worker process.

  Args:
    task: (output path, list of (image path, label, synset, text, boxes)).

  Returns:
    (path, records written, list of re-encode notes, list of skipped paths).
  """
  path, items = task
  notes, skipped = [], []
  with dataset_utils.AtomicTFRecordWriter(path) as writer:
    for image_path, label, synset, text, boxes in items:
      with open(image_path, 'rb') as f:
        data = f.read()
      try:
        data, _, height, width, note = dataset_utils.prepare_image(
            data, reencode_png=True)
      except dataset_utils.BadImageError as e:
        skipped.append('%s: %s' % (image_path, e))
        continue
      if note:
        notes.append('%s: %s' % (image_path, note))
      extra = {
          'image/colorspace': dataset_utils.bytes_feature(b'RGB'),
          'image/channels': dataset_utils.int64_feature(3),
          'image/class/synset': dataset_utils.bytes_feature(synset),
          'image/class/text': dataset_utils.bytes_feature(text),
          'image/filename': dataset_utils.bytes_feature(
              os.path.basename(image_path)),
          'image/object/bbox/xmin': dataset_utils.float_feature(
              [b[0] for b in boxes]),
          'image/object/bbox/ymin': dataset_utils.float_feature(
              [b[1] for b in boxes]),
          'image/object/bbox/xmax': dataset_utils.float_feature(
              [b[2] for b in boxes]),
          'image/object/bbox/ymax': dataset_utils.float_feature(
              [b[3] for b in boxes]),
          'image/object/bbox/label': dataset_utils.int64_feature(
              [label] * len(boxes)),
          'image/object/class/label': dataset_utils.int64_feature(
              [label] * len(boxes)),
      }
      writer.write(dataset_utils.image_to_tfexample(
          data, b'JPEG', height, width, label, extra).SerializeToString())
  return path, writer.count, notes, skipped


def run(dataset_dir, source_dir, train_shards=TRAIN_SHARDS,
        validation_shards=VALIDATION_SHARDS, num_workers=None):
  """Converts an ILSVRC-2012 tree (see the module docstring) to TFRecords.

  Args:
    dataset_dir: output directory (created if missing).
    source_dir: the ILSVRC-2012 tree.
    train_shards: number of train shards (Slim: 1024).
    validation_shards: number of validation shards (Slim: 128).
    num_workers: parallel processes; default min(8, CPUs). 1 = in-process.

  Returns:
    dict split -> number of records written.

  Raises:
    ValueError: bad arguments or an incomplete source tree.
  """
  for flag, value in (('train_shards', train_shards),
                      ('validation_shards', validation_shards)):
    if not isinstance(value, int) or value < 1:
      raise ValueError('--%s=%r must be a positive integer' % (flag, value))
  if num_workers is None:
    num_workers = min(8, os.cpu_count() or 1)
  if num_workers < 1:
    raise ValueError('--num_workers=%r must be >= 1' % num_workers)
  synsets, splits = find_images(source_dir)
  texts = _read_synset_texts(os.path.join(source_dir, METADATA_FILE))
  boxes = _read_bounding_boxes(os.path.join(source_dir, BOUNDING_BOX_FILE))
  labels = {s: i + 1 for i, s in enumerate(synsets)}  # 0 is background.
  if not os.path.isdir(dataset_dir):
    os.makedirs(dataset_dir)
  dataset_utils.remove_stale_tmp_files(dataset_dir)
  tasks = []
  for split_name, num_shards in (('train', train_shards),
                                 ('validation', validation_shards)):
    files = list(splits[split_name])
    random.Random(_SEED).shuffle(files)
    items = [(path, labels[s], s, texts.get(s, s),
              boxes.get(os.path.basename(path), []))
             for path, s in files]
    for shard in range(num_shards):
      lo = len(items) * shard // num_shards
      hi = len(items) * (shard + 1) // num_shards
      tasks.append((dataset_utils.shard_filename(
          dataset_dir, _SHARD_PATTERN, split_name, shard, num_shards),
                    items[lo:hi]))
  # A rerun keeps every shard an earlier run finished: checked, not assumed
  # (its record count must be the plan's; a shard with skipped images is
  # redone, which costs only that shard).
  results, todo = [], []
  for path, items in tasks:
    if dataset_utils.count_records(path) == len(items):
      results.append((path, len(items), [], []))
    else:
      todo.append((path, items))
  progress = dataset_utils.Progress(
      'Converting ImageNet', len(tasks), sum(len(i) for _, i in tasks))
  if results:
    logging.info('Keeping %d of %d shards already complete in %s; converting '
                 'the other %d', len(results), len(tasks), dataset_dir,
                 len(todo))
    progress.start_from(len(results), sum(r[1] for r in results))
  if num_workers == 1:
    for task in todo:
      results.append(_process_shard(task))
      progress.add(1, len(task[1]))
  elif todo:
    # 'spawn': forking a process that has run TensorFlow can deadlock.
    with multiprocessing.get_context('spawn').Pool(num_workers) as pool:
      pending = pool.imap_unordered(_process_shard, todo, chunksize=1)
      planned = {path: len(items) for path, items in todo}
      while len(results) < len(tasks):
        try:
          result = pending.next(timeout=_PROGRESS_SECS)
        except multiprocessing.TimeoutError:
          progress.maybe_log(force=True)  # A line at least this often.
          continue
        results.append(result)
        progress.add(1, planned[result[0]])
  progress.maybe_log(force=True)
  sizes = {'train': 0, 'validation': 0}
  skipped = []
  for path, count, notes, bad in results:
    sizes[os.path.basename(path).split('-')[0]] += count
    for note in notes:
      logging.info(note)
    for line in bad:
      logging.warning('Skipping %s', line)
    skipped.extend(bad)
  if skipped:
    logging.warning('Skipped %d undecodable image(s)', len(skipped))
  names = {0: 'background'}
  names.update({labels[s]: texts.get(s, s) for s in synsets})
  dataset_utils.write_label_file(names, dataset_dir)
  dataset_utils.write_metadata(
      dataset_dir, NAME, sizes, [names[i] for i in range(len(names))],
      FILE_PATTERN, synsets=synsets, skipped=len(skipped))
  logging.info('Finished converting ImageNet into %s: %s', dataset_dir, sizes)
  return sizes
