# SPDX-License-Identifier: MIT
"""The ``labkit`` command: doctor, build, run, inspect, debug, bench, grade.

Each subcommand is a thin layer over the library; ``labkit SUBCOMMAND --help`` says what it
does, with an example. ``labkit run`` exits with the app's own exit status.

A mistake on the command line gets one line on stderr, never a Python traceback, and one of
two statuses (docs/labkit-cli.md has the table of bad inputs and their answers):

- :data:`USAGE_STATUS` (2): labkit cannot parse the command line (an unknown option, a size
  that is not one, ``--env`` without ``=``);
- :data:`ERROR_STATUS` (125): the command line is well formed but labkit cannot do it (no
  such file, an app that was never built, no kernel sources, a missing tool, a compiler
  error).

``LABKIT_TRACEBACK=1`` shows the traceback of an unexpected operating-system error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .errors import LabkitError, UsageError

__all__ = ["main", "build_parser", "ERROR_STATUS", "USAGE_STATUS"]

#: Exit status when labkit itself fails (missing file or image, compiler error, no QEMU), as
#: env(1) and timeout(1) use it: the kernel's own statuses are 124 (timeout) and 129 and up.
ERROR_STATUS = 125
#: Exit status for a command line labkit cannot parse (as argparse and most tools use it).
USAGE_STATUS = 2


def _print_err(message: str) -> None:
    print(f"labkit: {message}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: the mistake and where the help is, no usage block."""

    def error(self, message: str) -> NoReturn:
        # argparse before 3.13 names the optional `args` list among the missing with `app`;
        # 3.13 names `app` alone, still with the plural
        message = re.sub(r"arguments are required: app(, args)?$", "argument is required: app",
                         message)
        self.exit(USAGE_STATUS, f"{self.prog}: error: {message} (`{self.prog} --help` "
                                "lists the options)\n")


# ------------------------------------------------------------------------------ values
_SIZE = re.compile(r"(\d+(?:\.\d+)?)(?:([KMGT])(?:i?B)?)?", re.IGNORECASE)


def memory_size(text: str) -> str:
    """A guest RAM size as QEMU's ``-m`` takes it (``128M``, ``1G``, ``512``: MiB without a
    suffix); raises :class:`argparse.ArgumentTypeError` for anything else."""
    m = _SIZE.fullmatch(text.strip())
    if m is None or float(m[1]) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a memory size: give a positive number with an optional K, M or "
            "G suffix, e.g. 128M")
    return f"{m[1]}{(m[2] or 'M').upper()}"


def _positive(kind: type, what: str):
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    convert.__name__ = what  # argparse names the type in some messages
    return convert


_COUNT = _positive(int, "a whole number of 1 or more")
_SECONDS = _positive(float, "a number of seconds above 0")


