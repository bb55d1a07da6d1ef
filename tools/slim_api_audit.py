"""Audits SE-Slim's nets/ against the public API of upstream TF-Slim (issue #13).

The golden is tests/data/slim_api/upstream_public_api.json: for each upstream
module (`nets.resnet_v1`, `nets.mobilenet.conv_blocks`, ...) the public names
of research/slim/nets/ in tensorflow/models, each with its parameter names in
order (functions) or null (constants, classes, aliases). It was written by
hand from the upstream sources named in its `_sources` field; this tool never
reads upstream.

For every name the audit checks that our module has it and, for a function,
that a call written for upstream works on ours: every upstream parameter is
a named parameter of ours (keyword calls), in upstream's relative order
(positional calls), and ours requires no parameter upstream does not take.
Extra parameters of ours with defaults (e.g. `attention_module`) are fine.

Typical use:

    .venv/bin/python tools/slim_api_audit.py            # all modules
    .venv/bin/python tools/slim_api_audit.py nets.vgg   # one module

Prints one line per gap and exits 1 if there is any, else prints a summary
and exits 0.
"""

from __future__ import absolute_import
from __future__ import division
from __future__ import print_function

import importlib
import inspect
import json
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(_ROOT, 'tests', 'data', 'slim_api',
                      'upstream_public_api.json')

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD,
          inspect.Parameter.KEYWORD_ONLY)


def load_golden(path=GOLDEN):
  """Returns `{module: {name: [params] or None}}`, without the `_` fields."""
  with open(path) as f:
    data = json.load(f)
  return {k: v for k, v in data.items() if not k.startswith('_')}


def _parameters(fn):
  """Named parameters of `fn` in order (no *args / **kwargs).

  Unwraps `slim.add_arg_scope` and `functools.wraps` decorators; for a
  `functools.partial` it is the parameters the partial still takes.
  """
  signature = inspect.signature(inspect.unwrap(fn))
  return [p for p in signature.parameters.values() if p.kind in _NAMED]


def parameter_names(fn):
  """The names of `_parameters(fn)`."""
  return [p.name for p in _parameters(fn)]


def check_function(ours, upstream_params):
  """Problems of one function against upstream's parameter list.

  A call written for upstream works on ours if (1) every upstream parameter
  is a named parameter of ours (keyword calls), (2) they come in upstream's
  relative order (positional calls; ours may insert parameters with
  defaults, e.g. `reuse` before `scope` as later Slim does, or append
  `attention_module`), and (3) ours requires no parameter upstream lacks.

  Args:
    ours: our callable.
    upstream_params: upstream's parameter names, in order.

  Returns:
    A list of strings, empty if `ours` passes (1)-(3).
  """
  if not callable(ours):
    return ['is not callable']
  try:
    params = _parameters(ours)
  except (TypeError, ValueError) as e:
    return ['has no inspectable signature (%s)' % e]
  names = [p.name for p in params]
  problems = []
  missing = [p for p in upstream_params if p not in names]
  if missing:
    problems.append('lacks parameter(s) %s; has (%s)' % (
        ', '.join(missing), ', '.join(names)))
  shared = [n for n in names if n in upstream_params]
  expected = [n for n in upstream_params if n in names]
  if shared != expected:
    problems.append('takes upstream parameters in the order (%s); '
                    'upstream: (%s)' % (', '.join(shared),
                                        ', '.join(expected)))
  required = [p.name for p in params
              if p.default is p.empty and p.name not in upstream_params]
  if required:
    problems.append('requires parameter(s) %s that upstream does not take' %
                    ', '.join(required))
  return problems


def audit_module(module_name, names):
  """Problems of one module: a list of `'module.name: problem'` strings."""
  try:
    module = importlib.import_module(module_name)
  except ImportError as e:
    return ['%s: cannot be imported (%s)' % (module_name, e)]
  problems = []
  for name, params in sorted(names.items()):
    if not hasattr(module, name):
      problems.append('%s.%s: missing' % (module_name, name))
      continue
    if params is not None:
      problems.extend('%s.%s: %s' % (module_name, name, p)
                      for p in check_function(getattr(module, name), params))
  return problems


def audit(golden=None, modules=None):
  """Audits `modules` (default all) of `golden`; returns the problem list."""
  golden = load_golden() if golden is None else golden
  problems = []
  for module_name in sorted(modules or golden):
    problems.extend(audit_module(module_name, golden[module_name]))
  return problems


def main(argv):
  golden = load_golden()
  unknown = [m for m in argv if m not in golden]
  if unknown:
    print('Unknown module %r; expected one of: %s' %
          (unknown[0], ', '.join(sorted(golden))), file=sys.stderr)
    return 2
  problems = audit(golden, argv)
  for problem in problems:
    print(problem)
  modules = argv or sorted(golden)
  total = sum(len(golden[m]) for m in modules)
  print('%d upstream names in %d modules; %d gaps' %
        (total, len(modules), len(problems)))
  return 1 if problems else 0


if __name__ == '__main__':
  if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
  sys.exit(main(sys.argv[1:]))
