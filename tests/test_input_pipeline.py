"""The tf.data input pipeline: order, batching, labels_offset, bad records."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import io
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from PIL import Image

from datasets import dataset_factory
from datasets import input_pipeline
from tests import dataset_testutil as dtu

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_input_pipeline')

FILES = 3
PER_FILE = 5


def _identity(image, height, width):
  return tf.image.resize_with_crop_or_pad(tf.cast(image, tf.float32), height,
                                          width)


def _split(files, channels=3):
  return dataset_factory.DatasetSplit(
      name='toy', split_name='train', dataset_dir=os.path.dirname(files[0]),
      file_pattern='*', files=sorted(files), num_samples=0, num_classes=11,
      labels_to_names=None, channels=channels)


@pytest.fixture(scope='module')
def toy_files(tmp_path_factory):
  """3 files x 5 records; record k is a 6x6 image of constant value k with
  label k % 10 + 1 (so labels_offset=1 stays >= 0)."""
  root = tmp_path_factory.mktemp('toy')
  files = []
  for f in range(FILES):
    ks = range(f * PER_FILE, (f + 1) * PER_FILE)
    images = np.stack([np.full((6, 6, 3), k, np.uint8) for k in ks])
    path = str(root / ('toy-%d.tfrecord' % f))
    dtu.write_image_records(path, images, [k % 10 + 1 for k in ks])
    files.append(path)
  return files


def _run(ds, max_batches=100):
  return dtu.all_batches(ds, max_batches)


def _build(split, max_batches=100, **kwargs):
  args = dict(preprocess_fn=_identity, batch_size=4, image_size=6,
              is_training=False, num_readers=2, num_preprocessing_threads=2)
  args.update(kwargs)
  with tf.Graph().as_default():
    return _run(input_pipeline.build_dataset(split, **args), max_batches)


def test_eval_reads_files_in_order_once_and_keeps_last_batch(toy_files):
  batches = _build(_split(toy_files))
  assert [len(b[1]) for b in batches] == [4, 4, 4, 3]
  images = np.concatenate([b[0] for b in batches])
  labels = np.concatenate([b[1] for b in batches])
  assert images.dtype == np.float32 and images.shape == (15, 6, 6, 3)
  assert labels.dtype == np.int64
  np.testing.assert_array_equal(images[:, 0, 0, 0], np.arange(15))
  np.testing.assert_array_equal(labels, np.arange(15) % 10 + 1)
  # Same order again, and with other thread counts.
  again = _build(_split(toy_files), num_readers=1, num_preprocessing_threads=3)
  np.testing.assert_array_equal(np.concatenate([b[1] for b in again]), labels)


def test_eval_num_epochs_and_labels_offset(toy_files):
  batches = _build(_split(toy_files), num_epochs=2, labels_offset=1,
                   batch_size=7)
  labels = np.concatenate([b[1] for b in batches])
  np.testing.assert_array_equal(labels, np.tile(np.arange(15) % 10, 2))
  assert [len(b[1]) for b in batches] == [7, 7, 7, 7, 2]


def test_training_shuffles_drops_partial_batch_and_is_seeded(toy_files):
  kwargs = dict(is_training=True, num_epochs=2, labels_offset=1, seed=7,
                image_size=(4, 5))
  batches = _build(_split(toy_files), **kwargs)
  assert [b[0].shape for b in batches] == [(4, 4, 5, 3)] * 7  # 30 // 4
  values = np.concatenate([b[0][:, 0, 0, 0] for b in batches]).astype(int)
  labels = np.concatenate([b[1] for b in batches])
  np.testing.assert_array_equal(labels, values % 10)  # offset applied
  assert np.bincount(values, minlength=15).max() <= 2  # 2 epochs, no dupes
  assert len(set(values)) >= 13  # 28 of 30 seen; at most 2 dropped
  assert list(values[:15]) != list(range(15))  # shuffled
  again = _build(_split(toy_files), **kwargs)
  np.testing.assert_array_equal(
      np.concatenate([b[0][:, 0, 0, 0] for b in again]).astype(int), values)


def test_training_repeats_forever_by_default(toy_files):
  batches = _build(_split(toy_files), is_training=True, max_batches=10)
  assert len(batches) == 10  # 40 images from 15 records


@pytest.fixture
def bad_file(tmp_path):
  """Record 0 good, 1 garbage image bytes, 2 not an Example, 3 good."""
  path = str(tmp_path / 'broken-00000.tfrecord')
  good = dtu.image_example(dtu.encode_png(np.full((6, 6, 3), 9, np.uint8)), 3)
  dtu.write_records(path, [
      good, dtu.image_example(b'\x89PNG garbage', 4), b'\x01not a proto', good])
  return path


def test_bad_record_stops_the_run_naming_the_file(toy_files, bad_file):
  with pytest.raises(tf.errors.InvalidArgumentError) as info:
    _build(_split([bad_file] + toy_files))
  assert bad_file in str(info.value)
  assert 'Undecodable record' in str(info.value)
  assert '[2] [in file] [%s]' % bad_file in str(info.value)  # Last of the 2.
  assert 'skip_bad_records' in str(info.value)


def test_skip_bad_records_skips_and_counts(toy_files, bad_file):
  with tf.Graph().as_default():
    ds = input_pipeline.build_dataset(
        _split([bad_file] + toy_files), _identity, batch_size=4, image_size=6,
        is_training=False, skip_bad_records=True)
    batches = _run(ds)
  labels = np.concatenate([b[1] for b in batches])
  # Sorted files: 'broken-...' first, its 2 good records, then the 15.
  np.testing.assert_array_equal(labels, [3, 3] + list(np.arange(15) % 10 + 1))
  assert ds.bad_record_counter.count == 2


def test_channels_one_and_slim_written_formats(tmp_path):
  gray = dtu.random_images(1, 5, 7, channels=None, seed=3)[0]
  rgb = dtu.random_images(1, 5, 7, seed=4)[0]
  # Smooth, so JPEG decoders (TF's fast integer IDCT, PIL's) agree closely.
  smooth = np.stack(list(np.meshgrid(np.arange(7) * 20, np.arange(5) * 30)) +
                    [np.full((5, 7), 90)], axis=-1).astype(np.uint8)
  path = str(tmp_path / 'slim.tfrecord')
  jpeg = dtu.encode_jpeg(smooth, quality=100, subsampling=0)
  dtu.write_records(path, [
      dtu.image_example(dtu.encode_png(gray), 1, b'png', 5, 7),
      # Slim's flowers say 'jpg', its ImageNet 'JPEG'; detection is by bytes.
      dtu.image_example(jpeg, 2, b'jpg', 5, 7),
      dtu.image_example(dtu.encode_png(rgb), 3, b'JPEG', 5, 7),
  ])
  gray_batches = _build(_split([path], channels=1), image_size=(5, 7))
  assert gray_batches[0][0].shape == (3, 5, 7, 1)
  np.testing.assert_array_equal(gray_batches[0][0][0, :, :, 0], gray)
  rgb_batches = _build(_split([path], channels=3), image_size=(5, 7))
  images, labels = rgb_batches[0]
  np.testing.assert_array_equal(labels, [1, 2, 3])
  for c in range(3):  # Grayscale replicated into 3 channels.
    np.testing.assert_array_equal(images[0, :, :, c], gray)
  # Same pixels as PIL decodes (libjpeg versions may differ by a level).
  pil = np.asarray(Image.open(io.BytesIO(jpeg)).convert('RGB'), np.float32)
  assert np.abs(images[1] - pil).max() <= 8  # fast IDCT, as Slim decodes
  np.testing.assert_array_equal(images[2], rgb)


def test_decode_example_returns_uint8_and_label():
  image = dtu.random_images(1, 3, 4, seed=5)[0]
  with tf.Graph().as_default():
    decoded, label = input_pipeline.decode_example(
        tf.constant(dtu.image_example(dtu.encode_png(image), 6)), channels=3)
    assert decoded.dtype == tf.uint8 and decoded.shape.as_list() == [None,
                                                                     None, 3]
    with tf.Session() as sess:
      got, got_label = sess.run([decoded, label])
  np.testing.assert_array_equal(got, image)
  assert got_label == 6


def test_bad_arguments(toy_files):
  with pytest.raises(ValueError, match='batch_size must be >= 1, got 0'):
    input_pipeline.build_dataset(_split(toy_files), _identity, 0, 6, False)
  with pytest.raises(ValueError, match=r'image_size must be an int or '
                     r'\(height, width\)'):
    input_pipeline.build_dataset(_split(toy_files), _identity, 2, (1, 2, 3),
                                 False)


def test_corrupt_record_file_is_reported_not_silently_truncated(tmp_path):
  path = str(tmp_path / 'crc.tfrecord')
  dtu.write_image_records(path, np.zeros((6, 4, 4, 3), np.uint8),
                          [1, 2, 3, 4, 5, 6])
  data = bytearray(open(path, 'rb').read())
  data[len(data) // 2] ^= 0xFF  # Inside record 3: its CRC no longer matches.
  open(path, 'wb').write(bytes(data))
  with pytest.raises(tf.errors.InvalidArgumentError) as info:
    _build(_split([path]), image_size=4, batch_size=2)
  assert ('[Corrupt record data (TFRecord read error) after record] [2] '
          '[of file] [%s]' % path) in str(info.value)
  with tf.Graph().as_default():
    ds = input_pipeline.build_dataset(
        _split([path]), _identity, batch_size=2, image_size=4,
        is_training=False, skip_bad_records=True)
    batches = _run(ds)
  np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]),
                                [1, 2, 3])  # The rest of the file is lost.
  assert (ds.bad_record_counter.count, ds.bad_record_counter.read_errors) == (
      0, 1)
