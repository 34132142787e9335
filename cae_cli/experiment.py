"""``cae experiment NAME``: run one collapse experiment (cae_experiments) and write metrics.json, PNG figures
and summary.txt to ``--out``."""
from __future__ import annotations

import argparse

from cae_experiments import EXPERIMENTS
from cae_experiments.runtimes import listing

HELP = "run a collapse experiment (metrics.json, PNG figures, summary.txt); --list lists them"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = "experiments:\n" + listing()
    p.add_argument("name", nargs="?", metavar="NAME", help="experiment to run (see the list below)")
    p.add_argument("--list", action="store_true",
                   help="list the experiments with their measured run times (--quick and full size) and exit")
    p.add_argument("--out", metavar="DIR", help="output folder (default: runs/NAME)")
    p.add_argument("--steps", type=int, default=None,
                   help="training steps per run (default: the experiment's own, smaller with --quick)")
    p.add_argument("--seed", type=int, default=0, help="random seed; a run is reproducible from it (default 0)")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--quick", action="store_true",
                   help="the same experiment, smaller (the size the tests use; --list shows its run time)")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")
    p.add_argument("--checkpoint", metavar="DIR", default=None,
                   help="keep an atomic checkpoint of every run in DIR (not with --sweep)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted experiment from --checkpoint DIR (same results as an "
                        "uninterrupted run with the same seed, bit-identical on CPU)")
    p.add_argument("--overwrite", action="store_true",
                   help="write into an --out folder that already holds files (default: refuse, exit 2)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run the experiment's independent runs on Dask distributed: 'local' (a local cluster, one "
                        "single-threaded worker process per core) or a scheduler address such as "
                        "tcp://host:8786; the same metrics as the serial run (needs the [dist] extra)")
    p.add_argument("--sweep", action="store_true",
                   help="train all lam runs as one vectorised model (cae_core.sweep.fit_sweep: the same runs, equal "
                        "up to float32 rounding amplified by training); only shrinkage and lambda-tradeoff")


def run(args: argparse.Namespace) -> int:
    from cae_cli.main import CLIError, check_device, check_output_dir

    if args.list:
        print(listing())
        return 0
    if args.name is None:
        raise CLIError("give an experiment NAME or --list; experiments: " + ", ".join(EXPERIMENTS))
    if args.name not in EXPERIMENTS:
        raise CLIError(f"unknown experiment {args.name!r}; choose one of: " + ", ".join(EXPERIMENTS))
    if args.steps is not None and args.steps < 1:
        raise CLIError(f"--steps must be >= 1, got {args.steps}")
    if args.seed < 0:
        raise CLIError(f"--seed must be >= 0, got {args.seed}")
    from cae_experiments.runner import check_checkpoint, check_scale_out, check_sweep, leftover_entries

    try:
        check_sweep(args.name, args.sweep)
        check_checkpoint(args.name, args.checkpoint, args.resume, args.sweep)
        check_scale_out(args.name, args.scheduler, args.sweep)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    out = args.out or f"runs/{args.name}"
    check_output_dir(out, "--out")
    leftovers = leftover_entries(out, args.checkpoint)
    if leftovers and not args.overwrite:
        raise CLIError(f"--out {out!r} is not empty ({', '.join(leftovers[:3])}{', ...' if len(leftovers) > 3 else ''});"
                       f" choose another folder or pass --overwrite")
    if args.checkpoint is not None:
        check_output_dir(args.checkpoint, "--checkpoint")
    check_device(args.device)
    if args.scheduler is not None:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            from cae_experiments.distributed import INSTALL_HINT
            raise CLIError(f"--scheduler needs Dask distributed: {INSTALL_HINT}")
    from cae_experiments.runner import Progress, RichProgress, run_experiment
    from cae_experiments import MissingExtraError, get_experiment

    bar = Progress() if args.no_progress else RichProgress(args.name)
    try:
        metrics = run_experiment(args.name, out, steps=args.steps, seed=args.seed, device=args.device,
                                 quick=args.quick, progress=bar, sweep=args.sweep, checkpoint=args.checkpoint,
                                 resume=args.resume, scheduler=args.scheduler, overwrite=args.overwrite)
    except MissingExtraError as exc:     # an experiment's optional extra is not installed: one line, exit 2
        raise CLIError(str(exc)) from None
    except ValueError as exc:
        if not args.resume:
            raise
        # a checkpoint written with other settings (fit and line-collapse check and say which) -- a user error
        raise CLIError(f"cannot resume from --checkpoint {args.checkpoint}: {exc}") from None
    finally:
        if isinstance(bar, RichProgress):
            bar.stop()
    print(get_experiment(args.name).summarize(metrics))
    print(f"wrote {', '.join(metrics['files'])} to {out} ({metrics['wall_time_s']:.1f} s)")
    return 0
