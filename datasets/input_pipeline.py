"""tf.data input pipeline over TF-Slim image records.

    files --(train: shuffle, repeat)--> interleaved TFRecord reads
      (num_readers files at once; eval: one file after another, in order)
    --(train: shuffle records)--> parallel parse + decode (checked per record)
    --> parallel preprocessing --> batch --> prefetch

`num_readers` and `num_preprocessing_threads` keep their Slim meaning: how
many record files are read at once, and how many images are decoded and
preprocessed at once.

Evaluation order is deterministic: files in sorted order, records in file
order, and the last partial batch is kept. Training drops it so every batch
has `batch_size` images.

A record that cannot be parsed or decoded stops the run with an error naming
its file and index; with `skip_bad_records=True` it is skipped, logged and
counted (`dataset.bad_record_counter.count`). A corrupt record file (TFRecord
CRC error) likewise stops the run, naming the last record read before it, or
with `skip_bad_records` loses the rest of that file (`read_errors`).
Decoding stays one parallel,
order-keeping map: failures are dropped by `ignore_errors` and found
afterwards as gaps in the records' stream positions (see `build_dataset`).

Records with `image/format` 'raw' hold uint8 pixels, as tf_slim's
`tfexample_decoder.Image` reads them; their shape is the dataset's fixed
image shape (cifar10 32x32x3, mnist 28x28x1) or else the record's
height, width and the split's channels (`decode_image`). A raw record of the
wrong byte count stops the run with one line naming it, its size and the
size its shape needs (or, with `skip_bad_records`, is skipped and counted).

Typical use:

    from datasets import dataset_factory, input_pipeline
    from preprocessing import preprocessing_factory

    split = dataset_factory.get_dataset('digits', 'train', '/tmp/digits')
    fn = preprocessing_factory.get_preprocessing('cifarnet', is_training=True)
    ds = input_pipeline.build_dataset(split, fn, batch_size=32, image_size=32,
                                      is_training=True)
    images, labels = tf.data.make_one_shot_iterator(ds).get_next()
    # images: float32 [32, 32, 32, 3], labels: int64 [32]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import re
import threading

import numpy as np
import tensorflow.compat.v1 as tf
from absl import logging

from datasets import dataset_utils

_READ_BUFFER_BYTES = 8 << 20
_MIN_SHUFFLE_BUFFER = 1024
# File name of the end-of-stream sentinel record (no real file has it).
_SENTINEL = '<end of records>'
_MAX_RECORDS = np.iinfo(np.int64).max
# First item of every data check's message: `data_error_message` finds it.
DATA_ERROR = 'Bad input data:'


def _sentinel_record():
  """A valid 1x1 PNG record, used to mark the end of the record stream."""
  png = (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00'
         b'\x01\x08\x00\x00\x00\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc`\x00\x00'
         b'\x00\x02\x00\x01H\xaf\xa4q\x00\x00\x00\x00IEND\xaeB`\x82')
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[png])),
      'image/class/label': tf.train.Feature(int64_list=tf.train.Int64List(
          value=[0])),
  })).SerializeToString()


def parse_example(serialized):
  """Parses Slim's image record keys from one serialized `tf.train.Example`.

  `image/encoded` and `image/class/label` are required (a record without them
  is bad); `image/format` defaults to 'png' as in Slim, and height/width to 0.

  Args:
    serialized: scalar string tensor.

  Returns:
    dict with 'encoded' (string), 'format' (string), 'label', 'height' and
    'width' (int64 scalars).
  """
  features = tf.io.parse_single_example(serialized, {
      'image/encoded': tf.io.FixedLenFeature([], tf.string),
      'image/format': tf.io.FixedLenFeature([], tf.string, default_value='png'),
      'image/class/label': tf.io.FixedLenFeature([], tf.int64),
      'image/height': tf.io.FixedLenFeature([], tf.int64, default_value=0),
      'image/width': tf.io.FixedLenFeature([], tf.int64, default_value=0),
  })
  return {'encoded': features['image/encoded'],
          'format': features['image/format'],
          'label': features['image/class/label'],
          'height': features['image/height'],
          'width': features['image/width']}


# The `image/format` values of raw-pixel records (those tf_slim's
# tfexample_decoder.Image decodes with decode_raw).
RAW_FORMATS = ('raw', 'RAW')


def check_image_shape(image_shape, channels):
  """Raises ValueError unless `image_shape` is None or (H, W, C >= 1) with C
  equal to `channels` or 1 (a grayscale dataset decoded to RGB)."""
  if image_shape is None:
    return
  if (len(image_shape) != 3 or any(int(d) < 1 for d in image_shape) or
      int(image_shape[2]) not in (1, channels)):
    raise ValueError('image_shape must be None or (height, width, channels) '
                     'with channels 1 or %d; got %r' % (channels, image_shape))


def decode_image(encoded, image_format, channels=3, image_shape=None,
                 height=None, width=None):
  """Decodes Slim's `image/encoded`: PNG, JPEG, GIF, BMP or raw pixels.

  An encoded image's kind is told by its bytes, so Slim's 'jpg', 'JPEG' and
  'png' format strings all work; grayscale decoded with `channels=3` is
  replicated to RGB. A record whose format is 'raw' (or 'RAW') holds
  `H * W * C` uint8 pixels in row-major `[H, W, C]` order, as tf_slim's
  `tfexample_decoder.Image` reads them. Their shape is the dataset's
  `image_shape` when it has one (its images all have that shape, as Slim's
  cifar10 and mnist decoders declare), else `[height, width, channels]`
  from the record.

  Args:
    encoded: scalar string tensor, `image/encoded`.
    image_format: scalar string tensor, `image/format`.
    channels: channels of the result.
    image_shape: `(H, W, C)` of the dataset's raw records, or None; C is
      `channels`, or 1 for grayscale pixels replicated to 3 channels.
    height: int64 scalar tensor, the record's `image/height` (raw records of
      datasets without `image_shape`).
    width: int64 scalar tensor, the record's `image/width` (likewise).

  Returns:
    `(image, raw_bytes, raw_shape)`: `image` is uint8 `[H, W, channels]`;
    `raw_bytes` (int64 scalar) is -1, or the byte count of a raw record that
    does not hold the `prod(raw_shape)` bytes its shape needs (its `image`
    is then empty, `[0, 0, channels]`); `raw_shape` is the int64 `[3]` shape
    raw pixels are read as.

  Raises:
    ValueError: for a bad `image_shape`, or neither `image_shape` nor
      `height` and `width`.
  """
  check_image_shape(image_shape, channels)
  if image_shape is not None:
    stored = int(image_shape[2])
    raw_shape = tf.constant([int(d) for d in image_shape], tf.int64)
  elif height is None or width is None:
    raise ValueError('decode_image needs image_shape, or height and width, '
                     'for raw records')
  else:
    stored = channels
    raw_shape = tf.stack([tf.cast(height, tf.int64),
                          tf.cast(width, tf.int64),
                          tf.constant(channels, tf.int64)])

  def from_raw():
    pixels = tf.io.decode_raw(encoded, tf.uint8)
    num_bytes = tf.size(pixels, out_type=tf.int64)
    fits = tf.equal(num_bytes, tf.reduce_prod(raw_shape))
    image = tf.cond(fits, lambda: tf.reshape(pixels, raw_shape),
                    lambda: tf.zeros([0, 0, stored], tf.uint8))
    image.set_shape([None, None, stored])
    if stored != channels:
      image = tf.image.grayscale_to_rgb(image)
    return image, tf.where(fits, tf.constant(-1, tf.int64), num_bytes)

  def from_encoded():
    image = tf.io.decode_image(encoded, channels=channels,
                               expand_animations=False)
    image.set_shape([None, None, channels])
    return image, tf.constant(-1, tf.int64)

  is_raw = tf.logical_or(tf.equal(image_format, RAW_FORMATS[0]),
                         tf.equal(image_format, RAW_FORMATS[1]))
  image, raw_bytes = tf.cond(is_raw, from_raw, from_encoded)
  image.set_shape([None, None, channels])
  return image, raw_bytes, raw_shape


def check_raw_size(raw_bytes, raw_shape, where=('Raw image record',),
                   advice=None):
  """An op that fails, with one line, when `decode_image` found a raw record
  of the wrong size.

  Args:
    raw_bytes: `decode_image`'s `raw_bytes`.
    raw_shape: its `raw_shape`.
    where: message items (strings or scalar tensors) naming the record.
    advice: optional last item of the message.

  Returns:
    A `tf.debugging.Assert` op; its message starts with `DATA_ERROR`, so
    `data_error_message` turns it into e.g. 'Raw image record 3 in file
    /d/x.tfrecord holds 100 bytes of raw pixels; its image shape (height
    width channels) 32 32 3 needs 3072'.
  """
  message = [DATA_ERROR] + list(where) + [
      'holds', raw_bytes, 'bytes of raw pixels; its image shape (height '
      'width channels)', raw_shape, 'needs', tf.reduce_prod(raw_shape)]
  return tf.debugging.Assert(tf.less(raw_bytes, 0),
                             message + ([advice] if advice else []))


def decode_example(serialized, channels=3, image_shape=None):
  """Parses and decodes one record (see `decode_image`).

  Args:
    serialized: scalar string tensor, a serialized `tf.train.Example`.
    channels: channels of the decoded image (3, or 1 for mnist).
    image_shape: the dataset's fixed `(H, W, C)` for raw records, or None
      (raw records are then read with their own height and width).

  Returns:
    (image uint8 [H, W, channels], label int64 []). Running the image of a
    raw record with the wrong byte count raises `InvalidArgumentError`
    saying so.
  """
  image, label, raw_bytes, raw_shape = _parse_and_decode(
      serialized, channels, image_shape)
  with tf.control_dependencies([check_raw_size(raw_bytes, raw_shape)]):
    image = tf.identity(image)
  return image, label


def _parse_and_decode(serialized, channels, image_shape):
  """`parse_example` then `decode_image`: (image, label, raw_bytes,
  raw_shape), with the raw-size check left to the caller."""
  features = parse_example(serialized)
  image, raw_bytes, raw_shape = decode_image(
      features['encoded'], features['format'], channels, image_shape,
      features['height'], features['width'])
  return image, features['label'], raw_bytes, raw_shape


class BadRecordCounter(object):
  """Counts (and logs) what skip_bad_records=True skipped.

  Attributes:
    count: undecodable records skipped.
    read_errors: TFRecord read errors (corrupt files) skipped past.
  """

  def __init__(self):
    self._lock = threading.Lock()
    self.count = 0
    self.read_errors = 0

  def skip(self, filename, index, undecodable, read_filename, read_index,
           unreadable):
    """Counts skipped records and logs where they were.

    Called through tf.py_function with tensors: `undecodable` records ending
    with record `index` of `filename`, and `unreadable` corrupt data after
    record `read_index` of `read_filename`. Returns True.
    """
    undecodable = int(undecodable.numpy())
    unreadable = int(unreadable.numpy())
    with self._lock:
      self.count += undecodable
      self.read_errors += unreadable
      count = self.count
    if undecodable:
      logging.warning('Skipped %d undecodable record(s), the last being '
                      'record %d of %s (%d skipped so far)', undecodable,
                      int(index.numpy()),
                      filename.numpy().decode('utf-8', 'replace'), count)
    if unreadable:
      logging.warning('Skipped corrupt TFRecord data after record %d of %s; '
                      'the rest of that file is lost', int(read_index.numpy()),
                      read_filename.numpy().decode('utf-8', 'replace'))
    return np.bool_(True)


def data_error_message(error):
  """The one-line message of a failed data check, or None for other errors.

  Args:
    error: a `tf.errors.OpError` raised while running the pipeline.

  Returns:
    e.g. 'Undecodable record 2 in file /data/x.tfrecord - pass
    --skip_bad_records to skip such records', or None if `error` is not
    one of this pipeline's checks (a real bug keeps its traceback).
  """
  message = getattr(error, 'message', None) or str(error)
  if DATA_ERROR not in message:
    return None
  # Assert prints its data as "[item] [item] ...", then node details.
  body = message[message.index(DATA_ERROR) + len(DATA_ERROR):]
  body = body.split('\n')[0]
  items = re.findall(r'\[(.*?)\](?= \[|$|\s)', body)
  return ' '.join(item.strip() for item in items if item.strip()) or body


class IncompleteSplitError(ValueError):
  """A split's record files are those of a conversion that did not finish."""


