"""How the suite is split between pytest-xdist workers (``--dist loadgroup``), as a conftest hook.

The end-to-end (slow) tests go first, so that the long ones start early and short ones fill the end of a
parallel run. The tests that share one of this project's fixtures run on one worker, which builds the fixture
once: a session fixture's users (across files) together, else a module's tests that share a module-scoped
fixture (a training, generated data). Without the groups every worker would build each shared fixture itself.

pytest-xdist reads the groups in its own ``pytest_collection_modifyitems``, which runs before a conftest's
unless the conftest's is ``tryfirst``; with pytest 9.2 it cannot attach them at all (pytest-xdist #1386),
hence the pin in requirements/constraints.txt. tests/test_parallel_suite.py checks both.
"""
import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)  # stable: file order otherwise
    for item in items:
        shared = {name: defs[-1].scope for name, defs in getattr(item, '_fixtureinfo').name2fixturedefs.items()
                  if defs and defs[-1].scope in ('module', 'package', 'session') and defs[-1].baseid}
        sessions = sorted(name for name, scope in shared.items() if scope == 'session')
        if sessions:
            item.add_marker(pytest.mark.xdist_group('session-' + sessions[0]))
        elif shared:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split('::')[0]))
