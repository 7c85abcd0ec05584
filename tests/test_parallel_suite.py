"""The suite's split between pytest-xdist workers (tests/xdist_groups.py): a shared fixture is built once.

A generated suite of three files with this project's hook runs on 2 workers (``--dist loadgroup``, as
tools/run_tests.sh runs the suite): a session fixture used by tests in two files and a module fixture used
by two tests of a third must each be built once, however the tests are dealt out.
"""
import os
import subprocess
import sys

from conftest import ROOT

CONFTEST = '''
import os
import time

import pytest

from xdist_groups import pytest_collection_modifyitems  # noqa: F401


def built(name):
    open(os.path.join(os.path.dirname(__file__), f'built_{name}_{os.environ["PYTEST_XDIST_WORKER"]}_{time.time()}'),
         'w').close()
    time.sleep(0.5)  # long enough for the other worker to ask for it too


@pytest.fixture(scope='session')
def trained():
    built('trained')
'''
FILES = {
    'test_a.py': 'def test_a1(trained): pass\ndef test_a2(): pass\ndef test_a3(): pass\n',
    'test_b.py': 'import pytest\n\n@pytest.mark.slow\ndef test_b1(trained): pass\ndef test_b2(): pass\n',
    'test_c.py': ('import pytest\nfrom conftest import built\n\n@pytest.fixture(scope="module")\ndef data():\n'
                  '    built("data")\n\ndef test_c1(data): pass\ndef test_c2(): pass\ndef test_c3(data): pass\n'),
}


def test_shared_fixtures_are_built_once_on_two_workers(tmp_path):
    (tmp_path / 'conftest.py').write_text(CONFTEST)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([os.path.join(ROOT, 'tests'), str(tmp_path)])}
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-n', '2', '--dist',
                           'loadgroup', '-o', 'markers=slow', str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert '8 passed' in proc.stdout
    built = sorted(p.name.split('_')[1] for p in tmp_path.glob('built_*'))
    assert built == ['data', 'trained'], built  # twice where the groups are lost (one build per worker)
