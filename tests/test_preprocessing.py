"""Slim's four preprocessing families: shapes, ranges and exact values."""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from preprocessing import preprocessing_factory
from preprocessing import vgg_preprocessing

FAMILIES = ['cifarnet', 'inception', 'lenet', 'senet', 'vgg']
# (low, high) bounds of each family's output on any uint8 input.
RANGES = {
    'inception': (-1.0, 1.0),
    'lenet': (-1.0, 127.0 / 128.0),
    'vgg': (-vgg_preprocessing.R_MEAN, 255.0 - vgg_preprocessing.B_MEAN),
    'cifarnet': (-50.0, 50.0),  # standardized; bounded by sqrt(pixels)
    # (x / 255 - mean) / std at x = 0 and 255, the widest channels.
    'senet': (-0.485 / 0.229, (1 - 0.406) / 0.225),
}


def _run(name, image, height, width, is_training, **kwargs):
  with tf.Graph().as_default():
    tf.set_random_seed(1)
    fn = preprocessing_factory.get_preprocessing(name, is_training=is_training,
                                                 **kwargs)
    out = fn(tf.constant(image), height, width)
    static = out.shape.as_list()
    with tf.Session() as sess:
      return sess.run(out), static


def test_names_are_the_families():
  assert preprocessing_factory.names() == FAMILIES


@pytest.mark.parametrize('is_training', [False, True], ids=['eval', 'train'])
@pytest.mark.parametrize('name', FAMILIES)
def test_output_shape_dtype_and_range(name, is_training):
  image = np.random.RandomState(0).randint(0, 256, (300, 260, 3)).astype(
      np.uint8)
  out, static = _run(name, image, 224, 200, is_training)
  assert out.shape == (224, 200, 3) and out.dtype == np.float32
  assert static[:2] == [224, 200]
  low, high = RANGES[name]
  assert out.min() >= low - 1e-5 and out.max() <= high + 1e-5
  assert out.std() > 0.1  # not constant


def test_vgg_subtracts_the_rgb_means_exactly():
  image = np.zeros((300, 280, 3), np.uint8) + np.array([130, 120, 100],
                                                       np.uint8)
  expected = np.array([130 - 123.68, 120 - 116.78, 100 - 103.94], np.float32)
  for is_training in (False, True):
    out, _ = _run('vgg', image, 224, 224, is_training)
    np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape),
                               atol=1e-3)


def test_vgg_eval_is_a_central_crop_of_the_256_side():
  # Already 256 on the smaller side: no resampling, just the central crop.
  rng = np.random.RandomState(1)
  image = rng.randint(0, 256, (256, 300, 3)).astype(np.uint8)
  out, _ = _run('vgg', image, 224, 224, False)
  top, left = (256 - 224) // 2, (300 - 224) // 2
  expected = image[top:top + 224, left:left + 224].astype(np.float32) - [
      123.68, 116.78, 103.94]
  np.testing.assert_allclose(out, expected, atol=1e-3)


def test_inception_eval_maps_0_and_255_to_minus_1_and_1():
  image = np.zeros((40, 40, 3), np.uint8)
  image[:, 20:] = 255
  out, _ = _run('inception', image, 16, 16, False)
  # Central 87.5% (35 px), resized: left columns black, right ones white.
  np.testing.assert_allclose(out[:, 0], -1.0, atol=1e-5)
  np.testing.assert_allclose(out[:, -1], 1.0, atol=1e-5)


def test_lenet_is_x_minus_128_over_128_with_crop_or_pad():
  image = np.full((20, 30, 1), 192, np.uint8)
  out, _ = _run('lenet', image, 28, 28, True)
  assert out.shape == (28, 28, 1)
  np.testing.assert_allclose(out[4:24, :], 0.5)  # (192 - 128) / 128
  np.testing.assert_allclose(out[:4], -1.0)  # zero padding -> -1


