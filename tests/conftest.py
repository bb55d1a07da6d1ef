"""pytest set-up: the runtime shim runs before any test module imports TF.

`make test` runs the suite on 2 workers (pytest-xdist, `--dist loadgroup`):
tests that share a module fixture, a cached build or a `setUpClass` carry
one `xdist_group` and go to one worker together (largest groups first); the
other tests go one at a time, in collection order, to whichever worker is
nearly idle. Tests marked `long` (a big model's build, a multi-process run)
are collected first, so they overlap each other and the many short ones
instead of one worker finishing a long test while the other has nothing
left to run.
"""
import tf_compat  # pylint: disable=unused-import


def pytest_collection_modifyitems(items):
  # A stable sort: within each group, the files' order stays.
  items.sort(key=lambda item: item.get_closest_marker('long') is None)
