"""Dataset registry: which TFRecords make up a split, and what they hold.

`get_dataset(name, split_name, dataset_dir)` returns a `DatasetSplit`: the
sorted record files of the split plus what training and evaluation need to
know (number of samples and classes, label names, channels to decode). The
records are read by `datasets.input_pipeline.build_dataset`, which decodes
TF-Slim's keys, so records written by Slim's converters work here unchanged.

Split sizes come from the converter's `metadata.json` when the directory has
one (so a dataset converted from a small mirror reports its true size), else
from the sizes Slim declares for the upstream data. `image_folder` always
reads its classes and sizes from `metadata.json`.

Typical use:

    from datasets import dataset_factory
    from datasets import input_pipeline

    split = dataset_factory.get_dataset('digits', 'train', '/tmp/digits')
    split.num_samples, split.num_classes      # 1438, 10
    ds = input_pipeline.build_dataset(split, preprocess_fn, batch_size=32,
                                      image_size=32, is_training=True)
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os

import tensorflow.compat.v1 as tf

from datasets import cifar10
from datasets import dataset_utils
from datasets import digits
from datasets import flowers
from datasets import image_folder
from datasets import imagenet
from datasets import mnist

# name -> module declaring NAME, SPLITS_TO_SIZES, NUM_CLASSES, FILE_PATTERN,
# CHANNELS and a converter `run(dataset_dir, ...)`.
datasets_map = {
    'cifar10': cifar10,
    'digits': digits,
    'flowers': flowers,
    'image_folder': image_folder,
    'imagenet': imagenet,
    'mnist': mnist,
}


def names():
  """Returns the registered dataset names, sorted."""
  return sorted(datasets_map)


class DatasetSplit(object):
  """One split of a dataset on disk.

  Attributes:
    name: dataset name, e.g. 'flowers'.
    split_name: e.g. 'train'.
    dataset_dir: the directory holding the records.
    file_pattern: the glob the record files were found with (absolute).
    files: sorted list of matching record files.
    num_samples: number of records in the split.
    num_classes: number of classes (imagenet: 1001, label 0 = background).
    labels_to_names: dict label -> class name from labels.txt, or None.
    channels: channels images are decoded to (3; mnist 1).
  """

  def __init__(self, name, split_name, dataset_dir, file_pattern, files,
               num_samples, num_classes, labels_to_names, channels):
    self.name = name
    self.split_name = split_name
    self.dataset_dir = dataset_dir
    self.file_pattern = file_pattern
    self.files = files
    self.num_samples = num_samples
    self.num_classes = num_classes
    self.labels_to_names = labels_to_names
    self.channels = channels

  def __repr__(self):
    return ('DatasetSplit(name=%r, split_name=%r, num_samples=%d, '
            'num_classes=%d, files=%d, channels=%d)' %
            (self.name, self.split_name, self.num_samples, self.num_classes,
             len(self.files), self.channels))


def get_dataset(name, split_name, dataset_dir, file_pattern=None):
  """Returns the `DatasetSplit` for `split_name` of dataset `name`.

  Args:
    name: a name from `names()`.
    split_name: a split of that dataset, e.g. 'train', 'validation', 'test'.
    dataset_dir: directory of the converted records.
    file_pattern: optional glob (relative to `dataset_dir` unless absolute);
      a `%s` in it is replaced by `split_name`. Default: the dataset's own.

  Returns:
    A `DatasetSplit`.

  Raises:
    ValueError: unknown dataset or split (the message lists the valid ones),
      image_folder without metadata.json, or no file matching the pattern
      (the message quotes the pattern).
  """
  if name not in datasets_map:
    raise ValueError('Unknown dataset_name %r; expected one of: %s' %
                     (name, ', '.join(names())))
  module = datasets_map[name]
  if not dataset_dir:
    raise ValueError('dataset_dir is required (got %r)' % (dataset_dir,))
  info = dataset_utils.read_metadata(dataset_dir)
  if info is not None and info.get('name') not in (None, name):
    info = None  # A different dataset's metadata: fall back to constants.
  if module.SPLITS_TO_SIZES is None and info is None:
    raise ValueError(
        'No %s in %r: convert your images first with download_and_convert_'
        'data.py --dataset_name=%s --source_dir=DIR --dataset_dir=%s' %
        (dataset_utils.METADATA_FILENAME, dataset_dir, name, dataset_dir))
  splits = dict(info['splits']) if info else dict(module.SPLITS_TO_SIZES)
  if split_name not in splits:
    raise ValueError('Unknown split_name %r for dataset %r; expected one of: '
                     '%s' % (split_name, name, ', '.join(sorted(splits))))
  num_classes = module.NUM_CLASSES or info['num_classes']
  pattern = file_pattern or module.FILE_PATTERN
  if '%s' in pattern:
    pattern = pattern % split_name
  pattern = os.path.join(dataset_dir, pattern)
  files = sorted(tf.io.gfile.glob(pattern))
  if not files:
    raise ValueError('No record files match %r (dataset %r, split %r); '
                     'create them with download_and_convert_data.py '
                     '--dataset_name=%s --dataset_dir=%s' %
                     (pattern, name, split_name, name, dataset_dir))
  labels_to_names = None
  if dataset_utils.has_labels(dataset_dir):
    labels_to_names = dataset_utils.read_label_file(dataset_dir)
  return DatasetSplit(name=name, split_name=split_name,
                      dataset_dir=dataset_dir, file_pattern=pattern,
                      files=files, num_samples=int(splits[split_name]),
                      num_classes=int(num_classes),
                      labels_to_names=labels_to_names,
                      channels=module.CHANNELS)