def test_cifarnet_standardizes_each_image():
  image = np.random.RandomState(2).randint(0, 256, (32, 32, 3)).astype(
      np.uint8)
  for is_training in (False, True):
    out, _ = _run('cifarnet', image, 32, 32, is_training)
    assert abs(out.mean()) < 1e-4 and abs(out.std() - 1.0) < 1e-3
  out, _ = _run('cifarnet', image, 32, 32, False)
  x = image.astype(np.float32)
  np.testing.assert_allclose(out, (x - x.mean()) / x.std(), atol=1e-4)


@pytest.mark.parametrize('name', [f for f in FAMILIES if f != 'senet'])
def test_use_grayscale_gives_one_channel(name):
  image = np.random.RandomState(3).randint(0, 256, (260, 260, 3)).astype(
      np.uint8)
  out, _ = _run(name, image, 32, 32, True, use_grayscale=True)
  assert out.shape == (32, 32, 1)


@pytest.mark.parametrize('name', FAMILIES)
def test_single_channel_input_works(name):
  image = np.random.RandomState(4).randint(0, 256, (28, 28, 1)).astype(
      np.uint8)
  out, _ = _run(name, image, 28, 28, False)
  assert out.shape[:2] == (28, 28)


def test_senet_eval_normalises_the_central_crop_exactly():
  # Shorter side already 256: no resize; the crop starts at column 38.
  x = np.tile(np.arange(300, dtype=np.float64) % 256, (256, 1))
  image = np.stack([x, 255 - x, x // 2], axis=-1).astype(np.uint8)
  out, _ = _run('senet', image, 224, 224, False)
  crop = image[16:240, 38:262].astype(np.float64) / 255.0
  expected = (crop - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
  np.testing.assert_allclose(out, expected, atol=1e-4)


def test_senet_eval_resizes_the_shorter_side_to_256():
  # 128 x 150 doubles to 256 x 300; a constant image stays constant.
  image = np.full((128, 150, 3), 200, np.uint8)
  out, _ = _run('senet', image, 224, 224, False)
  expected = (200 / 255.0 - np.array([0.485, 0.456, 0.406])) / np.array(
      [0.229, 0.224, 0.225])
  np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape),
                             atol=1e-4)


def test_senet_refuses_grayscale():
  image = np.zeros((40, 40, 3), np.uint8)
  with pytest.raises(ValueError, match='RGB only'):
    _run('senet', image, 32, 32, False, use_grayscale=True)


def test_training_augmentation_is_random():
  image = np.random.RandomState(5).randint(0, 256, (64, 64, 3)).astype(
      np.uint8)
  with tf.Graph().as_default():
    fn = preprocessing_factory.get_preprocessing('inception', is_training=True)
    out = fn(tf.constant(image), 32, 32)
    with tf.Session() as sess:
      a, b = sess.run(out), sess.run(out)
  assert not np.allclose(a, b)


def test_model_names_resolve_through_the_model_registry(monkeypatch):
  from nets import nets_factory
  for model in nets_factory.names():
    expected = nets_factory.preprocessing_name(model)
    if expected is not None:
      assert preprocessing_factory.resolve_name(model) == expected
  monkeypatch.setattr(nets_factory, 'preprocessing_name',
                      lambda name: {'net_a': 'vgg', 'net_b': None}[name])
  assert preprocessing_factory.resolve_name('net_a') == 'vgg'
  with pytest.raises(ValueError, match="Model 'net_b' has no preprocessing.*"
                     '--preprocessing_name.*cifarnet, inception, lenet, senet, '
                     'vgg'):
    preprocessing_factory.get_preprocessing('net_b')


def test_unknown_name_lists_the_families():
  with pytest.raises(ValueError) as info:
    preprocessing_factory.get_preprocessing('vgg_17_typo')
  assert str(info.value) == (
      "Unknown preprocessing 'vgg_17_typo': not a preprocessing (cifarnet, "
      'inception, lenet, senet, vgg) nor a model name; pass '
      '--preprocessing_name '
      'with one of those')
