"""Raw-pixel records (`image/format` 'raw'), as TF-Slim's decoders read them.

tf_slim's `tfexample_decoder.Image` decodes a record whose format is 'raw' (or
'RAW') with `decode_raw` and reshapes it to the dataset's image shape
(Slim's cifar10 and mnist declare 32x32x3 and 28x28x1). Both our decoding
paths, the Slim `Dataset`'s decoder and the tf.data pipeline, must give the
stored pixels back, and a record of the wrong byte count must fail with one
line that says so. The records are written here, from known pixels.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from datasets import cifar10
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import input_pipeline
from datasets import mnist
from tests import dataset_testutil as dtu

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_slim_api_raw')

CIFAR_BYTES = 32 * 32 * 3


def _raw_example(pixels, label, fmt=b'raw'):
  pixels = np.asarray(pixels, np.uint8)
  return dtu.image_example(pixels.tobytes(), label, fmt, pixels.shape[0],
                           pixels.shape[1])


def _dataset_dir(root, module, split, serialized):
  """A Slim-style single-file split of `module` (with labels.txt)."""
  os.makedirs(root)
  dtu.write_records(os.path.join(root, module.FILE_PATTERN % split),
                    serialized)
  dataset_utils.write_label_file(dict(enumerate(module.CLASS_NAMES)), root)
  return root


def _identity(image, height, width):
  return tf.image.resize_with_crop_or_pad(tf.cast(image, tf.float32), height,
                                          width)


def _pipeline(split, image_size, **kwargs):
  """All (images, labels) of one evaluation pass, in record order."""
  with tf.Graph().as_default():
    ds = input_pipeline.build_dataset(split, _identity, batch_size=2,
                                      image_size=image_size, is_training=False,
                                      num_readers=1,
                                      num_preprocessing_threads=2, **kwargs)
    images, labels = [], []
    for batch_images, batch_labels in dtu.all_batches(ds):
      images.extend(batch_images)
      labels.extend(batch_labels)
  return np.array(images), np.array(labels), ds.bad_record_counter


def _slim_decode(split, serialized):
  """The Slim Dataset's decoder on one record: (image, label)."""
  with tf.Graph().as_default():
    image, label = split.decoder.decode(tf.constant(serialized),
                                        ['image', 'label'])
    with tf.Session() as sess:
      return sess.run([image, label])


@pytest.fixture(scope='module')
def cifar_pixels():
  return dtu.random_images(4, 32, 32, 3, seed=3)


@pytest.fixture(scope='module')
def cifar_dir(tmp_path_factory, cifar_pixels):
  """cifar10 'train': raw, RAW, PNG and raw records (Slim's spellings)."""
  serialized = [_raw_example(cifar_pixels[0], 4),
                _raw_example(cifar_pixels[1], 7, fmt=b'RAW'),
                dtu.image_example(dtu.encode_png(cifar_pixels[2]), 1, b'png',
                                  32, 32),
                _raw_example(cifar_pixels[3], 9)]
  return _dataset_dir(str(tmp_path_factory.mktemp('raw') / 'cifar10'),
                      cifar10, 'train', serialized)


def test_datasets_declare_slims_image_shapes():
  assert cifar10.IMAGE_SHAPE == (32, 32, 3)
  assert mnist.IMAGE_SHAPE == (28, 28, 1)


def test_pipeline_decodes_raw_cifar10_records(cifar_dir, cifar_pixels):
  split = dataset_factory.get_dataset('cifar10', 'train', cifar_dir)
  assert split.image_shape == (32, 32, 3)
  images, labels, _ = _pipeline(split, 32)
  assert images.shape == (4, 32, 32, 3)
  np.testing.assert_array_equal(images, cifar_pixels.astype(np.float32))
  np.testing.assert_array_equal(labels, [4, 7, 1, 9])


