"""Where the test suite's time goes: per test file and the slowest tests, from a pytest JUnit XML report.

    bash tools/run_tests.sh --junitxml=work_dirs/tests.xml
    python tools/test_durations.py work_dirs/tests.xml [--top 60] [--out docs_table.md]

Prints two markdown tables: seconds per test file (with the share of the whole) and the ``--top`` slowest tests.
With ``-n 2`` (pytest-xdist) the times are each test's own, summed over both workers.
"""
import argparse
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple


def read_report(path: str) -> List[Tuple[str, str, float]]:
    """(file, test name, seconds) of every test case in a JUnit XML report."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise SystemExit(f'{path}: not a readable JUnit XML report ({err}); write one with pytest --junitxml=PATH')
    cases = []
    for case in root.iter('testcase'):
        module = case.get('classname', '').split('.')
        file = next((f'{part}.py' for part in module if part.startswith('test_')), '.'.join(module))
        cases.append((file, case.get('name', ''), float(case.get('time', 0.0))))
    if not cases:
        raise SystemExit(f'{path}: the report holds no test case')
    return cases


def tables(cases: List[Tuple[str, str, float]], top: int) -> str:
    total = sum(seconds for _, _, seconds in cases)
    per_file: Dict[str, List[float]] = defaultdict(list)
    for file, _, seconds in cases:
        per_file[file].append(seconds)
    lines = [f'{len(cases)} tests, {total:.0f} s in tests (fixtures included)', '',
             '| test file | tests | seconds | share |', '|---|---:|---:|---:|']
    for file, times in sorted(per_file.items(), key=lambda item: -sum(item[1])):
        lines.append(f'| {file} | {len(times)} | {sum(times):.1f} | {100 * sum(times) / total:.1f}% |')
    lines += ['', f'| the {top} slowest tests | seconds |', '|---|---:|']
    for file, name, seconds in sorted(cases, key=lambda case: -case[2])[:top]:
        lines.append(f'| {file}::{name} | {seconds:.1f} |')
    return '\n'.join(lines) + '\n'


def main(argv: Optional[Sequence[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('report', help='JUnit XML file written by pytest --junitxml')
    parser.add_argument('--top', type=int, default=60, help='how many of the slowest tests to list (default 60)')
    parser.add_argument('--out', help='also write the tables to this markdown file')
    args = parser.parse_args(argv)
    if args.top < 0:
        parser.error(f'--top {args.top}: give 0 or more')
    text = tables(read_report(args.report), args.top)
    sys.stdout.write(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    return text


if __name__ == '__main__':
    main()