def check_split_is_complete(split):
  """Raises ValueError if `split`'s files look like an unfinished conversion.

  Checks that every shard of each `-NNNNN-of-NNNNN` set exists, that no
  converter temporary of the split is left over, and that the converter's
  completion marker (`metadata.json`, written last; `labels.txt` for Slim's
  own converters) is present.

  Args:
    split: a `dataset_factory.DatasetSplit` (uses `files`, `dataset_dir`,
      `file_pattern`, `name`).

  Raises:
    IncompleteSplitError: naming what is missing and how to redo the
      conversion.
  """
  # A Horovod rank reads a share of the split's files (train_lib/hvd.py);
  # the conversion is judged on the whole split it came from.
  split = getattr(split, 'whole_split', None) or split
  problem = dataset_utils.incomplete_conversion(
      list(split.files), getattr(split, 'dataset_dir', None),
      getattr(split, 'file_pattern', None))
  if problem:
    name = getattr(split, 'name', '?')
    raise IncompleteSplitError(
        'Split %r of dataset %r is incomplete: %s. The conversion did not '
        'finish: re-run download_and_convert_data.py --dataset_name=%s '
        '--dataset_dir=%s' % (split.split_name, name, problem, name,
                              getattr(split, 'dataset_dir', '?')))


def _image_size(image_size):
  if isinstance(image_size, (tuple, list)):
    if len(image_size) != 2:
      raise ValueError('image_size must be an int or (height, width), got %r'
                       % (image_size,))
    return int(image_size[0]), int(image_size[1])
  return int(image_size), int(image_size)


