"""One source of truth per flag: the config dataclasses and the scripts' flags.

Every case is generated from `training.TrainConfig` / `evaluation.EvalConfig`
and from the flags each script defines (`flag_groups.define_*_script_flags`,
into a fresh `FlagValues`, so the scripts' real definitions are checked):

* every field has a flag of its name with the same default, and every flag
  is a field (the only exceptions are the tables below, kept tiny);
* `config_from_flags` reads every flag into its field, and raises, naming
  the field, on a field that has no flag;
* the optimizer table (`train_lib/optimizers.py`) and `--optimizer` agree,
  and every optimizer flag feeds a keyword its constructor takes.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import dataclasses
import inspect

from absl import flags
import pytest

from train_lib import errors
from train_lib import evaluation
from train_lib import flag_groups
from train_lib import optimizers
from train_lib import training

# The exceptions, all of them.
# Fields no flag sets (declared `flag_groups.not_a_flag()`): the resolved
# flags that train() writes to flags.txt, and builder kwargs for tests.
NOT_FLAGS = {
    training.TrainConfig: {'flags_text', 'network_kwargs'},
    evaluation.EvalConfig: {'network_kwargs'},
}
# Old flag names that absl aliases to a field's flag.
ALIASES = {'se_identity_init': 'attention_identity_init'}

# script -> (its config class, how it defines its flags, flags that are
# arguments of the script itself rather than config fields).
SCRIPTS = {
    'train': (training.TrainConfig, flag_groups.define_train_script_flags,
              ()),
    'eval': (evaluation.EvalConfig,
             lambda fv: flag_groups.define_eval_script_flags(False, fv), ()),
    'eval_loop': (evaluation.EvalConfig,
                  lambda fv: flag_groups.define_eval_script_flags(True, fv),
                  flag_groups.LOOP_FLAGS),
}


def _script(name):
  config_class, define, extra = SCRIPTS[name]
  flag_values = flags.FlagValues()
  names = define(flag_values)
  return config_class, flag_values, names, extra


def _default(field):
  if field.default_factory is not dataclasses.MISSING:
    return field.default_factory()
  return field.default


def _same(value):
  """Lists and tuples compare alike (a list flag's default is a list)."""
  return tuple(value) if isinstance(value, (list, tuple)) else value


def _flag_fields(config_class):
  return [f for f in dataclasses.fields(config_class)
          if flag_groups.is_flag_field(f)]


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_every_field_has_a_flag_with_its_default(script):
  config_class, flag_values, _, _ = _script(script)
  for field in _flag_fields(config_class):
    assert field.name in flag_values, (
        '%s.%s has no --%s in the %s script' %
        (config_class.__name__, field.name, field.name, script))
    flag_default = flag_values[field.name].default
    assert _same(flag_default) == _same(_default(field)), (
        '%s.%s defaults to %r but --%s to %r' %
        (config_class.__name__, field.name, _default(field), field.name,
         flag_default))


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_every_flag_is_a_field_and_a_key_flag(script):
  config_class, flag_values, names, extra = _script(script)
  defined = set(flag_values) - set(ALIASES)
  fields = {f.name for f in _flag_fields(config_class)}
  assert defined - set(extra) == fields
  # The names the define functions return are what --help lists.
  assert sorted(names) == sorted(defined)
  for alias, name in ALIASES.items():
    if alias in flag_values:
      assert name in fields


@pytest.mark.parametrize('config_class', sorted(NOT_FLAGS, key=str),
                         ids=lambda c: c.__name__)
def test_only_the_listed_fields_are_not_flags(config_class):
  not_flags = {f.name for f in dataclasses.fields(config_class)
               if not flag_groups.is_flag_field(f)}
  assert not_flags == NOT_FLAGS[config_class]


def _other_value(flag):
  """A valid value of `flag` that differs from its default."""
  default = flag.default
  if flag.flag_type() == 'bool':
    return not default
  enum_values = getattr(flag.parser, 'enum_values', None)
  if enum_values:
    return [v for v in enum_values if v != default][0]
  if isinstance(default, list) or flag.flag_type() == 'list':
    return ['a:1', 'b:2']
  if flag.flag_type() == 'int':
    return (default or 0) + 1 if (default or 0) >= 0 else default - 1
  if flag.flag_type() == 'float':
    return (default or 0.0) + 0.5
  return 'x_%s' % flag.name


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_config_from_flags_reads_every_flag(script):
  config_class, flag_values, _, _ = _script(script)
  expected = {}
  for field in _flag_fields(config_class):
    flag = flag_values[field.name]
    # Set on the Flag itself: this checks the copying, not the validators
    # (--quantize_delay, for one, accepts only its default).
    flag.value = _other_value(flag)
    assert flag.value != flag.default, field.name
    expected[field.name] = flag.value
  config = flag_groups.config_from_flags(config_class, flag_values,
                                         network_kwargs={'k': 1})
  for name, value in sorted(expected.items()):
    assert getattr(config, name) == value, name
  assert config.network_kwargs == {'k': 1}


def test_config_from_flags_raises_on_a_field_without_a_flag():
  config_class, flag_values, _, _ = _script('train')
  with_knob = dataclasses.make_dataclass(
      'KnobConfig', [('new_knob', int, 3)], bases=(config_class,))
  with pytest.raises(ValueError) as raised:
    flag_groups.config_from_flags(with_knob, flag_values)
  message = str(raised.value)
  assert 'KnobConfig.new_knob has no flag --new_knob' in message
  assert '\n' not in message
  # Not a user error: the scripts show it with its traceback.
  assert not isinstance(raised.value, errors.UserError)
  # An override, or declaring the field not a flag, is what fixes it.
  assert flag_groups.config_from_flags(with_knob, flag_values,
                                       new_knob=5).new_knob == 5
  declared = dataclasses.make_dataclass(
      'DeclaredConfig', [('new_knob', int, flag_groups.not_a_flag(3))],
      bases=(config_class,))
  assert flag_groups.config_from_flags(declared, flag_values).new_knob == 3


def test_optimizer_flag_choices_are_the_table():
  _, flag_values, _, _ = _script('train')
  assert flag_values['optimizer'].parser.enum_values == optimizers.names()
  assert sorted(optimizers.OPTIMIZERS) == optimizers.names()
  assert flag_values['optimizer'].default in optimizers.OPTIMIZERS


@pytest.mark.parametrize('name', optimizers.names())
def test_optimizer_entry_reads_flags_its_constructor_takes(name):
  _, flag_values, _, _ = _script('train')
  fields = {f.name for f in _flag_fields(training.TrainConfig)}
  spec = optimizers.OPTIMIZERS[name]
  params = inspect.signature(spec.constructor.__init__).parameters
  for keyword, flag in list(spec.flags.items()) + [
      (k, None) for k in spec.fixed]:
    assert keyword in params, '%s takes no %s' % (spec.constructor, keyword)
    if flag is not None:
      assert flag in flag_values and flag in fields, flag
  # A flag named after the optimizer (--adam_beta1) is one it reads.
  own = {f for f in flag_values if f.startswith(name + '_')}
  assert own <= set(spec.flags.values()), own - set(spec.flags.values())


def test_unknown_optimizer_is_refused_before_the_data_is_read():
  config = training.TrainConfig(optimizer='lamb', dataset_dir='/nonexistent',
                                train_dir='/nonexistent/train')
  with pytest.raises(errors.UserError) as raised:
    training.train(config)
  assert str(raised.value) == (
      "Unknown optimizer 'lamb'; expected one of: %s" %
      ', '.join(optimizers.names()))
