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

import threading

import numpy as np
import tensorflow.compat.v1 as tf
from absl import logging

_READ_BUFFER_BYTES = 8 << 20
_MIN_SHUFFLE_BUFFER = 1024
# File name of the end-of-stream sentinel record (no real file has it).
_SENTINEL = '<end of records>'


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


def decode_example(serialized, channels=3):
  """Parses and decodes one record.

  The encoding (PNG, JPEG, GIF, BMP) is detected from the bytes, so Slim's
  'jpg', 'JPEG' and 'png' format strings all work. Grayscale images decoded
  with `channels=3` are replicated to RGB.

  Args:
    serialized: scalar string tensor, a serialized `tf.train.Example`.
    channels: channels of the decoded image (3, or 1 for mnist).

  Returns:
    (image uint8 [H, W, channels], label int64 []).
  """
  features = parse_example(serialized)
  image = tf.io.decode_image(features['encoded'], channels=channels,
                             expand_animations=False)
  image.set_shape([None, None, channels])
  return image, features['label']


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

  def skip(self, filename, index, undecodable, unreadable):
    """Counts skipped records and logs where they were.

    Called through tf.py_function with tensors: `undecodable` records ending
    with record `index` of `filename`, or `unreadable` corrupt data after it.
    Returns True.
    """
    undecodable = int(undecodable.numpy())
    unreadable = int(unreadable.numpy())
    with self._lock:
      self.count += undecodable
      self.read_errors += unreadable
      count = self.count
    name = filename.numpy().decode('utf-8', 'replace')
    if undecodable:
      logging.warning('Skipped %d undecodable record(s), the last being '
                      'record %d of %s (%d skipped so far)', undecodable,
                      int(index.numpy()), name, count)
    if unreadable:
      logging.warning('Skipped corrupt TFRecord data after record %d of %s; '
                      'the rest of that file is lost', int(index.numpy()),
                      name)
    return np.bool_(True)


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
  channels = split.channels

  def read_file(filename):
    records = tf.data.TFRecordDataset(filename, buffer_size=_READ_BUFFER_BYTES)
    return records.enumerate().map(
        lambda index, record: (record, filename, index))

  ds = tf.data.Dataset.from_tensor_slices(files)
  if is_training:
    ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.repeat(num_epochs)
    # The experimental op, not interleave(num_parallel_calls=...): with TF
    # 1.15 the latter over these per-file datasets can crash (SIGSEGV) when
    # the session closes while an endless pipeline is still reading.
    ds = ds.apply(tf.data.experimental.parallel_interleave(
        read_file, cycle_length=num_readers, block_length=1, sloppy=False))
    ds = ds.shuffle(max(20 * batch_size, _MIN_SHUFFLE_BUFFER), seed=seed)
  else:
    if num_epochs:
      ds = ds.repeat(num_epochs)
    ds = ds.flat_map(read_file)  # Sorted files, each in order.

  # Bad records are found without stopping the pipeline: every record gets a
  # stream position `seq` and the (file, index) of the record before it;
  # decoding runs in a parallel, order-keeping map followed by ignore_errors;
  # a gap in `seq` then means the records just before were dropped, and the
  # element after the gap names the last of them. A sentinel record that
  # always decodes closes the stream so a bad last record is seen too.
  # A corrupt file (TFRecord CRC error) also leaves a gap, but its record
  # never reaches the first scan; `seen` tells the two cases apart.
  ds = ds.concatenate(tf.data.Dataset.from_tensors(
      (tf.constant(_sentinel_record()), tf.constant(_SENTINEL),
       tf.constant(-1, tf.int64))))
  ds = ds.enumerate()

  def remember_previous(state, element):
    seen, prev_filename, prev_index = state
    seq, (record, filename, index) = element
    # seq - seen: records lost to read errors before this one.
    return ((seen + 1, filename, index),
            (record, filename, seq, seq - seen, prev_filename, prev_index))

  ds = ds.apply(tf.data.experimental.scan(
      (tf.constant(0, tf.int64), tf.constant(''), tf.constant(-1, tf.int64)),
      remember_previous))

  def decode(record, filename, seq, read_lost, prev_filename, prev_index):
    image, label = decode_example(record, channels)
    return image, label, filename, seq, read_lost, prev_filename, prev_index

  ds = ds.map(decode, num_parallel_calls=num_preprocessing_threads)
  ds = ds.apply(tf.data.experimental.ignore_errors())

  counter = BadRecordCounter() if skip_bad_records else None

  def count_missing(state, element):
    # Also checks (or counts) right here: one sequential step, not three.
    expected, read_lost_before = state
    image, label, filename, seq, read_lost, prev_filename, prev_index = element
    unreadable = read_lost - read_lost_before
    undecodable = seq - expected - unreadable
    if skip_bad_records:
      checks = [tf.cond(
          undecodable + unreadable > 0,
          lambda: tf.py_function(
              counter.skip,
              [prev_filename, prev_index, undecodable, unreadable], tf.bool),
          lambda: tf.constant(True))]
    else:
      checks = [
          tf.debugging.Assert(tf.equal(undecodable, 0), [
              'Undecodable record', prev_index, 'in file', prev_filename,
              '- pass --skip_bad_records to skip such records']),
          tf.debugging.Assert(tf.equal(unreadable, 0), [
              'Corrupt record data (TFRecord read error) after record',
              prev_index, 'of file', prev_filename,
              '- pass --skip_bad_records to skip the rest of such a file'])]
    with tf.control_dependencies(checks):
      return (seq + 1, read_lost), (tf.identity(image), label, filename)

  ds = ds.apply(tf.data.experimental.scan(
      (tf.constant(0, tf.int64), tf.constant(0, tf.int64)), count_missing))
  ds = ds.filter(lambda image, label, filename: tf.not_equal(filename,
                                                            _SENTINEL))

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
