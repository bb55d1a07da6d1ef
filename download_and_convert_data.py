r"""Downloads a dataset and converts it to TF-Slim's TFRecord format.

Datasets and what they need:

    cifar10, flowers, mnist   downloaded from upstream (SHA-256 checked) or
                              from --mirror=URL_PREFIX (not checked)
    digits                    nothing: ships inside scikit-learn
    image_folder              --source_dir=DIR holding DIR/<class>/*.jpg|png,
                              [--validation_fraction=0.1]
    imagenet                  --source_dir=ILSVRC-2012 tree (see
                              datasets/imagenet.py), [--train_shards=1024
                              --validation_shards=128 --num_workers=N]

Usage:

    python download_and_convert_data.py --dataset_name=digits \
        --dataset_dir=/tmp/digits
    python download_and_convert_data.py --dataset_name=flowers \
        --dataset_dir=/tmp/flowers [--mirror=http://host/path/]
    python download_and_convert_data.py --dataset_name=image_folder \
        --source_dir=~/photos --dataset_dir=/tmp/photos

Bad input ends the run with a one-line error and exit status 1.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os
import sys

from absl import app
from absl import flags
from absl import logging

FLAGS = flags.FLAGS

# --- Data ---
flags.DEFINE_string('dataset_name', None,
                    'Dataset to convert: cifar10, digits, flowers, '
                    'image_folder, imagenet or mnist.')
flags.DEFINE_string('dataset_dir', None, 'Where the TFRecords are written.')
# --- Download ---
flags.DEFINE_string('mirror', None,
                    'URL prefix replacing the upstream base URL (each file '
                    'keeps its upstream name); mirrored files are not held to '
                    'the upstream SHA-256.')
# --- Local sources (image_folder, imagenet) ---
flags.DEFINE_string('source_dir', None,
                    'image_folder: DIR/<class>/*.{jpg,jpeg,png}; imagenet: '
                    'the ILSVRC-2012 tree.')
flags.DEFINE_float('validation_fraction', 0.1,
                   'image_folder: share of each class held out for the '
                   '"validation" split, in [0, 1).')
flags.DEFINE_integer('train_shards', 1024, 'imagenet: train shards.')
flags.DEFINE_integer('validation_shards', 128, 'imagenet: validation shards.')
flags.DEFINE_integer('num_workers', None,
                     'imagenet: parallel processes (default min(8, CPUs)).')

# Which flags each converter takes besides --dataset_dir.
_CONVERTER_FLAGS = {
    'cifar10': ('mirror',),
    'digits': (),
    'flowers': ('mirror',),
    'image_folder': ('source_dir', 'validation_fraction'),
    'imagenet': ('source_dir', 'train_shards', 'validation_shards',
                 'num_workers'),
    'mnist': ('mirror',),
}
_NEEDS_SOURCE_DIR = ('image_folder', 'imagenet')


def convert(dataset_name, dataset_dir, **kwargs):
  """Runs the converter of `dataset_name`; kwargs are its flag values.

  Raises:
    ValueError: unknown dataset (listing the valid ones), a flag the dataset
      does not take, or a missing --source_dir.
  """
  if dataset_name not in _CONVERTER_FLAGS:
    raise ValueError('unknown --dataset_name=%r; expected one of: %s' %
                     (dataset_name, ', '.join(sorted(_CONVERTER_FLAGS))))
  if not dataset_dir:
    raise ValueError('--dataset_dir is required')
  if dataset_name in _NEEDS_SOURCE_DIR and not kwargs.get('source_dir'):
    raise ValueError('--dataset_name=%s needs --source_dir' % dataset_name)
  allowed = _CONVERTER_FLAGS[dataset_name]
  for key, value in sorted(kwargs.items()):
    if value is not None and key not in allowed:
      raise ValueError('--%s does not apply to --dataset_name=%s (it takes: '
                       '%s)' % (key, dataset_name,
                                ', '.join(('dataset_dir',) + allowed)))
  from datasets import dataset_factory  # pylint: disable=g-import-not-at-top
  module = dataset_factory.datasets_map[dataset_name]
  args = {k: v for k, v in kwargs.items() if k in allowed and v is not None}
  if 'source_dir' in args:
    args['source_dir'] = os.path.expanduser(args['source_dir'])
  return module.run(os.path.expanduser(dataset_dir), **args)


def main(argv):
  if len(argv) > 1:
    print('download_and_convert_data: error: unexpected arguments: %s' %
          ' '.join(argv[1:]), file=sys.stderr)
    return 1
  # Flags left at their default are not passed, so a dataset that does not
  # take them does not complain.
  kwargs = {name: FLAGS[name].value if FLAGS[name].present else None
            for name in ('mirror', 'source_dir', 'validation_fraction',
                         'train_shards', 'validation_shards', 'num_workers')}
  try:
    convert(FLAGS.dataset_name, FLAGS.dataset_dir, **kwargs)
  except (ValueError, IOError, OSError) as e:
    logging.debug('conversion failed', exc_info=True)
    print('download_and_convert_data: error: %s' % e, file=sys.stderr)
    return 1
  return 0


def _parse_flags(argv):
  """absl's parser, but a bad flag value is one line on stderr and exit 1."""
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print('download_and_convert_data: error: %s' % e, file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  app.run(main, flags_parser=_parse_flags)
