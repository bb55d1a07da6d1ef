"""TF-Slim's library API on the data side: datasets, preprocessing, deployment.

Code written against TF-Slim's research/slim reads a split with
`slim.dataset_data_provider.DatasetDataProvider(dataset_factory.get_dataset(
...))`, preprocesses with `preprocessing_factory.get_preprocessing(...)`,
builds clones with `deployment.model_deploy` and trains with a
`slim.learning`-style train op, then evaluates with `slim.evaluation` and
`slim.metrics`. These tests drive that path, the way Slim's
`train_image_classifier.py` and `eval_image_classifier.py` do, on
flowers-format records made by our own flowers converter from a local
mirror, and check the values it produces.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import contextlib
import math
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
import tf_slim as slim

from datasets import dataset_factory
from datasets import dataset_utils
from datasets import flowers
from deployment import model_deploy
from nets import nets_factory
from preprocessing import preprocessing_factory
from tests import dataset_testutil as dtu

# Its tests share module fixtures or cached builds: one worker runs them all
# (make test uses --dist loadgroup).
pytestmark = pytest.mark.xdist_group('test_slim_api_data')

CLASSES = ('daisy', 'roses', 'tulips')
PER_CLASS = 4  # 12 photos: 8 train, 4 validation
NUM_VALIDATION = 4
BATCH = 4


@pytest.fixture(scope='module')
def flowers_dir(tmp_path_factory):
  """Flowers records (2 shards per split) converted from a local mirror."""
  members = [('flower_photos', None)]
  for c, name in enumerate(CLASSES):
    members.append(('flower_photos/' + name, None))
    for j in range(PER_CLASS):
      # Each class has its own mean colour, so a tiny net can separate them.
      image = dtu.random_images(1, 24 + j, 30, seed=10 * c + j)[0] // 4
      image[..., c] += 150
      members.append(('flower_photos/%s/%d.jpg' % (name, j),
                      dtu.encode_jpeg(image)))
  out = str(tmp_path_factory.mktemp('flowers'))
  with dtu.LocalHTTPServer({flowers.ARCHIVE: dtu.tar_bytes(members)}) as srv:
    flowers.run(out, mirror=srv.url, num_validation=NUM_VALIDATION,
                num_shards=2)
  return out


def _encoded_and_labels(dataset_dir, split_name):
  """All `(encoded image, label)` of a split, parsed without the decoder."""
  pairs = []
  for path in sorted(tf.io.gfile.glob(os.path.join(
      dataset_dir, flowers.FILE_PATTERN % split_name))):
    for raw in tf.io.tf_record_iterator(path):
      feature = tf.train.Example.FromString(raw).features.feature
      pairs.append((feature['image/encoded'].bytes_list.value[0],
                    feature['image/class/label'].int64_list.value[0]))
  return pairs


def test_get_dataset_is_a_slim_dataset_and_our_split(flowers_dir):
  dataset = dataset_factory.get_dataset('flowers', 'train', flowers_dir)
  assert isinstance(dataset, slim.dataset.Dataset)
  assert isinstance(dataset, dataset_factory.DatasetSplit)
  # Slim's attributes.
  assert dataset.num_samples == 3 * PER_CLASS - NUM_VALIDATION
  assert dataset.num_classes == flowers.NUM_CLASSES
  assert dataset.labels_to_names == dict(enumerate(CLASSES))
  assert dataset.reader is tf.TFRecordReader
  assert sorted(dataset.items_to_descriptions) == ['image', 'label']
  assert sorted(dataset.decoder.list_items()) == ['image', 'label']
  assert [os.path.basename(p) for p in dataset.data_sources] == [
      'flowers_train_%05d-of-00002.tfrecord' % i for i in range(2)]
  # Ours, for the tf.data pipeline and the scripts.
  assert dataset.files == dataset.data_sources
  assert dataset.channels == 3 and dataset.split_name == 'train'
  assert dataset.file_pattern == os.path.join(flowers_dir,
                                              'flowers_train_*.tfrecord')


def test_get_dataset_takes_slims_reader_argument(flowers_dir):
  dataset = dataset_factory.get_dataset('flowers', 'validation', flowers_dir,
                                        reader=tf.WholeFileReader)
  assert dataset.reader is tf.WholeFileReader
  assert dataset.num_samples == NUM_VALIDATION


def test_imagenet_decoder_has_slims_box_items():
  decoder, descriptions = dataset_factory.slim_decoder(object_boxes=True)
  assert sorted(decoder.list_items()) == sorted(descriptions) == [
      'image', 'label', 'label_text', 'object/bbox', 'object/label']
  boxes = {'xmin': [0.1, 0.5], 'ymin': [0.2, 0.6], 'xmax': [0.3, 0.7],
           'ymax': [0.4, 0.8]}
  extra = {'image/object/bbox/' + k: dataset_utils.float_feature(v)
           for k, v in boxes.items()}
  extra['image/object/class/label'] = dataset_utils.int64_feature([7, 7])
  extra['image/class/text'] = dataset_utils.bytes_feature('tench')
  serialized = dataset_utils.image_to_tfexample(
      dtu.encode_png(np.zeros((4, 5, 3), np.uint8)), b'png', 4, 5, 7,
      extra).SerializeToString()
  with tf.Graph().as_default():
    items = ['image', 'label', 'object/bbox', 'object/label', 'label_text']
    tensors = decoder.decode(tf.constant(serialized), items)
    with tf.Session() as sess:
      image, label, bbox, box_labels, text = sess.run(tensors)
  assert image.shape == (4, 5, 3) and label == 7 and text == b'tench'
  np.testing.assert_allclose(bbox, [[0.2, 0.1, 0.4, 0.3], [0.6, 0.5, 0.8,
                                                           0.7]], rtol=1e-6)
  assert list(box_labels) == [7, 7]


def test_dataset_utils_keeps_slims_helpers(tmp_path):
  assert dataset_utils.int64_feature(3).int64_list.value == [3]
  assert dataset_utils.bytes_feature(b'ab').bytes_list.value == [b'ab']
  assert dataset_utils.bytes_list_feature([b'a', b'b']).bytes_list.value == [
      b'a', b'b']
  assert list(dataset_utils.float_list_feature([0.5, 2.0]).float_list.value
             ) == [0.5, 2.0]
  example = dataset_utils.image_to_tfexample(b'jpeg-bytes', b'jpg', 3, 4, 2)
  feature = example.features.feature
  assert feature['image/class/label'].int64_list.value == [2]
  assert feature['image/format'].bytes_list.value == [b'jpg']
  directory = str(tmp_path)
  assert not dataset_utils.has_labels(directory)
  dataset_utils.write_label_file({1: 'b', 0: 'a:colon'}, directory)
  assert dataset_utils.has_labels(directory)
  assert dataset_utils.read_label_file(directory) == {0: 'a:colon', 1: 'b'}
  with contextlib.ExitStack() as stack:
    writers = dataset_utils.open_sharded_output_tfrecords(
        stack, os.path.join(directory, 'out'), 2)
    for i, writer in enumerate(writers):
      writer.write(b'record%d' % i)
  assert sorted(os.listdir(directory)) == [
      'labels.txt', 'out-00000-of-00002', 'out-00001-of-00002']


def test_download_and_uncompress_tarball_serves_locally(tmp_path):
  tarball = dtu.tar_bytes([('d', None), ('d/a.txt', b'hello')])
  with dtu.LocalHTTPServer({'t.tar.gz': tarball}) as server:
    dataset_utils.download_and_uncompress_tarball(server.url + 't.tar.gz',
                                                  str(tmp_path))
  assert (tmp_path / 'd' / 'a.txt').read_bytes() == b'hello'


def test_get_preprocessing_has_slims_signature():
  fn = preprocessing_factory.get_preprocessing('lenet', is_training=False,
                                               use_grayscale=False)
  with tf.Graph().as_default():
    image = tf.constant(np.full((30, 20, 3), 192, np.uint8))
    out = fn(image, 28, 28)
    gray = preprocessing_factory.get_preprocessing(
        'vgg_16', use_grayscale=True)(image, 24, 24)
    with tf.Session() as sess:
      out, gray = sess.run([out, gray])
  assert out.shape == (28, 28, 3) and out.dtype == np.float32
  assert gray.shape == (24, 24, 1)


def _provider_batch(dataset, preprocessing_fn, image_size, labels_offset,
                    shuffle):
  """Slim's input path: DatasetDataProvider -> preprocessing -> batch."""
  provider = slim.dataset_data_provider.DatasetDataProvider(
      dataset, num_readers=1, shuffle=shuffle,
      common_queue_capacity=4 * BATCH, common_queue_min=BATCH, seed=1)
  image, label = provider.get(['image', 'label'])
  label -= labels_offset
  image = preprocessing_fn(image, image_size, image_size)
  return tf.train.batch([image, label], batch_size=BATCH, num_threads=1,
                        capacity=2 * BATCH)


