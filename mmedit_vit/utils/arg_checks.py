"""Constructor argument checks: a value of the wrong type or out of range stops with a message naming it.

Python lets ``True`` pass for a count (``bool`` is an ``int``) and configs give strings where numbers
were meant; either would otherwise build a different model than the one written, or fail far from the
config. Each check names the argument, the value and what is allowed. A wrong type raises
``ArgumentTypeError``, which is both a ``TypeError`` and a ``ValueError`` (so callers that catch
``ValueError`` for bad configs catch it too); a value out of range raises ``ValueError``.
"""
import inspect
import math
import numbers
from typing import Any, Callable, Iterable, Mapping, Optional

Check = Callable[[str, Any], None]


class ArgumentTypeError(TypeError, ValueError):
    """An argument has the wrong type; the message names it and the type allowed."""


def _interval(min: Optional[float], max: Optional[float], min_open: bool, max_open: bool) -> str:
    if min is not None and max is not None:
        return f' in {"(" if min_open else "["}{min}, {max}{")" if max_open else "]"}'
    if min is not None:
        return f' {">" if min_open else ">="} {min}'
    if max is not None:
        return f' {"<" if max_open else "<="} {max}'
    return ''


def _check_range(name: str, value, what: str, min, max, min_open: bool, max_open: bool) -> None:
    low = min is not None and (value <= min if min_open else value < min)
    high = max is not None and (value >= max if max_open else value > max)
    if low or high:
        raise ValueError(f'{name}={value!r} must be {what}{_interval(min, max, min_open, max_open)}')


def is_int(value: Any) -> bool:
    """An integer that is not a bool (numpy integers included)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, _np_bool()))


def _np_bool():
    try:
        import numpy as np
        return np.bool_
    except ImportError:  # pragma: no cover
        return bool


def check_int(name: str, value: Any, min: Optional[int] = None, max: Optional[int] = None,
              optional: bool = False) -> None:
    """``value`` is an integer (not a bool, not a float) in ``[min, max]``; None passes when ``optional``."""
    if optional and value is None:
        return
    if not is_int(value):
        extra = ', not a bool' if isinstance(value, (bool, _np_bool())) else ''
        allowed = 'an integer' + _interval(min, max, False, False) + (' or None' if optional else '')
        raise ArgumentTypeError(f'{name}={value!r} must be {allowed}{extra}')
    _check_range(name, value, 'an integer', min, max, False, False)


def check_float(name: str, value: Any, min: Optional[float] = None, max: Optional[float] = None,
                min_open: bool = False, max_open: bool = False, optional: bool = False) -> None:
    """``value`` is a finite real number (an integer passes, a bool does not) within the bounds; None passes
    when ``optional``. ``min_open`` / ``max_open`` exclude the bound itself."""
    if optional and value is None:
        return
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, _np_bool())):
        allowed = 'a number' + _interval(min, max, min_open, max_open) + (' or None' if optional else '')
        raise ArgumentTypeError(f'{name}={value!r} must be {allowed}')
    if not math.isfinite(value):
        raise ValueError(f'{name}={value!r} must be a finite number{_interval(min, max, min_open, max_open)}')
    _check_range(name, value, 'a number', min, max, min_open, max_open)


def check_bool(name: str, value: Any, optional: bool = False) -> None:
    """``value`` is True or False (not 0, 1 or a string); None passes when ``optional``."""
    if optional and value is None:
        return
    if not isinstance(value, (bool, _np_bool())):
        raise ArgumentTypeError(f'{name}={value!r} must be True or False' + (' or None' if optional else ''))


def check_choice(name: str, value: Any, choices: Iterable) -> None:
    """``value`` is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f'{name}={value!r} is not supported; choose one of {choices}')


def check_ints(name: str, value: Any, min: Optional[int] = None, max: Optional[int] = None,
               length: Optional[int] = None, scalar_ok: bool = False, empty_ok: bool = True,
               optional: bool = False) -> None:
    """``value`` is a list or tuple of integers in ``[min, max]`` (of ``length`` items if given); a single
    integer passes too when ``scalar_ok``, None when ``optional``."""
    if optional and value is None:
        return
    if scalar_ok and is_int(value):
        _check_range(name, value, 'an integer', min, max, False, False)
        return
    what = 'a list or tuple of integers' + _interval(min, max, False, False)
    if length is not None:
        what = f'{length} integers' + _interval(min, max, False, False)
    if scalar_ok:
        what = 'an integer or ' + what
    if not isinstance(value, (list, tuple)) or not all(is_int(v) for v in value):
        raise ArgumentTypeError(f'{name}={value!r} must be {what}')
    if (length is not None and len(value) != length) or (not empty_ok and not value):
        raise ValueError(f'{name}={value!r} must be {what}' + ('' if empty_ok else ' (at least one)'))
    if any((min is not None and v < min) or (max is not None and v > max) for v in value):
        raise ValueError(f'{name}={value!r} must be {what}')


def check_floats(name: str, value: Any, length: Optional[int] = None, min: Optional[float] = None,
                 min_open: bool = False) -> None:
    """``value`` is a list or tuple of finite numbers (of ``length`` items if given), each above ``min``."""
    what = (f'{length} numbers' if length is not None else 'a list or tuple of numbers') + _interval(
        min, None, min_open, False)
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, _np_bool())) for v in value):
        raise ArgumentTypeError(f'{name}={value!r} must be {what}')
    if length is not None and len(value) != length:
        raise ValueError(f'{name}={value!r} must be {what}')
    if not all(math.isfinite(v) and (min is None or (v > min if min_open else v >= min)) for v in value):
        raise ValueError(f'{name}={value!r} must be {what}, finite')



def check_arguments(init: Callable, args: tuple, kwargs: dict, checks: Mapping[str, Check]) -> None:
    """Runs ``checks[name](name, value)`` on every argument of a call to ``init`` that has a check.

    For a subclass whose ``__init__`` hands its arguments on to a parent's (mmseg's heads, mmengine's hooks
    and loops): ``init`` is the parent's bound ``__init__``; arguments caught by its ``**kwargs`` are
    checked by name as well.
    """
    signature = inspect.signature(init)
    arguments = dict(signature.bind_partial(*args, **kwargs).arguments)
    for param in signature.parameters.values():
        if param.kind is param.VAR_KEYWORD:
            arguments.update(arguments.pop(param.name, {}))
    for name, value in arguments.items():
        if name in checks:
            checks[name](name, value)