def test_slim_decoder_decodes_raw_cifar10_records(cifar_dir, cifar_pixels):
  split = dataset_factory.get_dataset('cifar10', 'train', cifar_dir)
  for k, fmt in enumerate([b'raw', b'RAW']):
    image, label = _slim_decode(split, _raw_example(cifar_pixels[k], 5 + k,
                                                    fmt))
    assert image.dtype == np.uint8 and label == 5 + k
    np.testing.assert_array_equal(image, cifar_pixels[k])


def test_raw_mnist_records_in_both_paths(tmp_path):
  pixels = dtu.random_images(3, 28, 28, 1, seed=4)
  root = _dataset_dir(str(tmp_path / 'mnist'), mnist, 'test',
                      [_raw_example(p, i + 2) for i, p in enumerate(pixels)])
  split = dataset_factory.get_dataset('mnist', 'test', root)
  images, labels, _ = _pipeline(split, 28)
  assert images.shape == (3, 28, 28, 1)
  np.testing.assert_array_equal(images, pixels.astype(np.float32))
  np.testing.assert_array_equal(labels, [2, 3, 4])
  image, label = _slim_decode(split, _raw_example(pixels[1], 3))
  assert image.shape == (28, 28, 1) and label == 3
  np.testing.assert_array_equal(image, pixels[1])


def _toy_split(files, channels=3, image_shape=None):
  return dataset_factory.DatasetSplit(
      name='toy', split_name='train', dataset_dir=os.path.dirname(files[0]),
      file_pattern='*', files=files, num_samples=0, num_classes=10,
      labels_to_names=None, channels=channels, image_shape=image_shape)


def test_raw_records_of_varying_size_use_their_height_and_width(tmp_path):
  # Datasets without one image shape (flowers, imagenet, image_folder): a
  # raw record is [image/height, image/width, channels].
  pixels = dtu.random_images(1, 5, 7, 3, seed=5)[0]
  path = str(tmp_path / 'toy.tfrecord')
  dtu.write_records(path, [_raw_example(pixels, 2)] * 2)
  split = _toy_split([path])
  assert split.image_shape is None
  images, labels, _ = _pipeline(split, (5, 7))
  np.testing.assert_array_equal(images, [pixels, pixels])
  np.testing.assert_array_equal(labels, [2, 2])
  image, _ = _slim_decode(split, _raw_example(pixels, 2))
  np.testing.assert_array_equal(image, pixels)


def test_grayscale_raw_pixels_are_replicated_to_rgb(tmp_path):
  pixels = dtu.random_images(1, 4, 6, 1, seed=6)[0]
  path = str(tmp_path / 'gray.tfrecord')
  dtu.write_records(path, [_raw_example(pixels, 1)])
  split = _toy_split([path], channels=3, image_shape=(4, 6, 1))
  images, _, _ = _pipeline(split, (4, 6))
  np.testing.assert_array_equal(images[0], np.repeat(pixels, 3, axis=2))
  image, _ = _slim_decode(split, _raw_example(pixels, 1))
  np.testing.assert_array_equal(image, np.repeat(pixels, 3, axis=2))


def test_decode_example_reads_raw_pixels():
  pixels = dtu.random_images(1, 32, 32, 3, seed=7)[0]
  with tf.Graph().as_default():
    image, label = input_pipeline.decode_example(
        tf.constant(_raw_example(pixels, 6)), channels=3,
        image_shape=cifar10.IMAGE_SHAPE)
    assert image.shape.as_list() == [None, None, 3]
    with tf.Session() as sess:
      got, got_label = sess.run([image, label])
  np.testing.assert_array_equal(got, pixels)
  assert got_label == 6


# ---------------------------------------------------------------------------
# A raw record of the wrong byte count.
# ---------------------------------------------------------------------------


