"""Dataset registry: which TFRecords make up a split, and what they hold.

`get_dataset(name, split_name, dataset_dir)` returns a `DatasetSplit`: the
sorted record files of the split plus what training and evaluation need to
know (number of samples and classes, label names, channels to decode). The
records are read by `datasets.input_pipeline.build_dataset`, which decodes
TF-Slim's keys, so records written by Slim's converters work here unchanged.

A `DatasetSplit` is also a `tf_slim` `slim.dataset.Dataset`, as TF-Slim's
`get_dataset` returns: `data_sources`, `reader`, a `TFExampleDecoder` with
Slim's items ('image', 'label'; for ImageNet also 'object/bbox' and
'object/label'), `num_samples`, `items_to_descriptions`, `num_classes` and
`labels_to_names`, so Slim-style code can read it with
`slim.dataset_data_provider.DatasetDataProvider(dataset)`. Both that decoder
and the tf.data pipeline read Slim's raw-pixel records (`image/format`
'raw'): uint8 pixels of the dataset's `IMAGE_SHAPE` (cifar10 32x32x3, mnist
28x28x1) or, for datasets of varying sizes, of the record's height and
width.

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
import tf_slim as slim

from datasets import cifar10
from datasets import dataset_utils
from datasets import digits
from datasets import flowers
from datasets import image_folder
from datasets import imagenet
from datasets import input_pipeline
from datasets import mnist

# name -> module declaring NAME, SPLITS_TO_SIZES, NUM_CLASSES, FILE_PATTERN,
# CHANNELS and a converter `run(dataset_dir, ...)`; OBJECT_BOXES = True if its
# records carry Slim's `image/object/bbox/*` boxes (ImageNet); IMAGE_SHAPE =
# (H, W, C) if all its images have that shape (cifar10, mnist), which is the
# shape of its raw-pixel records.
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


# The box fields of Slim's ImageNet records, in the order BoundingBox reads.
_BOX_KEYS = ('ymin', 'xmin', 'ymax', 'xmax')


class _ImageHandler(slim.tfexample_decoder.ItemHandler):
  """Decodes 'image/encoded': PNG, JPEG, GIF or BMP, or raw pixels.

  tf_slim's own `tfexample_decoder.Image` dispatches on 'image/format' with
  `control_flow_ops.case`, which TF 2's runtime no longer has. This handler
  decodes as our tf.data pipeline does (`input_pipeline.decode_image`): an
  encoded image's kind is told by its bytes (Slim's 'jpg', 'JPEG' and 'png'
  spellings alike), and a record with format 'raw' is read as uint8 pixels
  of the dataset's image shape (or the record's height and width). Running
  the image of a raw record of the wrong byte count raises
  `InvalidArgumentError` with one line saying so.
  """

  def __init__(self, channels, image_shape=None):
    input_pipeline.check_image_shape(image_shape, channels)
    super(_ImageHandler, self).__init__(['image/encoded', 'image/format',
                                         'image/height', 'image/width'])
    self._channels = channels
    self._image_shape = image_shape

  def tensors_to_item(self, keys_to_tensors):
    image, raw_bytes, raw_shape = input_pipeline.decode_image(
        keys_to_tensors['image/encoded'], keys_to_tensors['image/format'],
        self._channels, self._image_shape, keys_to_tensors['image/height'],
        keys_to_tensors['image/width'])
    with tf.control_dependencies([input_pipeline.check_raw_size(raw_bytes,
                                                                raw_shape)]):
      return tf.identity(image)


def slim_decoder(channels=3, object_boxes=False, image_shape=None):
  """TF-Slim's `TFExampleDecoder` for our (and Slim's) image records.

  Args:
    channels: channels the image is decoded to.
    object_boxes: also decode ImageNet's boxes, their labels and the label
      text.
    image_shape: `(H, W, C)` of the dataset's raw-pixel records (format
      'raw'), or None to read them with the record's height and width.

  Returns:
    `(decoder, items_to_descriptions)`: items 'image' (`[H, W, channels]`
    uint8), 'label' (int64 scalar) and, with `object_boxes`, 'object/bbox'
    (`[num_boxes, 4]` float32, ymin/xmin/ymax/xmax in [0, 1]),
    'object/label' (`[num_boxes]` int64) and 'label_text' (string).

  Raises:
    ValueError: for an `image_shape` that is not `(H, W, C)` with C 1 or
      `channels`.
  """
  keys_to_features = {
      'image/encoded': tf.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.FixedLenFeature((), tf.string, default_value='png'),
      'image/height': tf.FixedLenFeature((), tf.int64, default_value=0),
      'image/width': tf.FixedLenFeature((), tf.int64, default_value=0),
      # A Python default, not a tensor: the decoder must not tie the
      # dataset to the graph that was current when it was made.
      'image/class/label': tf.FixedLenFeature([], tf.int64, default_value=0),
  }
  items_to_handlers = {
      'image': _ImageHandler(channels, image_shape),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
  }
  descriptions = {
      'image': 'A %d-channel image of varying size.' % channels,
      'label': 'The integer class label.',
  }
  if object_boxes:
    for key in _BOX_KEYS:
      keys_to_features['image/object/bbox/' + key] = tf.VarLenFeature(
          tf.float32)
    keys_to_features['image/object/class/label'] = tf.VarLenFeature(tf.int64)
    items_to_handlers['object/bbox'] = slim.tfexample_decoder.BoundingBox(
        list(_BOX_KEYS), 'image/object/bbox/')
    items_to_handlers['object/label'] = slim.tfexample_decoder.Tensor(
        'image/object/class/label')
    keys_to_features['image/class/text'] = tf.FixedLenFeature(
        [], tf.string, default_value='')
    items_to_handlers['label_text'] = slim.tfexample_decoder.Tensor(
        'image/class/text')
    descriptions['object/bbox'] = 'Boxes [ymin, xmin, ymax, xmax] in [0, 1].'
    descriptions['object/label'] = 'The class label of each box.'
    descriptions['label_text'] = 'The text of the label.'
  return (slim.tfexample_decoder.TFExampleDecoder(keys_to_features,
                                                  items_to_handlers),
          descriptions)


class DatasetSplit(slim.dataset.Dataset):
  """One split of a dataset on disk; also a tf_slim `Dataset`.

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
    image_shape: `(H, W, C)` of every image (cifar10, mnist), the shape of
      raw-pixel records; None for datasets of varying sizes.
    data_sources: Slim's name for `files`.
    reader: the record reader class for Slim's data providers
      (`tf.TFRecordReader`).
    decoder: Slim's `TFExampleDecoder` (see `slim_decoder`).
    items_to_descriptions: dict item -> description.
  """

  def __init__(self, name, split_name, dataset_dir, file_pattern, files,
               num_samples, num_classes, labels_to_names, channels,
               reader=None, object_boxes=False, image_shape=None):
    decoder, descriptions = slim_decoder(channels, object_boxes, image_shape)
    super(DatasetSplit, self).__init__(
        data_sources=files, reader=reader or tf.TFRecordReader,
        decoder=decoder, num_samples=num_samples,
        items_to_descriptions=descriptions)
    self.name = name
    self.split_name = split_name
    self.dataset_dir = dataset_dir
    self.file_pattern = file_pattern
    self.files = files
    self.num_classes = num_classes
    self.labels_to_names = labels_to_names
    self.channels = channels
    self.image_shape = None if image_shape is None else tuple(image_shape)

  def __repr__(self):
    return ('DatasetSplit(name=%r, split_name=%r, num_samples=%d, '
            'num_classes=%d, files=%d, channels=%d)' %
            (self.name, self.split_name, self.num_samples, self.num_classes,
             len(self.files), self.channels))


def get_dataset(name, split_name, dataset_dir, file_pattern=None, reader=None):
  """Returns the `DatasetSplit` for `split_name` of dataset `name`.

  The signature is TF-Slim's, and so is the result's `Dataset` part.

  Args:
    name: a name from `names()`.
    split_name: a split of that dataset, e.g. 'train', 'validation', 'test'.
    dataset_dir: directory of the converted records.
    file_pattern: optional glob (relative to `dataset_dir` unless absolute);
      a `%s` in it is replaced by `split_name`. Default: the dataset's own.
    reader: the reader class Slim's data providers use; default
      `tf.TFRecordReader`. Our tf.data pipeline reads `files` itself.

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
                      channels=module.CHANNELS, reader=reader,
                      object_boxes=getattr(module, 'OBJECT_BOXES', False),
                      image_shape=getattr(module, 'IMAGE_SHAPE', None))