def _train_slim_way(dataset_dir, train_dir, model_name, steps):
  """What Slim's train_image_classifier.py builds, with 2 CPU clones."""
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    deploy_config = model_deploy.DeploymentConfig(num_clones=2,
                                                  clone_on_cpu=True)
    with tf.device(deploy_config.variables_device()):
      global_step = slim.create_global_step()
    dataset = dataset_factory.get_dataset('flowers', 'train', dataset_dir)
    network_fn = nets_factory.get_network_fn(
        model_name, num_classes=dataset.num_classes, weight_decay=1e-4,
        is_training=True)
    preprocessing_fn = preprocessing_factory.get_preprocessing(
        model_name, is_training=True)
    with tf.device(deploy_config.inputs_device()):
      images, labels = _provider_batch(dataset, preprocessing_fn,
                                       network_fn.default_image_size, 0,
                                       shuffle=True)
      labels = slim.one_hot_encoding(labels, dataset.num_classes)
      batch_queue = slim.prefetch_queue.prefetch_queue(
          [images, labels], capacity=2 * deploy_config.num_clones)

    def clone_fn(batch_queue):
      images, labels = batch_queue.dequeue()
      logits, end_points = network_fn(images)
      slim.losses.softmax_cross_entropy(logits, labels, weights=1.0)
      return end_points

    clones = model_deploy.create_clones(deploy_config, clone_fn,
                                        [batch_queue])
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS,
                                   deploy_config.clone_scope(0))
    with tf.device(deploy_config.optimizer_device()):
      optimizer = tf.train.GradientDescentOptimizer(0.01)
    total_loss, clones_gradients = model_deploy.optimize_clones(
        clones, optimizer, var_list=tf.trainable_variables())
    update_ops.append(optimizer.apply_gradients(clones_gradients,
                                                global_step=global_step))
    with tf.control_dependencies([tf.group(*update_ops)]):
      train_tensor = tf.identity(total_loss, name='train_op')
    final_loss = slim.learning.train(
        train_tensor, logdir=train_dir, number_of_steps=steps,
        save_summaries_secs=10000, save_interval_secs=10000,
        log_every_n_steps=1)
    return clones, final_loss


