"""Entry point of the ``cae`` console script.

Each subcommand lives in its own module ``cae_cli.<name>`` exposing ``HELP: str``, ``add_arguments(parser)``
and ``run(args) -> int``. Modules import heavy dependencies (torch) inside ``run`` only, so ``cae --help``
and ``cae verify`` stay fast and torch-free.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading

SUBCOMMANDS = ("verify", "experiment", "bench", "demo")


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2, no traceback."""


def check_writable_file(path: str, flag: str) -> None:
    """Fail fast, before any long run, if the output file ``path`` (given as ``flag``) cannot be written."""
    if os.path.isdir(path):
        raise CLIError(f"{flag} {path!r} is a directory, not a file")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"{flag} {path!r}: directory {parent!r} does not exist")
    existed = os.path.exists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise CLIError(f"{flag} {path!r} is not writable: {exc.strerror}") from None
    if not existed:
        os.remove(path)


def check_output_dir(path: str, flag: str) -> None:
    """Fail fast if the output folder ``path`` (given as ``flag``) cannot be created or written."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise CLIError(f"{flag} {path!r} exists and is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"{flag} {path!r} cannot be created: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CLIError(f"{flag} {path!r} is not writable")


def check_device(device: str, flag: str = "--device") -> None:
    """Fail fast with one line if torch cannot allocate on ``device`` (e.g. 'cuda' on a CPU-only torch, which
    raises AssertionError inside torch)."""
    import torch

    try:
        torch.empty(1, device=device)
    except (RuntimeError, ValueError, AssertionError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CLIError(f"{flag} {device!r} is not usable: {first}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cae",
        description="cae-verify: executable checks of the coupled-autoencoder propositions "
                    "(Gala et al., NeurIPS 2019, supplement) and collapse experiments.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"cae_cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cae_cli.{name}":
                raise
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


#: Files being written when an interrupt arrives; removed before the process exits (see write_atomically).
_PARTIAL_FILES: set[str] = set()


def _exit_on_interrupt(command: str | None):
    """A SIGINT handler that ends the process at once: one line on stderr, exit status 130.

    A KeyboardInterrupt raised by Python's default handler is not reliable here: when it lands inside a
    garbage-collector callback (Hypothesis installs one), Python prints "Exception ignored in ..." and goes
    on, so the run would finish, exit 0 and rewrite its outputs. Exiting from the handler cannot be swallowed.
    Outputs are written atomically (temporary file, then rename), so an earlier result is either untouched or
    replaced by a complete new one; a partial temporary file is removed first."""
    def handler(signum, frame):
        for path in list(_PARTIAL_FILES):
            try:
                os.unlink(path)
            except OSError:
                pass
        os.write(2, f"{'cae ' + command if command else 'cae'}: interrupted\n".encode())
        os._exit(130)
    return handler


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename, so that an
    interrupted write never leaves a truncated file in place of an earlier one."""
    tmp = f"{path}.tmp-{os.getpid()}"
    _PARTIAL_FILES.add(tmp)
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        _PARTIAL_FILES.discard(tmp)
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    # Ctrl-C at any moment of `cae verify` (and while any command parses its arguments and imports its
    # modules): one line, exit 130. Other commands keep Python's KeyboardInterrupt while they run, which their
    # checkpointing handles. Only the main thread may set signal handlers (in-process callers elsewhere keep
    # theirs).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if in_main_thread else None
    if in_main_thread:
        words = sys.argv[1:] if argv is None else argv
        signal.signal(signal.SIGINT, _exit_on_interrupt(next((w for w in words if w in SUBCOMMANDS), None)))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "_run"):
            parser.print_help()
            return 2
        if in_main_thread:
            signal.signal(signal.SIGINT, _exit_on_interrupt(args.command) if args.command == "verify"
                          else signal.default_int_handler)
        try:
            return int(args._run(args))
        except CLIError as exc:
            print(f"cae {args.command}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print(f"cae {args.command}: interrupted", file=sys.stderr)
            return 130
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
