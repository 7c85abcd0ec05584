"""Send everything a run prints to a log file and keep the terminal for a few lines of progress.

mmengine's logger, third-party warnings, pycocotools and data-loader workers all write to the process's
standard output and error (file descriptors 1 and 2, which child processes inherit). Redirecting the
descriptors, and ``sys.stdout`` / ``sys.stderr`` with them (they may have been replaced, e.g. by pytest),
catches all of them; the caller gets a stream on the original terminal.
"""
import contextlib
import os
import sys
from typing import IO, Iterator


def tail(path: str, lines: int = 40) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    if not os.path.isfile(path):
        return ''
    with open(path, errors='replace') as f:
        return ''.join(f.readlines()[-lines:])


@contextlib.contextmanager
def quiet_output(log_file: str) -> Iterator[IO[str]]:
    """Redirects standard output and error (this process and its children) to ``log_file``.

    Yields a text stream on the original standard output. If the body raises, the end of the log is shown
    on the original standard error before the exception propagates, so a failure is never silent.
    """
    os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), 'w', buffering=1)
    python_streams = sys.stdout, sys.stderr
    with open(log_file, 'a', buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log

        def restore() -> None:
            log.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            sys.stdout, sys.stderr = python_streams

        try:
            yield terminal
        except BaseException:
            restore()
            sys.stderr.write(f'--- the last lines of {log_file} ---\n{tail(log_file)}---\n')
            raise
        finally:
            restore()
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()