@pytest.fixture(scope='module')
def bad_cifar_dir(tmp_path_factory, cifar_pixels):
  """cifar10 'train' whose record 1 holds 100 bytes instead of 3072."""
  serialized = [_raw_example(cifar_pixels[0], 4),
                dtu.image_example(b'\x07' * 100, 7, b'raw', 32, 32),
                _raw_example(cifar_pixels[2], 1)]
  return _dataset_dir(str(tmp_path_factory.mktemp('bad_raw') / 'cifar10'),
                      cifar10, 'train', serialized)


def test_pipeline_names_the_raw_record_of_wrong_size(bad_cifar_dir):
  split = dataset_factory.get_dataset('cifar10', 'train', bad_cifar_dir)
  with pytest.raises(tf.errors.InvalidArgumentError) as info:
    _pipeline(split, 32)
  assert input_pipeline.data_error_message(info.value) == (
      'Raw image record 1 in file %s holds 100 bytes of raw pixels; its '
      'image shape (height width channels) 32 32 3 needs %d - pass '
      '--skip_bad_records to skip such records' % (split.files[0],
                                                   CIFAR_BYTES))


def test_pipeline_skips_and_counts_the_raw_record_of_wrong_size(
    bad_cifar_dir, cifar_pixels):
  split = dataset_factory.get_dataset('cifar10', 'train', bad_cifar_dir)
  images, labels, counter = _pipeline(split, 32, skip_bad_records=True)
  np.testing.assert_array_equal(labels, [4, 1])
  np.testing.assert_array_equal(images, cifar_pixels[[0, 2]].astype(
      np.float32))
  assert (counter.count, counter.read_errors) == (1, 0)


def test_slim_decoder_raw_record_of_wrong_size_is_one_line(bad_cifar_dir):
  split = dataset_factory.get_dataset('cifar10', 'train', bad_cifar_dir)
  with pytest.raises(tf.errors.InvalidArgumentError) as info:
    _slim_decode(split, dtu.image_example(b'\x07' * 3000, 7, b'raw', 32, 32))
  assert input_pipeline.data_error_message(info.value) == (
      'Raw image record holds 3000 bytes of raw pixels; its image shape '
      '(height width channels) 32 32 3 needs %d' % CIFAR_BYTES)


def test_raw_record_without_height_and_width_is_refused(tmp_path):
  # Varying-size dataset, record without image/height and image/width.
  path = str(tmp_path / 'toy.tfrecord')
  serialized = tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': dataset_utils.bytes_feature(b'\0' * 12),
      'image/format': dataset_utils.bytes_feature(b'raw'),
      'image/class/label': dataset_utils.int64_feature(0),
  })).SerializeToString()
  dtu.write_records(path, [serialized])
  with pytest.raises(tf.errors.InvalidArgumentError) as info:
    _pipeline(_toy_split([path]), 4)
  assert input_pipeline.data_error_message(info.value).startswith(
      'Raw image record 0 in file %s holds 12 bytes of raw pixels; its image '
      'shape (height width channels) 0 0 3 needs 0' % path)


def test_bad_image_shape_is_refused():
  with pytest.raises(ValueError, match=r'^image_shape must be None or '
                     r'\(height, width, channels\) with channels 1 or 3; got '
                     r'\(32, 32, 4\)$'):
    dataset_factory.slim_decoder(channels=3, image_shape=(32, 32, 4))


def test_training_script_reports_the_raw_record_in_one_line(bad_cifar_dir,
                                                            tmp_path):
  # What a user sees: train_image_classifier.py exits with one error line.
  from tests import test_bad_inputs  # pylint: disable=g-import-not-at-top
  line = test_bad_inputs.error_line(
      test_bad_inputs.TRAIN, test_bad_inputs.train_args(
          bad_cifar_dir, str(tmp_path / 'train'), dataset='cifar10'),
      'Raw image record 1 in file', 'cifar10_train.tfrecord',
      'holds 100 bytes of raw pixels', 'needs %d' % CIFAR_BYTES,
      '--skip_bad_records')
  assert '\n' not in line
