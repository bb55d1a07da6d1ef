"""The dataset factory, and records round-tripping through it."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from datasets import dataset_factory
from datasets import dataset_utils
from datasets import digits
from datasets import input_pipeline
from preprocessing import preprocessing_factory
from tests import dataset_testutil as dtu

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_datasets')

NAMES = ['cifar10', 'digits', 'flowers', 'image_folder', 'imagenet', 'mnist']


def test_names_sorted():
  assert dataset_factory.names() == NAMES


def test_unknown_dataset_lists_valid_names(tmp_path):
  with pytest.raises(ValueError) as info:
    dataset_factory.get_dataset('cifar100', 'train', str(tmp_path))
  assert str(info.value) == ("Unknown dataset_name 'cifar100'; expected one "
                             'of: ' + ', '.join(NAMES))


def test_unknown_split_lists_valid_splits(tmp_path):
  with pytest.raises(ValueError, match="Unknown split_name 'test' for dataset "
                     "'flowers'; expected one of: train, validation"):
    dataset_factory.get_dataset('flowers', 'test', str(tmp_path))
  with pytest.raises(ValueError, match="expected one of: test, train$"):
    dataset_factory.get_dataset('mnist', 'validation', str(tmp_path))


def test_no_files_names_the_pattern(tmp_path):
  with pytest.raises(ValueError) as info:
    dataset_factory.get_dataset('imagenet', 'validation', str(tmp_path))
  assert repr(os.path.join(str(tmp_path), 'validation-*')) in str(info.value)
  assert 'download_and_convert_data.py --dataset_name=imagenet' in str(
      info.value)


def test_image_folder_needs_its_metadata(tmp_path):
  with pytest.raises(ValueError, match='No metadata.json in .*--source_dir'):
    dataset_factory.get_dataset('image_folder', 'train', str(tmp_path))


def test_slim_made_directory_uses_slim_sizes_and_labels(tmp_path):
  """A directory as Slim's converters leave it: no metadata.json."""
  d = str(tmp_path)
  dtu.write_image_records(os.path.join(d, 'mnist_train.tfrecord'),
                          dtu.random_images(2, 28, 28, 1), [0, 6])
  with open(os.path.join(d, 'labels.txt'), 'w') as f:
    f.write('0:zero\n6:size\n')  # Slim's typo, read as written.
  split = dataset_factory.get_dataset('mnist', 'train', d)
  assert split.name == 'mnist' and split.split_name == 'train'
  assert split.dataset_dir == d
  assert split.files == [os.path.join(d, 'mnist_train.tfrecord')]
  assert split.file_pattern == os.path.join(d, 'mnist_train.tfrecord')
  assert (split.num_samples, split.num_classes, split.channels) == (60000, 10,
                                                                     1)
  assert split.labels_to_names == {0: 'zero', 6: 'size'}
  for shard in range(3):
    dtu.write_records(os.path.join(d, 'train-%05d-of-00003' % shard), [])
  imagenet_split = dataset_factory.get_dataset('imagenet', 'train', d)
  assert imagenet_split.num_classes == 1001
  assert imagenet_split.num_samples == 1281167
  assert [os.path.basename(f) for f in imagenet_split.files] == [
      'train-00000-of-00003', 'train-00001-of-00003', 'train-00002-of-00003']


def test_file_pattern_override(tmp_path):
  d = str(tmp_path)
  dtu.write_image_records(os.path.join(d, 'mine-train.rec'),
                          dtu.random_images(1, 32, 32), [3])
  split = dataset_factory.get_dataset('cifar10', 'train', d,
                                      file_pattern='mine-%s.rec')
  assert split.files == [os.path.join(d, 'mine-train.rec')]
  assert split.labels_to_names is None


@pytest.fixture(scope='module')
def digits_dir(tmp_path_factory):
  d = str(tmp_path_factory.mktemp('digits'))
  digits.run(d)
  return d


def test_digits_roundtrip_through_factory_and_pipeline(digits_dir):
  """Records -> factory -> build_dataset (eval order) == the source pixels."""
  images, labels = digits.load_source()
  indices = digits.split_indices(labels)['validation']
  split = dataset_factory.get_dataset('digits', 'validation', digits_dir)
  assert split.num_samples == len(indices) == 359
  assert split.labels_to_names == dict(enumerate(digits.CLASS_NAMES))
  identity = lambda image, h, w: tf.cast(image, tf.float32)
  with tf.Graph().as_default():
    ds = input_pipeline.build_dataset(split, identity, batch_size=100,
                                      image_size=32, is_training=False)
    batches = dtu.all_batches(ds)
  got_images = [x for x, _ in batches]
  got_labels = [y for _, y in batches]
  got_images = np.concatenate(got_images)
  np.testing.assert_array_equal(np.concatenate(got_labels), labels[indices])
  assert got_images.shape == (359, 32, 32, 3)
  for c in range(3):  # Gray PNG decoded to 3 equal channels.
    np.testing.assert_array_equal(got_images[..., c], images[indices])


def test_digits_train_batches_with_model_preprocessing(digits_dir):
  split = dataset_factory.get_dataset('digits', 'train', digits_dir)
  fn = preprocessing_factory.get_preprocessing('cifarnet', is_training=True)
  with tf.Graph().as_default():
    ds = input_pipeline.build_dataset(split, fn, batch_size=16, image_size=32,
                                      is_training=True, seed=1)
    images, labels = tf.data.make_one_shot_iterator(ds).get_next()
    assert images.shape.as_list() == [16, 32, 32, 3]
    with tf.Session() as sess:
      x, y = sess.run([images, labels])
  assert set(y) <= set(range(10)) and len(set(y)) > 3
  np.testing.assert_allclose(x.reshape(16, -1).mean(axis=1), 0, atol=1e-4)


def test_metadata_of_another_dataset_is_ignored(tmp_path):
  d = str(tmp_path)
  dataset_utils.write_metadata(d, 'flowers', {'train': 3}, ['a'],
                               'flowers_%s_*.tfrecord')
  dtu.write_image_records(os.path.join(d, 'cifar10_test.tfrecord'),
                          dtu.random_images(1, 32, 32), [1])
  assert dataset_factory.get_dataset('cifar10', 'test', d).num_samples == 10000
