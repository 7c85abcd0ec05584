"""The ``torch.compile`` modes a ``--compile MODE`` flag accepts (torch + its inductor only)."""


def check_compile_mode(mode: str) -> None:
    """Raises ValueError naming the allowed modes when ``mode`` is not one of ``torch.compile``'s."""
    if mode == 'default':
        return
    from torch._inductor import list_mode_options  # about a second to import: only when a mode is asked for
    modes = tuple(list_mode_options())
    if mode not in modes:
        raise ValueError(f'--compile {mode!r} is not a torch.compile mode; choose one of {modes}')