def env_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` for ``--env``: NAME starts with an upper-case letter (that is how the
    kernel tells a variable from an option) and holds no space."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    if not name[:1].isupper() or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise argparse.ArgumentTypeError(
            f"{name!r} cannot name an environment variable: it must start with an upper-case "
            "letter (that is how the kernel tells it from an option) and hold only letters, "
            "digits and _")
    if any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(f"the value of {name} holds a space, which the "
                                         "kernel command line cannot carry")
    return name, value


# ------------------------------------------------------------------------------ doctor
def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import format_checks, run_checks

    checks = run_checks(kvm=args.kvm)
    print(format_checks(checks))
    failed = [c for c in checks if c.required and not c.ok]
    if failed:
        print(f"\n{len(failed)} problem(s) to fix before the lab works.")
        return 1
    print("\nready.")
    return 0


# ------------------------------------------------------------------------------ build
def cmd_build(args: argparse.Namespace) -> int:
    from .build import build
    from .errors import BuildError

    try:
        build(args.targets, jobs=args.jobs, echo=True)
    except BuildError as exc:      # make printed its own messages to the terminal
        raise BuildError(f"{exc}: make's own messages are above; fix the first error they "
                         "name, then run `labkit build` again") from None
    return 0


# ------------------------------------------------------------------------------ run
def _machine_options(args: argparse.Namespace) -> dict:
    options: dict = {"machine": args.machine, "memory": args.memory, "smp": args.smp}
    if args.icount:
        options["icount"] = 0
    if args.metrics:
        options["options"] = {"metrics": args.metrics}
    if args.env:
        options["env"] = dict(args.env)
    if args.kernel:
        options["kernel"] = Path(args.kernel)
    return options


def _resolve_app(app: str, data_files: Sequence[str] = ()) -> tuple[str, dict, Path | None]:
    """An app name, a C source to compile or a ``.so`` to pack; returns (app name, extra
    Machine options, the app's object file when labkit made or was given one)."""
    if not app.strip():
        raise UsageError("the app name is empty: name a built app (hello), a C file or a .so")
    if app.endswith(".c"):
        from .build import compile_app

        compiled = compile_app(app, data_files=data_files)
        if compiled.warnings:
            print(compiled.warnings.rstrip(), file=sys.stderr)
        print(f"labkit: compiled {app} -> {compiled.object}", file=sys.stderr)
        return compiled.name, {"initrd": compiled.archive}, compiled.object
    if app.endswith(".so"):
        from .build import pack_object

        packed = pack_object(app, data_files)
        return packed.name, {"initrd": packed.archive}, packed.object
    from . import paths

    if "/" in app or (Path(app).exists() and not (paths.images_dir() / f"{app}.cpio").is_file()):
        raise LabkitError(f"{app}: not something labkit boots: name a built app (hello), a C "
                          "file (my.c) or an app object (my.so)")
    if data_files:
        raise UsageError("--data packs files with a C file or a .so; a built app's archive "
                         f"({app}) is fixed: rebuild it with its files instead")
    return app, {}, None


async def _add_accel(options: dict, requested: str) -> None:
    from .accel import choose_accel_async

    accel, why = await choose_accel_async(requested)
    options["accel"] = accel
    if requested != "tcg":
        _print_err(f"accelerator: {accel} ({why})")


async def _run(args: argparse.Namespace) -> int:
    from .machine import Machine
    from .outcome import Exited, Panicked

    app, extra, _ = _resolve_app(args.app, args.data)
    options = {**_machine_options(args), **extra}
    await _add_accel(options, args.accel)
    machine = Machine(app, *args.args, echo=None if args.quiet else sys.stdout, **options)
    if args.explain:
        print(machine.explain(), file=sys.stderr)
    async with machine:
        outcome = await machine.wait(args.timeout)
    if args.events:
        for event in machine.events.events:
            print(f"event: {event}", file=sys.stderr)
    if isinstance(outcome, Exited):
        if args.verbose:
            _print_err(outcome.describe())
    else:
        _print_err(outcome.describe() if not isinstance(outcome, Panicked) or outcome.panic is
                   None else f"kernel panic in {outcome.function or '?'}: "
                             f"{outcome.panic.exception or outcome.panic.message or ''}")
    if args.verbose and machine.wall_time is not None:
        _print_err(f"wall time {machine.wall_time * 1000:.0f} ms ({machine.accel})")
    return outcome.status


def cmd_run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


# ------------------------------------------------------------------------------ inspect
def cmd_inspect(args: argparse.Namespace) -> int:
    from .elf import bind_imports, load_elf
    from .render import bindings_text, elf_text

    image = load_elf(args.file)
    parts = args.show or ["summary", "segments", "sections", "symbols", "dynamic", "relocs"]
    print(elf_text(image, parts=parts, limit=args.limit))
    if image.is_shared_object and ("imports" in parts or not args.show):
        kernel = Path(args.kernel) if args.kernel else None
        if kernel is None:
            candidate = Path(__file__).resolve().parent.parent / "images" / "kernel.elf"
            kernel = candidate if candidate.is_file() else None
        if kernel is not None:
            print()
            print(bindings_text(bind_imports(image, load_elf(kernel))))
    return 0


# ------------------------------------------------------------------------------ debug
async def _debug(args: argparse.Namespace) -> int:
    from . import paths
    from .debugger import predict_app_base
    from .machine import Machine
    from .outcome import Killed

    app, extra, so = _resolve_app(args.app, args.data)
    options = {**_machine_options(args), **extra, "paused": True, "gdb": True}
    await _add_accel(options, args.accel)
    machine = Machine(app, *args.args, echo=sys.stdout, **options)
    async with machine:
        so_path = so or paths.app_object(app)
        base = predict_app_base(machine)
        command = machine.gdb_command(so_path if so_path.is_file() else None, base)
        print("labkit: the machine is paused at its first instruction; attach gdb with:",
              file=sys.stderr)
        print(shlex.join(command), flush=True)
        print(f"labkit: (QEMU pid {machine.pid}; Ctrl-C ends it)", file=sys.stderr, flush=True)
        if args.gdb:
            proc = await asyncio.create_subprocess_exec(*command)
            await proc.wait()
            if machine.state.alive:   # gdb quit or detached: debugging is over
                await machine.kill()
                _print_err("gdb ended; the machine was stopped")
                return 0
        outcome = await machine.wait(args.timeout)
    if isinstance(outcome, Killed) and outcome.signal is None and machine.qemu_status == 0:
        # gdb's `kill` makes QEMU exit(0) at once: no QMP event, no guest exit
        _print_err("the debugger ended the machine (gdb's kill)")
        return 0
    _print_err(outcome.describe())
    return outcome.status


def cmd_debug(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_debug(args))
    except KeyboardInterrupt:
        return 130


# ------------------------------------------------------------------------------ bench
def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import (
        GROUPS,
        BenchSettings,
        _print_progress,
        format_result,
        load_result,
        plot_result,
        run_suite,
        update_markdown,
    )

    if args.load:
        result = load_result(args.load)
    else:
        options = {"machine": args.machine, "memory": args.memory, "linux": not args.no_linux}
        if args.runs:
            options["runs"] = args.runs
        if args.iterations:
            options["iterations"] = args.iterations
        if args.only:
            options["groups"] = tuple(g for g in GROUPS if g in args.only)
        settings = (BenchSettings.quick_settings(**options) if args.quick
                    else BenchSettings(**options))
        result = run_suite(settings, progress=None if args.silent else _print_progress)
        words = ["labkit bench"] + [w for w, on in (("--quick", args.quick),
                                                     ("--no-linux", args.no_linux)) if on]
        if args.runs:
            words.append(f"--runs {args.runs}")
        words += [f"--only {g}" for g in args.only or ()]
        if args.machine != "pc":
            words.append(f"--machine {args.machine}")
        result.info["command"] = " ".join(words)
    print(format_result(result, details=not args.brief))
    if args.json and not args.load:
        Path(args.json).write_text(result.to_json())
        print(f"\nwrote {args.json}")
    if args.plot:
        plot_result(result, args.plot)
        print(f"wrote {args.plot}")
    if args.markdown:
        if not update_markdown(args.markdown, result):
            raise LabkitError(f"{args.markdown} has no '<!-- labkit bench: begin -->' and "
                              "'<!-- labkit bench: end -->' lines to write between")
        print(f"updated {args.markdown}")
    return 1 if result.failed else 0


# ------------------------------------------------------------------------------ grade
def _progress_line(verbose: bool):
    """Where grading progress goes: one line rewritten in place on a terminal, else only the
    notebook lines (every cell with --verbose)."""
    tty = sys.stderr.isatty()

    def show(message: str) -> None:
        if tty:
            width = shutil.get_terminal_size((100, 20)).columns - 1
            print(f"\r\x1b[K{message[:width]}", end="" if not verbose else "\n",
                  file=sys.stderr, flush=True)
        elif verbose or message.startswith(("running", "checking")):
            print(f"labkit grade: {message}", file=sys.stderr, flush=True)

    return show


def cmd_grade(args: argparse.Namespace) -> int:
    from .grade import format_report, grade, select

    exercises = select(args.exercises)
    if args.list:
        for e in exercises:
            print(f"{e.key:<28} {e.points:g} point(s)  {e.notebook:<30} {e.title}"
                  + ("  (boots your code)" if e.boots else ""))
        return 0
    show = _progress_line(args.verbose)
    report = grade(exercises, args.notebooks, args.report, cell_timeout=args.cell_timeout,
                   check_timeout=args.check_timeout, skip_solutions=args.skip_solutions,
                   progress=show)
    if sys.stderr.isatty():
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    json_path = Path(args.json) if args.json else Path(args.report) / "grade.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(report.to_json())
    print(format_report(report))
    print(f"report: {json_path} (logs and executed notebooks in {args.report}/)")
    return 0 if report.all_passed else 1


def cmd_student_copy(args: argparse.Namespace) -> int:
    """Runs ``scripts/student_copy.py`` of this repository (it needs no labkit, so that an
    instructor can also run it alone)."""
    import importlib.util

    from . import paths

    script = paths.repo_root() / "scripts" / "student_copy.py"
    if not script.is_file():
        raise LabkitError(f"{script} not found: `labkit student-copy` needs the lab's "
                          "repository (set LABKIT_ROOT to it)")
    spec = importlib.util.spec_from_file_location("student_copy", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    argv = [args.out] + (["--notebooks", args.notebooks] if args.notebooks else [])
    return int(module.main(argv))


# ------------------------------------------------------------------------------ parser
def _add_machine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("app", help="app name (images/APP.cpio), a C file (my.c) or an app .so")
    p.add_argument("args", nargs="*", help="arguments for the app (after --)")
    p.add_argument("--machine", choices=("pc", "q35", "microvm"), default="pc",
                   help="QEMU machine type (default pc)")
    p.add_argument("--memory", "-m", default="128M", type=memory_size,
                   help="guest RAM (default 128M)")
    p.add_argument("--smp", type=_COUNT, default=1,
                   help="virtual CPUs (default 1)")
    p.add_argument("--accel", choices=("tcg", "kvm", "auto"), default="tcg",
                   help="tcg (default), kvm, or auto (probe KVM with a short boot)")
    p.add_argument("--icount", action="store_true",
                   help="-icount shift=0: the TSC counts guest instructions exactly")
    p.add_argument("--metrics", type=_COUNT, metavar="MS",
                   help="COM2 metric sample every MS ms")
    p.add_argument("--env", action="append", metavar="NAME=VALUE", type=env_assignment,
                   help="environment variable for the app (repeatable)")
    p.add_argument("--data", action="append", default=[], metavar="FILE",
                   help="data file to pack with a compiled app (repeatable)")
    p.add_argument("--kernel", help="kernel ELF to boot (default images/kernel.elf)")
    p.add_argument("--timeout", type=_SECONDS,
                   default=60.0,
                   help="kill the machine after this many seconds (default 60)")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="labkit", formatter_class=fmt,
        description="The unikernel lab's bench: build, boot, inspect and debug the kernel.",
        epilog="examples:\n  labkit doctor\n  labkit build\n  labkit run hello -- 3\n"
               "  labkit run my.c\n  labkit inspect images/apps/hello.so\n  labkit debug hello")
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="check that this machine is ready for the lab",
                       formatter_class=fmt,
                       description="Check QEMU, the compiler, graphviz, the runtime folder and "
                                   "(with --kvm) whether KVM really works; print the fix for "
                                   "each problem.", epilog="example:\n  labkit doctor --kvm")
    p.add_argument("--kvm", action="store_true", help="probe KVM with a short boot")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("build", help="build the kernel, apps and boot archives (make -C kernel)",
                       formatter_class=fmt,
                       description="Run the kernel Makefile, which writes images/.",
                       epilog="example:\n  labkit build\n  labkit build -j2")
    p.add_argument("targets", nargs="*", help="make targets (default: all)")
    p.add_argument("-j", "--jobs", type=_COUNT, help="parallel make jobs")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("run", help="boot an app and exit with its status", formatter_class=fmt,
                       description="Boot the kernel with an app; the console goes to stdout "
                                   "and labkit exits with the app's exit status. A C file is "
                                   "compiled against the kernel's libc first. A panic prints "
                                   "the kernel's dump and exits with 255.",
                       epilog="examples:\n  labkit run hello\n  labkit run hello -- 3\n"
                              "  labkit run --machine microvm --icount hello\n"
                              "  labkit run my.c -- some args")
    _add_machine_args(p)
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the console")
    p.add_argument("--verbose", "-v", action="store_true", help="print outcome and wall time")
    p.add_argument("--events", action="store_true", help="print the COM2 events at the end")
    p.add_argument("--explain", action="store_true", help="print the QEMU command, explained")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("inspect", help="show the ELF tables of the kernel or an app",
                       formatter_class=fmt,
                       description="Print sections, segments, symbols, the dynamic section, "
                                   "relocations and, for an app, which kernel symbol each of "
                                   "its undefined symbols binds to.",
                       epilog="examples:\n  labkit inspect images/kernel.elf --show segments\n"
                              "  labkit inspect images/apps/hello.so --show imports")
    p.add_argument("file", help="an ELF file")
    p.add_argument("--show", action="append",
                   choices=("summary", "segments", "sections", "symbols", "dynamic", "relocs",
                            "imports"), help="which table (repeatable; default: all)")
    p.add_argument("--kernel", help="kernel ELF to bind app imports against")
    p.add_argument("--limit", type=int, default=0, help="at most this many rows per table")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("debug", help="boot paused with the GDB stub; print the gdb command",
                       formatter_class=fmt,
                       description="Start the machine paused at its first instruction with "
                                   "QEMU's GDB stub on a private unix socket, and print the "
                                   "exact gdb command line that attaches with kernel and app "
                                   "symbols. --gdb runs that gdb right away.",
                       epilog="examples:\n  labkit debug hello\n  labkit debug --gdb hello -- 3")
    _add_machine_args(p)
    p.add_argument("--gdb", action="store_true", help="run gdb attached to the machine")
    p.set_defaults(func=cmd_debug, timeout=None)

    p = sub.add_parser("bench", help="unikernel vs Linux: sizes, boot, syscalls, memory, net, "
                                     "balloon", formatter_class=fmt,
                       description="Measure the unikernel and a Linux guest side by side, in "
                                   "the same run: image sizes, boot (instructions under "
                                   "-icount, wall time as a ratio to QEMU's own floor), "
                                   "getpid() and write() in instructions, the smallest -m that "
                                   "boots hello, UDP echo and HTTP, real clients (wrk, ab, "
                                   "redis-benchmark), balloon inflate/deflate. "
                                   "Prints a table; --json writes the record "
                                   "(docs/benchmarks.md describes it), --plot a figure. Exits "
                                   "1 if a part failed (a part that is not available here is "
                                   "skipped, and said so).",
                       epilog="examples:\n  labkit bench\n"
                              "  labkit bench --json out.json --plot docs/benchmarks.png\n"
                              "  labkit bench --load out.json --brief\n"
                              "  labkit bench --quick --only boot --only syscall")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    p.add_argument("--plot", metavar="FILE", help="also draw the comparisons (PNG, SVG ...)")
    p.add_argument("--markdown", metavar="FILE",
                   help="also write the table between the 'labkit bench' markers of FILE")
    p.add_argument("--load", metavar="JSON",
                   help="measure nothing: print (and --plot, --markdown) a saved record")
    p.add_argument("--runs", type=_COUNT, help="wall-time runs per figure, median (default 5)")
    p.add_argument("--machine", choices=("pc", "q35", "microvm"), default="pc")
    p.add_argument("--memory", "-m", default="128M", type=memory_size,
                   help="guest RAM (default 128M)")
    p.add_argument("--iterations", type=_COUNT, help="syscall_bench iterations (default 20000)")
    p.add_argument("--only", action="append", metavar="GROUP",
                   choices=("size", "boot", "syscall", "memory", "net", "clients", "balloon"),
                   help="run only this group (repeatable)")
    p.add_argument("--quick", action="store_true",
                   help="for tests: one wall run, fewer iterations, no bisection, net or balloon")
    p.add_argument("--no-linux", action="store_true", help="the unikernel alone")
    p.add_argument("--brief", action="store_true", help="only the comparison table")
    p.add_argument("--silent", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("grade", help="run the exercises' checks on the notebooks: points, a "
                                     "score, a JSON report", formatter_class=fmt,
                       description="Run each notebook that holds a chosen exercise from top to "
                                   "bottom in a fresh kernel (a timeout per cell; a failing "
                                   "cell does not stop the run), then call every chosen "
                                   "exercise's check on the answer the notebook holds, as "
                                   "xv6's `make grade` does: points per exercise and a total. "
                                   "Writes REPORT/grade.json, a console log per failing check "
                                   "(REPORT/logs/) and the executed notebooks "
                                   "(REPORT/notebooks/). Exits 0 when every check passed, 1 "
                                   "otherwise.",
                       epilog="examples:\n  labkit grade\n  labkit grade lesson00\n"
                              "  labkit grade lesson02.cr4 03 --json grade.json\n"
                              "  labkit grade --notebooks ~/student-copy --skip-solutions\n"
                              "  labkit grade --list")
    p.add_argument("exercises", nargs="*", metavar="EXERCISE",
                   help="lessonNN or NN (a lesson), lessonNN.NAME or NAME (one exercise); "
                        "default: all")
    p.add_argument("--json", metavar="FILE", help="write the report here (default "
                                                  "REPORT/grade.json)")
    p.add_argument("--notebooks", metavar="DIR",
                   help="the student's notebooks (default: the repository's notebooks/)")
    p.add_argument("--report", metavar="DIR", default="grade-report",
                   help="folder for the report, logs and executed notebooks "
                        "(default grade-report)")
    p.add_argument("--skip-solutions", action="store_true",
                   help="leave out the cells tagged 'solution' (grade the student's answers "
                        "in the full notebooks)")
    p.add_argument("--cell-timeout", type=_COUNT, default=120, metavar="S",
                   help="seconds per notebook cell (default 120)")
    p.add_argument("--check-timeout", type=_COUNT, default=300, metavar="S",
                   help="seconds per check (default 300)")
    p.add_argument("--list", action="store_true", help="list the exercises and their points")
    p.add_argument("--verbose", "-v", action="store_true", help="a line for every cell")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("student-copy", help="write the lessons without their solutions "
                                            "(scripts/student_copy.py)", formatter_class=fmt,
                       description="Copy the lessons into OUT without the cells tagged "
                                   "'solution' and the folded discussions, outputs stripped, "
                                   "with an empty work/ folder; the check cells stay. Exits 1 "
                                   "if any solution text survived.",
                       epilog="example:\n  labkit student-copy ~/student-copy\n"
                              "  labkit grade --notebooks ~/student-copy")
    p.add_argument("out", metavar="OUT", help="folder to write the copy into")
    p.add_argument("--notebooks", metavar="DIR",
                   help="the lessons to copy (default: the repository's notebooks/)")
    p.set_defaults(func=cmd_student_copy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        _print_err(str(exc))
        return USAGE_STATUS
    except LabkitError as exc:
        _print_err(str(exc))
        return ERROR_STATUS
    except KeyboardInterrupt:
        _print_err("interrupted")
        return 130
    except BrokenPipeError:  # `labkit inspect ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a folder that cannot be written, a full disk: one line
        if os.environ.get("LABKIT_TRACEBACK") == "1":
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        _print_err(f"{where}{exc.strerror or exc}")
        return ERROR_STATUS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
