"""The model registry: one entry per TF-Slim model name.

Each entry (`ModelSpec`) holds everything the scripts need to know about a
model: its builder, its arg_scope function, its default image size, the
preprocessing it was trained with and whether it takes an attention module.
Slim kept three maps in sync by hand for this; `networks_map` and
`arg_scopes_map` are derived from the registry for code written against
Slim's names.

Attention is a flag, not a model name: `get_network_fn('resnet_v1_50', ...,
attention_module='se_block')` builds SE-ResNet-50 [1]. The factory binds the
module and its hyper-parameters into one `attention.Attention` value, which is
all a builder receives (as `attention_module`).

A model whose published form includes a module (e.g. a released SENet) says
so in its row, as data: `ModelSpec(..., attention=('se_block',
{'reduction_ratio': 16}))`; the factory binds that when no module is asked
for. `attention_positions` lists where the builder can put the module (the
ResNets take the SE paper's four placements, `attention.POSITIONS`).

References:
  [1] Hu et al., Squeeze-and-Excitation Networks, arXiv:1709.01507.

Typical use:

    from nets import nets_factory

    network_fn = nets_factory.get_network_fn(
        'resnet_v1_50', num_classes=1000, is_training=True,
        attention_module='se_block', reduction_ratio=16)
    size = network_fn.default_image_size        # 224
    logits, end_points = network_fn(images)     # images: [batch, 224, 224, 3]
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import collections
import functools
import inspect

import tensorflow.compat.v1 as tf
import tf_slim as slim

from nets import alexnet
from nets import attention
from nets import cifarnet
from nets import inception_resnet_v2
from nets import inception_v1
from nets import inception_v2
from nets import inception_v3
from nets import inception_v4
from nets import lenet
from nets import mobilenet_v1
from nets import overfeat
from nets import resnet_v1
from nets import resnet_v2
from nets import senet
from nets import vgg
from nets.mobilenet import mobilenet_v2
from nets.mobilenet import mobilenet_v3
from nets.nasnet import nasnet
from nets.nasnet import pnasnet

ModelSpec = collections.namedtuple(
    'ModelSpec',
    [
        'builder',  # fn(images, num_classes=..., is_training=..., **kw)
        'arg_scope',  # fn(weight_decay=...) -> arg_scope
        'default_image_size',  # int: the side of the square input
        'preprocessing',  # preprocessing_factory name, or None (must be given)
        'supports_attention',  # builder takes attention_module
        # (name, {hparam: value}) built into the published model, or None.
        'attention',
        # Places the builder can put the module (`attention.POSITIONS`).
        'attention_positions',
    ],
    defaults=(None, (attention.STANDARD,)))


def _resnet(module, depth, preprocessing):
  family = module.__name__.split('.')[-1]  # 'resnet_v1' or 'resnet_v2'
  return ('%s_%d' % (family, depth),
          ModelSpec(builder=getattr(module, '%s_%d' % (family, depth)),
                    arg_scope=module.resnet_arg_scope,
                    default_image_size=224,
                    preprocessing=preprocessing,
                    supports_attention=True,
                    attention_positions=attention.POSITIONS))


# One row per model. Sections are model families; keep rows in Slim's order.
_MODELS = collections.OrderedDict([
    # --- Inception family, VGG, AlexNet, OverFeat, CifarNet, LeNet ---
    # Slim maps no preprocessing for alexnet_v2 and overfeat; they get 'vgg'
    # (ImageNet crops at their 224 / 231 input size, mean subtraction).
    ('alexnet_v2', ModelSpec(builder=alexnet.alexnet_v2,
                             arg_scope=alexnet.alexnet_v2_arg_scope,
                             default_image_size=224,
                             preprocessing='vgg',
                             supports_attention=False)),
    ('cifarnet', ModelSpec(builder=cifarnet.cifarnet,
                           arg_scope=cifarnet.cifarnet_arg_scope,
                           default_image_size=32,
                           preprocessing='cifarnet',
                           supports_attention=False)),
    ('overfeat', ModelSpec(builder=overfeat.overfeat,
                           arg_scope=overfeat.overfeat_arg_scope,
                           default_image_size=231,
                           preprocessing='vgg',
                           supports_attention=False)),
    *[(name, ModelSpec(builder=getattr(vgg, name),
                       arg_scope=vgg.vgg_arg_scope,
                       default_image_size=224,
                       preprocessing='vgg',
                       supports_attention=False))
      for name in ('vgg_a', 'vgg_16', 'vgg_19')],
    ('inception_v1', ModelSpec(builder=inception_v1.inception_v1,
                               arg_scope=inception_v1.inception_v1_arg_scope,
                               default_image_size=224,
                               preprocessing='inception',
                               supports_attention=False)),
    ('inception_v2', ModelSpec(builder=inception_v2.inception_v2,
                               arg_scope=inception_v2.inception_v2_arg_scope,
                               default_image_size=224,
                               preprocessing='inception',
                               supports_attention=False)),
    ('inception_v3', ModelSpec(builder=inception_v3.inception_v3,
                               arg_scope=inception_v3.inception_v3_arg_scope,
                               default_image_size=299,
                               preprocessing='inception',
                               supports_attention=True)),
    ('inception_v4', ModelSpec(builder=inception_v4.inception_v4,
                               arg_scope=inception_v4.inception_v4_arg_scope,
                               default_image_size=299,
                               preprocessing='inception',
                               supports_attention=True)),
    ('inception_resnet_v2', ModelSpec(
        builder=inception_resnet_v2.inception_resnet_v2,
        arg_scope=inception_resnet_v2.inception_resnet_v2_arg_scope,
        default_image_size=299,
        preprocessing='inception',
        supports_attention=True)),
    # LeNet takes 28 x 28 x 1 (MNIST) inputs.
    ('lenet', ModelSpec(builder=lenet.lenet,
                        arg_scope=lenet.lenet_arg_scope,
                        default_image_size=28,
                        preprocessing='lenet',
                        supports_attention=False)),
    # --- ResNet v1 [He et al. 2015] and v2 [He et al. 2016] ---
    # Slim maps ResNet V2 to vgg preprocessing, but its published checkpoints
    # were trained with inception preprocessing (Slim README; tensorflow/models
    # #1497), so fine-tuning from them needs 'inception'.
    *[_resnet(resnet_v1, d, 'vgg') for d in sorted(resnet_v1.UNITS_PER_BLOCK)],
    *[_resnet(resnet_v2, d, 'inception')
      for d in sorted(resnet_v2.UNITS_PER_BLOCK)],
    # --- The released SENets [Hu et al. 2017] (Caffe topology; stride in the
    # first unit) for the authors' ImageNet weights via timm / Cadene's
    # ports (tools/convert_senet_weights.py); 1000 classes. Their SE is the
    # row's, so --attention_module does not apply.
    *[(name, ModelSpec(builder=builder,
                       arg_scope=senet.senet_arg_scope,
                       default_image_size=224,
                       preprocessing='senet',
                       supports_attention=False,
                       attention=('se_block', {'reduction_ratio': 16})))
      for name, builder in senet.MODELS.items()],
    # --- MobileNet v1 / v2 / v3 / EdgeTPU ---
    # MobileNet v1 [Howard et al. 2017]: one builder, four width multipliers.
    # Slim maps no preprocessing for mobilenet_v1_075/050/025; they were
    # trained like mobilenet_v1, so they get its 'inception' preprocessing.
    *[(name, ModelSpec(builder=getattr(mobilenet_v1, name),
                       arg_scope=mobilenet_v1.mobilenet_v1_arg_scope,
                       default_image_size=224,
                       preprocessing='inception',
                       supports_attention=False))
      for name in ('mobilenet_v1', 'mobilenet_v1_075', 'mobilenet_v1_050',
                   'mobilenet_v1_025')],
    # MobileNetV2 [Sandler et al. 2018]; SE inside every inverted residual,
    # for all three width multipliers.
    *[(name, ModelSpec(builder=builder,
                       arg_scope=mobilenet_v2.training_scope,
                       default_image_size=224,
                       preprocessing='inception',
                       supports_attention=True))
      for name, builder in (
          ('mobilenet_v2', mobilenet_v2.mobilenet),
          ('mobilenet_v2_140', mobilenet_v2.mobilenet_v2_140),
          ('mobilenet_v2_035', mobilenet_v2.mobilenet_v2_035))],
    # MobileNetV3 [Howard et al. 2019] and MobileNet-EdgeTPU: their own
    # squeeze-excite is part of the published model; no attention module.
    *[(name, ModelSpec(builder=builder,
                       arg_scope=mobilenet_v3.training_scope,
                       default_image_size=224,
                       preprocessing='inception',
                       supports_attention=False))
      for name, builder in (
          ('mobilenet_v3_small', mobilenet_v3.small),
          ('mobilenet_v3_large', mobilenet_v3.large),
          ('mobilenet_v3_small_minimalistic', mobilenet_v3.small_minimalistic),
          ('mobilenet_v3_large_minimalistic', mobilenet_v3.large_minimalistic),
          ('mobilenet_edgetpu', mobilenet_v3.edge_tpu),
          ('mobilenet_edgetpu_075', mobilenet_v3.edge_tpu_075))],
    # --- NASNet / PNASNet ---
    # NASNet-A [Zoph et al. 2017] and PNASNet-5 [Liu et al. 2017]; no attention.
    # Slim maps no preprocessing for nasnet_cifar: being a 32x32 CIFAR-10
    # model, it gets 'cifarnet'.
    *[(name, ModelSpec(builder=builder,
                       arg_scope=arg_scope,
                       default_image_size=builder.default_image_size,
                       preprocessing=preprocessing,
                       supports_attention=False))
      for name, builder, arg_scope, preprocessing in (
          ('nasnet_cifar', nasnet.build_nasnet_cifar,
           nasnet.nasnet_cifar_arg_scope, 'cifarnet'),
          ('nasnet_mobile', nasnet.build_nasnet_mobile,
           nasnet.nasnet_mobile_arg_scope, 'inception'),
          ('nasnet_large', nasnet.build_nasnet_large,
           nasnet.nasnet_large_arg_scope, 'inception'),
          ('pnasnet_mobile', pnasnet.build_pnasnet_mobile,
           pnasnet.pnasnet_mobile_arg_scope, 'inception'),
          ('pnasnet_large', pnasnet.build_pnasnet_large,
           pnasnet.pnasnet_large_arg_scope, 'inception'))],
])

# Slim-compatible views of the registry.
networks_map = {name: spec.builder for name, spec in _MODELS.items()}
arg_scopes_map = {name: spec.arg_scope for name, spec in _MODELS.items()}


def names():
  """Returns every registered model name, sorted."""
  return sorted(_MODELS)


def attention_model_names():
  """Returns the names of the models that take an attention module, sorted."""
  return sorted(n for n, s in _MODELS.items() if s.supports_attention)


def attention_position_model_names(position):
  """Returns the names of the models that can put attention at `position`."""
  return sorted(n for n, s in _MODELS.items()
                if s.supports_attention and position in s.attention_positions)


def get_model_spec(name):
  """Returns the `ModelSpec` registered for `name`.

  Raises:
    ValueError: if `name` is not registered; the message lists valid names.
  """
  try:
    return _MODELS[name]
  except (KeyError, TypeError):
    raise ValueError('Unknown model_name %r; expected one of: %s' %
                     (name, ', '.join(names())))


def preprocessing_name(name):
  """Returns the preprocessing a model was trained with, or None if unset."""
  return get_model_spec(name).preprocessing


# What each family's arg_scope calls the decay of its batch-norm moving
# averages (Slim's names; MobileNet v2/v3 use the short one).
_BATCH_NORM_DECAY_KWARGS = ('batch_norm_decay', 'bn_decay')


def _batch_norm_decay_kwarg(spec):
  params = inspect.signature(spec.arg_scope).parameters
  for kwarg in _BATCH_NORM_DECAY_KWARGS:
    if kwarg in params:
      return kwarg
  return None


def batch_norm_model_names():
  """Returns the names of the models whose batch-norm decay can be set."""
  return sorted(n for n, s in _MODELS.items() if _batch_norm_decay_kwarg(s))


def validate_batch_norm_decay(batch_norm_decay):
  """Raises ValueError unless `batch_norm_decay` is None or in [0, 1)."""
  if batch_norm_decay is None:
    return
  if (isinstance(batch_norm_decay, bool) or
      not isinstance(batch_norm_decay, (int, float)) or
      not 0.0 <= batch_norm_decay < 1.0):
    raise ValueError('Invalid batch_norm_decay %r; expected a number in '
                     '[0, 1), e.g. 0.99, or unset for the model\'s default' %
                     (batch_norm_decay,))


def bind_attention(name, attention_module=None,
                   reduction_ratio=attention.DEFAULT_REDUCTION_RATIO,
                   attention_position=attention.STANDARD):
  """Binds model `name`'s attention into one `attention.Attention`, or None.

  Args:
    name: a model name from `names()`.
    attention_module: None / '' / 'none' (the model's published form), a
      name from `attention.names()`, or an `attention.Attention`.
    reduction_ratio: given to the module if it takes one (SE, CBAM); shared
      by the command line, so other modules ignore it.
    attention_position: one of `attention.POSITIONS`.

  Returns:
    The value the builder receives as `attention_module`: the asked module,
    else the row's built-in one, else None.

  Raises:
    ValueError: for an unknown module, position or invalid hyper-parameter;
      for a module on a model that takes none, or at a position it does not
      offer; or for a module other than the one built into the model.
  """
  spec = get_model_spec(name)
  attention.validate_position(attention_position)
  bound = attention.bind(attention_module, position=attention_position,
                         ignore_unknown=True, reduction_ratio=reduction_ratio)
  if spec.attention is not None:
    built_in = attention.bind(spec.attention, position=attention_position)
    if bound is not None and bound.name != built_in.name:
      raise ValueError('%s has %s built in; it takes no attention_module=%r; '
                       'models that do: %s' % (
                           name, built_in.name, attention_module,
                           ', '.join(attention_model_names())))
    bound = built_in  # Asking for its own module changes nothing.
  if bound is None:
    if attention_position != attention.STANDARD:
      raise ValueError('attention_position=%r needs an attention_module' %
                       (attention_position,))
    return None
  if not spec.supports_attention and spec.attention is None:
    raise ValueError('%s does not support attention_module=%r; models that do: '
                     '%s' % (name, bound.name,
                             ', '.join(attention_model_names())))
  if attention_position not in spec.attention_positions:
    raise ValueError('%s does not support attention_position=%r; models that '
                     'do: %s' % (name, attention_position, ', '.join(
                         attention_position_model_names(attention_position))))
  return bound


def get_network_fn(name, num_classes, weight_decay=0.0, is_training=False,
                   attention_module=None,
                   reduction_ratio=attention.DEFAULT_REDUCTION_RATIO,
                   batch_norm_decay=None,
                   attention_position=attention.STANDARD):
  """Returns `network_fn(images, **kwargs) -> (logits, end_points)`.

  Args:
    name: a model name from `names()`.
    num_classes: number of classes of the logits layer; 0 or None builds the
      model up to its pre-logits features where the builder allows it.
    weight_decay: L2 coefficient given to the model's arg_scope.
    is_training: whether the model is built for training (batch norm and
      dropout in training mode).
    attention_module: None / '' / 'none' for the published model, a name
      from `attention.names()`, or an `attention.Attention`.
    reduction_ratio: reduction ratio r of SE and CBAM (positive int; the
      papers' 16); modules without one ignore it.
    batch_norm_decay: decay of the batch-norm moving averages, or None for
      the model's published default (0.997 to 0.9997). Those defaults suit
      ImageNet-length runs: the moving variances start at 1 and keep
      `decay**steps` of that start, which after a short run from scratch can
      still outweigh variances of order 0.01, and inference-mode accuracy
      collapses while training-mode accuracy is fine. 0.99 forgets the start
      within a few hundred steps.
    attention_position: where a ResNet unit applies the module, one of
      `attention.POSITIONS` (the SE paper's Sec. 6.5); 'standard' elsewhere.

  Returns:
    `network_fn`, carrying `default_image_size` and `attention` (the bound
    `attention.Attention`, or None). It takes `images` of shape
    `[batch, height, width, channels]` and any extra builder kwargs, and
    returns `(logits, end_points)`; with attention on, `end_points` also holds
    every gate of every block as `<module scope>/<gate>` (SE:
    `.../se/excitation`, `[batch, 1, 1, C]`).

  Raises:
    ValueError: for an unknown model or attention module, a model that does
      not take attention (or not at that position), an invalid
      hyper-parameter, or a batch-norm decay that is out of range or given
      for a model without batch norm.
  """
  spec = get_model_spec(name)
  validate_batch_norm_decay(batch_norm_decay)
  arg_scope_kwargs = dict(weight_decay=weight_decay)
  if batch_norm_decay is not None:
    kwarg = _batch_norm_decay_kwarg(spec)
    if kwarg is None:
      raise ValueError('%s has no batch norm, so batch_norm_decay=%r does not '
                       'apply; models that have it: %s' %
                       (name, batch_norm_decay,
                        ', '.join(batch_norm_model_names())))
    arg_scope_kwargs[kwarg] = batch_norm_decay
  bound = bind_attention(name, attention_module, reduction_ratio,
                         attention_position)
  attention_kwargs = (dict(attention_module=bound)
                      if spec.supports_attention or spec.attention else {})

  @functools.wraps(spec.builder)
  def network_fn(images, **kwargs):
    gates_before = len(tf.get_collection(attention.EXCITATIONS))
    with slim.arg_scope(spec.arg_scope(**arg_scope_kwargs)):
      logits, end_points = spec.builder(
          images, num_classes=num_classes, is_training=is_training,
          **dict(attention_kwargs, **kwargs))
    end_points.update(attention.collected_excitations(start=gates_before))
    return logits, end_points

  network_fn.default_image_size = spec.default_image_size
  network_fn.attention = bound
  return network_fn
