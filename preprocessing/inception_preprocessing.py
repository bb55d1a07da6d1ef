"""Inception preprocessing, as TF-Slim defines it.

Training: convert to float in [0, 1]; sample a distorted bounding box
(`sample_distorted_bounding_box`: min_object_covered 0.1, aspect ratio
0.75..1.33, area 0.05..1.0, 100 attempts; the whole image when no box is
given) and crop it; resize to the output size (bilinear in fast_mode, the
default, else one of 4 methods at random); random horizontal flip; color
distortion (fast_mode: brightness +-32/255 and saturation 0.5..1.5; else one
of 4 orderings that also include hue and contrast); clip to [0, 1].
Evaluation: central crop of 87.5% of the image, bilinear resize.
Both end with (x - 0.5) * 2, so values lie in [-1, 1].

Typical use:

    from preprocessing import inception_preprocessing
    image = inception_preprocessing.preprocess_image(uint8_image, 224, 224,
                                                     is_training=True)
    # float32 [224, 224, 3] in [-1, 1]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import tensorflow.compat.v1 as tf


def apply_with_random_selector(x, func, num_cases):
  """Returns func(x, case) for one case drawn uniformly from [0, num_cases)."""
  if num_cases == 1:
    return func(x, 0)
  selector = tf.random_uniform([], maxval=num_cases, dtype=tf.int32)
  return tf.switch_case(selector, [
      (lambda case=case: func(x, case)) for case in range(num_cases)])


def distort_color(image, color_ordering=0, fast_mode=True):
  """Randomly distorts the color of a float image in [0, 1].

  Args:
    image: float32 [H, W, 3] in [0, 1].
    color_ordering: which of the orderings (0..1 in fast_mode, else 0..3;
      training draws 0 in fast_mode, as Slim does).
    fast_mode: only brightness and saturation (no hue, no contrast).

  Returns:
    float32 [H, W, 3] clipped to [0, 1].

  Raises:
    ValueError: color_ordering is out of range.
  """
  brightness = lambda x: tf.image.random_brightness(x, max_delta=32. / 255.)
  saturation = lambda x: tf.image.random_saturation(x, lower=0.5, upper=1.5)
  hue = lambda x: tf.image.random_hue(x, max_delta=0.2)
  contrast = lambda x: tf.image.random_contrast(x, lower=0.5, upper=1.5)
  if fast_mode:
    orderings = [[brightness, saturation], [saturation, brightness]]
  else:
    orderings = [[brightness, saturation, hue, contrast],
                 [saturation, brightness, contrast, hue],
                 [contrast, hue, brightness, saturation],
                 [hue, saturation, contrast, brightness]]
  if not 0 <= color_ordering < len(orderings):
    raise ValueError('color_ordering=%r must be in [0, %d)' %
                     (color_ordering, len(orderings)))
  for op in orderings[color_ordering]:
    image = op(image)
  return tf.clip_by_value(image, 0.0, 1.0)


def distorted_bounding_box_crop(image, bbox, min_object_covered=0.1,
                                aspect_ratio_range=(0.75, 1.33),
                                area_range=(0.05, 1.0), max_attempts=100):
  """Crops a random box covering part of `bbox`; returns (crop, box)."""
  begin, size, box = tf.image.sample_distorted_bounding_box(
      tf.shape(image), bounding_boxes=bbox,
      min_object_covered=min_object_covered,
      aspect_ratio_range=aspect_ratio_range, area_range=area_range,
      max_attempts=max_attempts, use_image_if_no_bounding_boxes=True)
  return tf.slice(image, begin, size), box


def _to_rgb_float(image):
  if image.dtype != tf.float32:
    image = tf.image.convert_image_dtype(image, dtype=tf.float32)
  if image.get_shape().as_list()[-1] == 1:  # e.g. mnist: color ops need RGB.
    image = tf.image.grayscale_to_rgb(image)
  return image


def preprocess_for_train(image, height, width, bbox=None, fast_mode=True,
                         crop_image=True, use_grayscale=False):
  """Training distortions; returns float32 [height, width, C] in [-1, 1].

  Args:
    image: uint8 (or float in [0, 1]) tensor [H, W, C].
    height: output height.
    width: output width.
    bbox: float32 [1, N, 4] boxes (ymin, xmin, ymax, xmax) in [0, 1], or
      None for the whole image.
    fast_mode: bilinear resize only and the 2 cheap color orderings.
    crop_image: take the distorted-box crop (else resize the whole image).
    use_grayscale: convert to one channel after the color distortion.
  """
  if bbox is None:
    bbox = tf.constant([0.0, 0.0, 1.0, 1.0], dtype=tf.float32,
                       shape=[1, 1, 4])
  image = _to_rgb_float(image)
  if crop_image:
    image, _ = distorted_bounding_box_crop(image, bbox)
  image.set_shape([None, None, 3])
  image = apply_with_random_selector(
      image,
      lambda x, method: tf.image.resize_images(x, [height, width],
                                               method=method),
      num_cases=1 if fast_mode else 4)
  image = tf.image.random_flip_left_right(image)
  image = apply_with_random_selector(
      image, lambda x, ordering: distort_color(x, ordering, fast_mode),
      num_cases=1 if fast_mode else 4)
  image.set_shape([height, width, 3])
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  return (image - 0.5) * 2.0


def preprocess_for_eval(image, height, width, central_fraction=0.875,
                        central_crop=True, use_grayscale=False):
  """Central crop and resize; returns float32 [height, width, C] in [-1, 1].

  Args:
    image: uint8 (or float in [0, 1]) tensor [H, W, C].
    height: output height.
    width: output width.
    central_fraction: share of each side kept by the central crop.
    central_crop: whether to crop at all.
    use_grayscale: convert to one channel.
  """
  image = _to_rgb_float(image)
  if central_crop and central_fraction:
    image = tf.image.central_crop(image, central_fraction=central_fraction)
  if height and width:
    image = tf.image.resize_bilinear(tf.expand_dims(image, 0), [height, width],
                                     align_corners=False)
    image = tf.squeeze(image, [0])
    image.set_shape([height, width, 3])
  if use_grayscale:
    image = tf.image.rgb_to_grayscale(image)
  return (image - 0.5) * 2.0


def preprocess_image(image, height, width, is_training=False, bbox=None,
                     fast_mode=True, crop_image=True, use_grayscale=False,
                     **kwargs):
  """Preprocesses one image for the Inception family (and MobileNet, NASNet).

  Args:
    image: uint8 tensor [H, W, C].
    height: output height.
    width: output width.
    is_training: training distortions instead of the evaluation crop.
    bbox: training only; see `preprocess_for_train`.
    fast_mode: training only; see `preprocess_for_train`.
    crop_image: random (train) or central (eval) crop.
    use_grayscale: convert to one channel.
    **kwargs: `central_fraction` (evaluation).

  Returns:
    float32 [height, width, 3 or 1] in [-1, 1].
  """
  if is_training:
    return preprocess_for_train(image, height, width, bbox=bbox,
                                fast_mode=fast_mode, crop_image=crop_image,
                                use_grayscale=use_grayscale)
  return preprocess_for_eval(image, height, width, central_crop=crop_image,
                             use_grayscale=use_grayscale, **kwargs)
