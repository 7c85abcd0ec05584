"""How tools/train.py and tools/test.py end: a one-paragraph error instead of a traceback.

A new user's mistakes (a bad option, file or value) surface as exceptions deep inside mmengine, a
data loader worker or torch; the message is what helps, the traceback is noise. ``--debug`` keeps it.
Third-party import warnings are filtered earlier, when a tool imports mmedit_vit
(``mmedit_vit/utils/warning_filters.py``), so that a tool's console output is its own.
"""
import os
import sys
from typing import Callable, Optional, Sequence

from .run_config import release

DEBUG_FLAG = '--debug'


def explain(err: BaseException) -> str:
    """``Type: message``; for an error re-raised from a data loader worker, the original one only."""
    text = str(err)
    if 'Original Traceback' in text:  # torch's ExceptionWrapper: "Caught X in DataLoader worker ...\nOriginal ..."
        lines = text.splitlines()
        frames = [i for i, line in enumerate(lines) if line.startswith('  ')]
        return '\n'.join(lines[frames[-1] + 1:] if frames else lines)
    return f'{type(err).__name__}: {text}'


def run_tool(main: Callable[[], None], argv: Optional[Sequence[str]] = None) -> None:
    """Runs ``main``; an exception ends the process with status 1 and its message on stderr (the
    traceback too with ``--debug``). On success the distributed process group is closed in order.

    A process of a distributed run then ends at once (``os._exit(0)``, streams flushed): after the
    group is destroyed, interpreter teardown can still destroy a joinable c10d thread and abort the
    rank (``terminate called without an active exception``, SIGABRT) after a complete run.
    """
    debug = DEBUG_FLAG in (sys.argv if argv is None else argv)
    try:
        main()
    except Exception as err:  # noqa: BLE001  (every error: the message, not the traceback)
        if debug:
            raise
        print(f'error: {explain(err)}\n(run again with {DEBUG_FLAG} for the full traceback)', file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        raise SystemExit(1) from None
    release()
    if int(os.environ.get('WORLD_SIZE', '1')) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
