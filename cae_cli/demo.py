"""``cae demo``: watch the collapse in well under a minute. The same two linear arms are trained four ways (no
coupling, mse, batch norm + mse, msv; cae_experiments.demo); the command prints what happened and writes a still
(start and end) and an animation of the codes during training."""
from __future__ import annotations

import argparse
import json
import os

HELP = "train four small models side by side and write a still and an animation of their codes (under a minute)"

DEFAULT_DIR = os.path.join("runs", "demo")

#: DemoConfig field -> the flag that sets it (for error messages).
FLAGS = {"steps": "--steps", "snapshots": "--frames", "lam": "--lam", "seed": "--seed"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from cae_experiments.demo import DemoConfig

    d = DemoConfig()
    p.add_argument("--animate", metavar="PATH", default=os.path.join(DEFAULT_DIR, "codes.gif"),
                   help="animation of the codes during training: .gif, or .mp4 where ffmpeg is installed "
                        "(default %(default)s)")
    p.add_argument("--figure", metavar="PATH", default=os.path.join(DEFAULT_DIR, "codes.png"),
                   help="still of the codes at the start and at the end, PNG (default %(default)s)")
    p.add_argument("--json", metavar="PATH", default=None,
                   help="also write the configuration and the collapse measures of every snapshot as JSON")
    p.add_argument("--steps", type=int, default=d.steps, help="Adam steps per model (default %(default)s)")
    p.add_argument("--frames", type=int, default=d.snapshots,
                   help="snapshots after step 0, denser early (default %(default)s)")
    p.add_argument("--lam", type=float, default=d.lam, help="coupling weight lambda of Eq. 1 (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    p.add_argument("--device", default=d.device, help="torch device (default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="do not draw the progress bar")


def run(args: argparse.Namespace) -> int:
    from cae_cli.main import CLIError, check_device, check_writable_file
    from cae_experiments.animation import check_animation_path, start_end_figure, write_animation
    from cae_experiments.demo import DemoConfig, run_demo

    try:
        config = DemoConfig(steps=args.steps, snapshots=args.frames, lam=args.lam, seed=args.seed,
                            device=args.device)
    except (TypeError, ValueError) as exc:
        field = str(exc).split()[0]
        raise CLIError(str(exc).replace(field, FLAGS.get(field, field), 1)) from None
    try:
        check_animation_path(args.animate)
    except ValueError as exc:
        raise CLIError(f"--animate: {exc}") from None
    if not args.figure.lower().endswith(".png"):
        raise CLIError(f"--figure must be a .png path, got {args.figure!r}")
    outputs = [(args.animate, "--animate"), (args.figure, "--figure")]
    for path, flag in outputs + ([(args.json, "--json")] if args.json else []):
        if os.path.dirname(path) == DEFAULT_DIR:
            os.makedirs(DEFAULT_DIR, exist_ok=True)
        check_writable_file(path, flag)
    check_device(args.device)
    import torch

    from cae_experiments import plotting
    from cae_experiments.io import to_jsonable
    from cae_experiments.runner import TORCH_THREADS, Progress, RichProgress

    bar = Progress() if args.no_progress else RichProgress("demo")
    threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    try:
        result = run_demo(config, progress=bar)
    finally:
        torch.set_num_threads(threads)
        if isinstance(bar, RichProgress):
            bar.stop()
    print(result.summary())
    plotting.save(start_end_figure(result), args.figure)
    write_animation(result, args.animate)
    written = [args.figure, args.animate]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(to_jsonable({"config": result.config, "titles": result.titles, "steps": result.steps,
                                   "diagnostics": result.diagnostics, "wall_time_s": result.wall_time_s}), f)
        written.append(args.json)
    print(f"wrote {', '.join(written)}")
    return 0