def _eval_slim_way(dataset_dir, checkpoint_path, eval_dir, model_name):
  """What Slim's eval_image_classifier.py builds; returns metric values."""
  with tf.Graph().as_default():
    slim.get_or_create_global_step()
    dataset = dataset_factory.get_dataset('flowers', 'validation',
                                          dataset_dir)
    network_fn = nets_factory.get_network_fn(
        model_name, num_classes=dataset.num_classes, is_training=False)
    preprocessing_fn = preprocessing_factory.get_preprocessing(
        model_name, is_training=False)
    images, labels = _provider_batch(dataset, preprocessing_fn,
                                     network_fn.default_image_size, 0,
                                     shuffle=False)
    logits, _ = network_fn(images)
    predictions = tf.argmax(logits, 1)
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'Accuracy': slim.metrics.streaming_accuracy(predictions, labels),
        'Recall_2': slim.metrics.streaming_recall_at_k(logits, labels, 2),
    })
    num_batches = int(math.ceil(dataset.num_samples / float(BATCH)))
    values = slim.evaluation.evaluate_once(
        '', checkpoint_path, eval_dir, num_evals=num_batches,
        eval_op=list(names_to_updates.values()),
        final_op=names_to_values,
        variables_to_restore=slim.get_variables_to_restore())
  return values, network_fn.default_image_size


def _numpy_accuracy(dataset_dir, checkpoint_path, model_name, image_size):
  """Top-1 and top-2 of the checkpoint over the validation set, one image at
  a time (JPEG decoded by the same TF kernel, so the pixels are the same)."""
  pairs = _encoded_and_labels(dataset_dir, 'validation')
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(
        model_name, num_classes=flowers.NUM_CLASSES, is_training=False)
    preprocessing_fn = preprocessing_factory.get_preprocessing(model_name)
    encoded = tf.placeholder(tf.string, [])
    image = tf.image.decode_jpeg(encoded, channels=3)
    logits, _ = network_fn(tf.expand_dims(
        preprocessing_fn(image, image_size, image_size), 0))
    with tf.Session() as sess:
      tf.train.Saver().restore(sess, checkpoint_path)
      scores = [sess.run(logits, {encoded: data})[0] for data, _ in pairs]
  labels = np.array([label for _, label in pairs])
  ranks = np.argsort(-np.array(scores), axis=1)
  return (np.mean(ranks[:, 0] == labels),
          np.mean([label in r[:2] for label, r in zip(labels, ranks)]))


def test_train_and_eval_the_slim_way(flowers_dir, tmp_path):
  model = 'lenet'
  train_dir = str(tmp_path / 'train')
  clones, final_loss = _train_slim_way(flowers_dir, train_dir, model, steps=2)
  # As Slim's: the clone's name scope, with its slash.
  assert [c.scope for c in clones] == ['clone_0/', 'clone_1/']
  assert [c.device for c in clones] == ['/device:CPU:0'] * 2
  assert np.isfinite(final_loss) and final_loss > 0
  checkpoint = tf.train.latest_checkpoint(train_dir)
  assert checkpoint.endswith('model.ckpt-2')
  reader = tf.train.load_checkpoint(checkpoint)
  assert reader.get_tensor('global_step') == 2
  # The checkpoint holds Slim's LeNet variables, not per-clone copies.
  assert 'LeNet/fc4/weights' in reader.get_variable_to_shape_map()
  assert not any(name.startswith('clone_')
                 for name in reader.get_variable_to_shape_map())

  values, size = _eval_slim_way(flowers_dir, checkpoint,
                                str(tmp_path / 'eval'), model)
  accuracy, recall_2 = _numpy_accuracy(flowers_dir, checkpoint, model, size)
  # 4 validation images: the streaming metrics are exact counts over them.
  assert values['Accuracy'] == pytest.approx(accuracy, abs=1e-6)
  assert values['Recall_2'] == pytest.approx(recall_2, abs=1e-6)
