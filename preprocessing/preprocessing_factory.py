"""Preprocessing registry: the four TF-Slim families, the released SENet
weights' ('senet'), and per-model lookup.

`get_preprocessing(name)` takes a family name ('cifarnet', 'inception',
'lenet', 'senet', 'vgg') or a model name. A model's preprocessing is stored
with the model in `nets.nets_factory` (one registry, not a second map here), so e.g.
'resnet_v1_50' resolves to 'vgg' there. Models without one need an explicit
`--preprocessing_name`.

Typical use:

    from preprocessing import preprocessing_factory

    fn = preprocessing_factory.get_preprocessing('resnet_v1_50',
                                                 is_training=True)
    image = fn(uint8_image, 224, 224)    # float32 [224, 224, 3]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import functools

from preprocessing import cifarnet_preprocessing
from preprocessing import inception_preprocessing
from preprocessing import lenet_preprocessing
from preprocessing import senet_preprocessing
from preprocessing import vgg_preprocessing

preprocessing_fn_map = {
    'cifarnet': cifarnet_preprocessing,
    'inception': inception_preprocessing,
    'lenet': lenet_preprocessing,
    'senet': senet_preprocessing,
    'vgg': vgg_preprocessing,
}


def names():
  """Returns the preprocessing family names, sorted."""
  return sorted(preprocessing_fn_map)


def resolve_name(name):
  """Maps a family or model name to a family name.

  Raises:
    ValueError: `name` is neither a family nor a model with a preprocessing;
      the message lists the families and points to --preprocessing_name.
  """
  if name in preprocessing_fn_map:
    return name
  # Imported here: the model registry imports every network, which is heavy,
  # and a family name must work without it.
  from nets import nets_factory  # pylint: disable=g-import-not-at-top
  try:
    family = nets_factory.preprocessing_name(name)
  except ValueError:
    raise ValueError(
        'Unknown preprocessing %r: not a preprocessing (%s) nor a model name; '
        'pass --preprocessing_name with one of those' %
        (name, ', '.join(names())))
  if family is None:
    raise ValueError(
        'Model %r has no preprocessing of its own; pass --preprocessing_name '
        'with one of: %s' % (name, ', '.join(names())))
  if family not in preprocessing_fn_map:
    raise ValueError('Model %r names preprocessing %r, which is not one of: %s'
                     % (name, family, ', '.join(names())))
  return family


def get_preprocessing(name, is_training=False, use_grayscale=False):
  """Returns `fn(image, output_height, output_width, **kwargs)`.

  Args:
    name: a family from `names()` or a model name from `nets.nets_factory`.
    is_training: training augmentation instead of evaluation crops.
    use_grayscale: convert images to one channel.

  Returns:
    fn taking a uint8 image tensor [H, W, C] and returning float32
    [output_height, output_width, C'] (C' = 1 with use_grayscale).

  Raises:
    ValueError: see `resolve_name`.
  """
  module = preprocessing_fn_map[resolve_name(name)]

  @functools.wraps(module.preprocess_image)
  def preprocessing_fn(image, output_height, output_width, **kwargs):
    return module.preprocess_image(image, output_height, output_width,
                                   is_training=is_training,
                                   use_grayscale=use_grayscale, **kwargs)

  return preprocessing_fn