def build_dataset(split, preprocess_fn, batch_size, image_size, is_training,
                  num_readers=4, num_preprocessing_threads=4, labels_offset=0,
                  num_epochs=None, skip_bad_records=False, seed=None):
  """Builds the batched input pipeline of one dataset split.

  Args:
    split: a `dataset_factory.DatasetSplit` (uses `files` and `channels`).
    preprocess_fn: `fn(image uint8 [H, W, C], height, width) -> float32
      [height, width, C]`, from `preprocessing_factory.get_preprocessing`.
    batch_size: images per batch.
    image_size: int, or (height, width), of the preprocessed images.
    is_training: shuffle files and records, repeat `num_epochs` times (None:
      forever), drop the last partial batch. Otherwise: deterministic order,
      one pass (or `num_epochs`), last partial batch kept.
    num_readers: record files read in parallel (training).
    num_preprocessing_threads: images decoded/preprocessed in parallel.
    labels_offset: subtracted from every label (1 for 1000-class ImageNet
      checkpoints on Slim's 1001-class records).
    num_epochs: passes over the data; None = forever when training, once in
      evaluation.
    skip_bad_records: skip and count undecodable records instead of failing.
    seed: seed of the file and record shuffles (training).

  Returns:
    A `tf.data.Dataset` of (images float32 [B, height, width, C], labels int64
    [B]); with skip_bad_records, its `bad_record_counter.count` says how many
    records were skipped so far.

  Raises:
    ValueError: bad sizes or thread counts, or a split without files.
  """
  height, width = _image_size(image_size)
  for arg, value in (('batch_size', batch_size), ('image_size', height),
                     ('image_size', width), ('num_readers', num_readers),
                     ('num_preprocessing_threads', num_preprocessing_threads)):
    if value < 1:
      raise ValueError('%s must be >= 1, got %r' % (arg, value))
  if num_epochs is not None and num_epochs < 1:
    raise ValueError('num_epochs must be None or >= 1, got %r' % num_epochs)
  files = list(split.files)
  if not files:
    raise ValueError('Split %r of %r has no record files' %
                     (split.split_name, split.name))
  check_split_is_complete(split)
  channels = split.channels
  image_shape = getattr(split, 'image_shape', None)
  num_classes = getattr(split, 'num_classes', None)

  def read_file(filename):
    # Each record gets its position in the file from a zipped counter; a
    # TFRecord read error (truncated or corrupt data) also takes a position,
    # so after ignore_errors it shows as a gap, found within this file, so
    # the error names the file and the last good record even after the
    # training shuffle. (After a read error TFRecordDataset ends the file.)
    # A trailer that always decodes closes each file, so an error at its end
    # is seen too.
    records = tf.data.TFRecordDataset(filename, buffer_size=_READ_BUFFER_BYTES)
    records = records.map(lambda r: (r, False)).concatenate(
        tf.data.Dataset.from_tensors((tf.constant(_sentinel_record()),
                                      tf.constant(True))))
    numbered = tf.data.Dataset.zip((tf.data.Dataset.range(_MAX_RECORDS),
                                    records))
    numbered = numbered.apply(tf.data.experimental.ignore_errors())

    def mark_read_errors(prev_pos, element):
      pos, (record, is_trailer) = element
      return pos, (record, filename, pos, is_trailer, pos - prev_pos - 1,
                   prev_pos)

    return numbered.apply(tf.data.experimental.scan(
        tf.constant(-1, tf.int64), mark_read_errors))

  ds = tf.data.Dataset.from_tensor_slices(files)
  if is_training:
    ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    # The experimental op, not interleave(num_parallel_calls=...): with TF
    # 1.15 the latter over these per-file datasets can crash (SIGSEGV) when
    # the session closes while an endless pipeline is still reading.
    ds = ds.apply(tf.data.experimental.parallel_interleave(
        read_file, cycle_length=num_readers, block_length=1, sloppy=False))
    ds = ds.shuffle(max(20 * batch_size, _MIN_SHUFFLE_BUFFER), seed=seed)
  else:
    ds = ds.flat_map(read_file)  # Sorted files, each in order.

  # Undecodable records are found without stopping the pipeline: every
  # element gets a stream position `seq` and the (file, index) of the one
  # before it; decoding runs in a parallel, order-keeping map followed by
  # ignore_errors; a gap in `seq` then means the records just before were
  # dropped, and the element after the gap names the last of them. A
  # sentinel that always decodes closes the epoch so a bad last record is
  # seen too. The whole check runs once per epoch, and the epochs are
  # repeated after it: a split with no usable record then ends the stream
  # (tf.data's repeat stops on an empty epoch) instead of spinning forever.
  ds = ds.concatenate(tf.data.Dataset.from_tensors(
      (tf.constant(_sentinel_record()), tf.constant(_SENTINEL),
       tf.constant(-1, tf.int64), tf.constant(True), tf.constant(0, tf.int64),
       tf.constant(-1, tf.int64))))
  ds = ds.enumerate()

  def remember_previous(state, element):
    prev_filename, prev_index = state
    seq, (record, filename, index, is_trailer, read_lost,
          read_prev) = element
    return ((filename, index),
            (record, filename, index, is_trailer, read_lost, read_prev, seq,
             prev_filename, prev_index))

  ds = ds.apply(tf.data.experimental.scan(
      (tf.constant(''), tf.constant(-1, tf.int64)), remember_previous))

  def decode(record, filename, index, is_trailer, read_lost, read_prev, seq,
             prev_filename, prev_index):
    # A raw record of the wrong size decodes (to an empty image) and is
    # reported after the scan below, with its size: an error here would only
    # say "undecodable".
    image, label, raw_bytes, raw_shape = _parse_and_decode(
        record, channels, image_shape)
    return (image, label, filename, index, is_trailer, read_lost,
            read_prev, seq, prev_filename, prev_index, raw_bytes, raw_shape)

  ds = ds.map(decode, num_parallel_calls=num_preprocessing_threads)
  ds = ds.apply(tf.data.experimental.ignore_errors())

  counter = BadRecordCounter() if skip_bad_records else None

  def count_missing(expected, element):
    # Also checks (or counts) right here: one sequential step, not three.
    (image, label, filename, index, is_trailer, read_lost, read_prev, seq,
     prev_filename, prev_index, raw_bytes, raw_shape) = element
    undecodable = seq - expected
    bad_raw = tf.greater_equal(raw_bytes, 0)
    checks = []
    if num_classes is not None:
      checks.append(tf.debugging.Assert(
          tf.logical_or(tf.logical_or(is_trailer, bad_raw), tf.logical_and(
              label >= labels_offset, label < num_classes)), [
                  DATA_ERROR, 'Label', label, 'of record', index, 'in file',
                  filename, 'is outside %d..%d (the dataset has %d classes%s)'
                  % (labels_offset, num_classes - 1, num_classes,
                     ', --labels_offset=%d' % labels_offset
                     if labels_offset else '')]))
    if skip_bad_records:
      checks.append(tf.cond(
          undecodable + read_lost > 0,
          lambda: tf.py_function(
              counter.skip,
              [prev_filename, prev_index, undecodable, filename, read_prev,
               read_lost], tf.bool),
          lambda: tf.constant(True)))
      checks.append(tf.cond(
          bad_raw,
          lambda: tf.py_function(
              counter.skip,
              [filename, index, tf.constant(1, tf.int64), filename,
               read_prev, tf.constant(0, tf.int64)], tf.bool),
          lambda: tf.constant(True)))
    else:
      # (Checked after the training shuffle: an error upstream of the
      # decode's ignore_errors would be taken for an undecodable record.)
      checks.extend([
          tf.debugging.Assert(tf.equal(undecodable, 0), [
              DATA_ERROR, 'Undecodable record', prev_index, 'in file',
              prev_filename,
              '- pass --skip_bad_records to skip such records']),
          tf.debugging.Assert(tf.equal(read_lost, 0), [
              DATA_ERROR,
              'Corrupt record data (TFRecord read error) after '
              'record', read_prev, 'of file', filename,
              '- pass --skip_bad_records to skip the rest of such a file']),
          check_raw_size(
              raw_bytes, raw_shape,
              ['Raw image record', index, 'in file', filename],
              '- pass --skip_bad_records to skip such records')])
    with tf.control_dependencies(checks):
      # Dropped below: the trailers, and skipped raw records of bad size.
      return seq + 1, (tf.identity(image), label, filename,
                       tf.logical_or(is_trailer, bad_raw))

  ds = ds.apply(tf.data.experimental.scan(tf.constant(0, tf.int64),
                                          count_missing))
  ds = ds.filter(lambda image, label, filename, drop: tf.logical_not(drop))
  ds = ds.map(lambda image, label, filename, drop:
              (image, label, filename))
  if is_training or num_epochs:
    ds = ds.repeat(num_epochs)

  def preprocess(image, label, filename):
    del filename
    image = preprocess_fn(image, height, width)
    image = tf.cast(image, tf.float32)
    image.set_shape([height, width, None])
    return image, label - labels_offset

  ds = ds.map(preprocess, num_parallel_calls=num_preprocessing_threads)
  ds = ds.batch(batch_size, drop_remainder=is_training)
  ds = ds.prefetch(tf.data.experimental.AUTOTUNE)
  ds.bad_record_counter = counter
  return ds
