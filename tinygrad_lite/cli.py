"""The `tinygrad-lite` command: `train MODEL ...` and `eval CHECKPOINT` (= python -m tinygrad_lite).

Train prints one summary line per epoch on stdout and ends with `test accuracy: 0.xxxx` (or
`test mse: ...` for regression); a tqdm bar on stderr shows the running loss and accuracy.
With --save, a checkpoint (model, optimizer, epoch, arguments, RNG state) is written atomically
after every epoch, and --resume continues from one exactly where it stopped.
Every expected failure exits non-zero with one line on stderr; set TINYGRAD_LITE_DEBUG=1 to
see the traceback instead.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["main", "build_parser"]

PROG = "tinygrad-lite"
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")


class CLIError(Exception):
    """An error whose message alone tells the user what to fix."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (no usage block) and exit code 2."""

    def error(self, message):
        self.exit(2, f"{PROG}: error: {message} (see {PROG} --help)\n")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from .models import MODELS
    from . import __version__
    p = _Parser(prog=PROG, description="Train and evaluate the tinygrad_lite example models.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train a model (defaults: the bundled digits, CPU)")
    t.add_argument("model", choices=list(MODELS), help="which model")
    t.add_argument("--dataset", help="digits, breast_cancer, synthetic, zen, mnist:DIR, "
                   "cifar10:DIR or text:FILE (default: the model's own)")
    t.add_argument("--epochs", type=_positive_int, help="number of epochs (total, with --resume)")
    t.add_argument("--batch-size", type=_positive_int)
    t.add_argument("--lr", type=_positive_float, help="peak learning rate (cosine decay)")
    t.add_argument("--optimizer", choices=OPTIMIZERS)
    t.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save", metavar="PATH", help="checkpoint after every epoch (atomic)")
    t.add_argument("--resume", metavar="PATH", help="continue from a checkpoint")
    t.add_argument("--plot", metavar="PATH.png", help="write loss/accuracy curves")
    t.add_argument("--seq-len", type=_positive_int, help="charlm: characters per sample")
    t.add_argument("--until", type=_positive_int, metavar="EPOCH",
                   help="stop after this epoch (the schedule still spans --epochs); "
                        "split a long run into sessions with --save/--resume")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--nproc", type=_positive_int, default=1, metavar="N",
                   help="train on N processes over MPI (runs itself under mpiexec -n N; "
                        "--batch-size stays the global batch)")
    e = sub.add_parser("eval", help="evaluate a checkpoint on its test split")
    e.add_argument("checkpoint")
    e.add_argument("--dataset", help="evaluate on this dataset instead of the saved one")
    e.add_argument("--batch-size", type=_positive_int, default=256)
    e.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    return p


# -- helpers --------------------------------------------------------------------------------------
def _limit_blas_threads() -> None:
    """Use one BLAS thread unless the user chose: these models multiply small matrices, where
    thread hand-offs cost more than they save and, on a busy 2-core machine, many times more."""
    if any(v in os.environ for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                     "MKL_NUM_THREADS")):
        return
    try:
        from threadpoolctl import threadpool_limits  # noqa: PLC0415  (ships with scikit-learn)
    except ImportError:
        return
    threadpool_limits(1, user_api="blas")


class _Progress:
    """A tqdm bar on stderr when tqdm is installed and wanted; otherwise nothing."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm import tqdm  # noqa: PLC0415  (optional: the 'cli' extra)
        except ImportError:
            return
        self.bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=False, dynamic_ncols=True,
                        disable=None)   # None: no bar when stderr is not a terminal

    def __call__(self, loss: float, acc: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.4f}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _load_checkpoint(path: str) -> dict:
    from .serialization import load  # noqa: PLC0415
    if Path(path).is_dir():
        raise CLIError(f"checkpoint {path} is a directory; give the checkpoint file inside it")
    if not Path(path).is_file():
        raise CLIError(f"checkpoint {path} does not exist")
    try:
        ckpt = load(path, map_location="cpu")
    except (RuntimeError, ValueError, OSError) as e:
        raise CLIError(f"cannot read checkpoint {path}: {e}") from None
    needed = ("model", "model_state", "optimizer_state", "epoch", "args", "rng_state", "history")
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in needed):
        raise CLIError(f"{path} is not a tinygrad-lite training checkpoint (missing "
                       f"{[k for k in needed if not isinstance(ckpt, dict) or k not in ckpt]})")
    problem = _malformed(ckpt)
    if problem:
        raise CLIError(f"malformed checkpoint {path}: {problem}")
    return ckpt


# what a checkpoint's run settings hold, and of which types (a hand-edited file is told apart
# from a valid one here, before anything is built from it)
_ARG_TYPES = {"dataset": str, "epochs": int, "batch_size": int, "lr": (int, float),
              "optimizer": str, "seed": int, "seq_len": int}


def _malformed(ckpt: dict) -> str:
    """What is wrong with a checkpoint's structure ('' when nothing)."""
    from .models import MODELS  # noqa: PLC0415
    if not isinstance(ckpt["model"], str) or ckpt["model"] not in MODELS:
        return f"'model' is {ckpt['model']!r}, not one of {list(MODELS)}"
    for key in ("model_state", "optimizer_state", "args", "rng_state", "history"):
        if not isinstance(ckpt[key], dict):
            return f"{key!r} is a {type(ckpt[key]).__name__}, not a dict"
    if isinstance(ckpt["epoch"], bool) or not isinstance(ckpt["epoch"], int) or ckpt["epoch"] < 0:
        return f"'epoch' is {ckpt['epoch']!r}, not a count of epochs"
    for key, kind in _ARG_TYPES.items():
        value = ckpt["args"].get(key)
        if isinstance(value, bool) or not isinstance(value, kind):
            return f"args[{key!r}] is {value!r}"
    if ckpt["args"]["optimizer"] not in OPTIMIZERS:
        return f"args['optimizer'] is {ckpt['args']['optimizer']!r}, not one of {OPTIMIZERS}"
    for key in ("seed", "cpu"):
        if key not in ckpt["rng_state"]:
            return f"rng_state has no {key!r}"
    for key in ("train_loss", "train_acc", "test_loss", "test_acc"):
        if not isinstance(ckpt["history"].get(key), (list, tuple)):
            return f"history[{key!r}] is missing or not a list"
    return ""


def _resolve(args, saved: Optional[dict]) -> dict:
    """The run's settings: command line over the checkpoint's over the model's defaults."""
    from .models import MODELS  # noqa: PLC0415
    d = MODELS[args.model][1]
    base = dict(saved or {})
    out = {
        "model": args.model,
        "dataset": base.get("dataset", d.dataset),
        "epochs": base.get("epochs", d.epochs),
        "batch_size": base.get("batch_size", d.batch_size),
        "lr": base.get("lr", d.lr),
        "optimizer": base.get("optimizer", d.optimizer),
        "seed": base.get("seed", args.seed),
        "seq_len": base.get("seq_len", d.extra.get("seq_len", 64)),
    }
    for key in ("dataset", "epochs", "batch_size", "lr", "optimizer", "seq_len"):
        value = getattr(args, key)
        if value is not None:
            if saved is not None and key != "epochs" and value != saved.get(key):
                raise CLIError(f"--{key.replace('_', '-')} {value} differs from the checkpoint's "
                               f"{saved.get(key)}; a resumed run keeps its settings")
            out[key] = value
    if saved is None:
        out["seed"] = args.seed
    return out


def _plot(history: dict, path: str, title: str) -> None:
    try:
        import matplotlib  # noqa: PLC0415  (optional: the 'cli' extra)
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'tinygrad_lite[cli]'") from None
    epochs = list(range(1, len(history["train_loss"]) + 1))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["train_loss"], "o-", label="train")
    ax1.plot(epochs, history["test_loss"], "o-", label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend()
    ax2.plot(epochs, history["train_acc"], "o-", label="train")
    ax2.plot(epochs, history["test_acc"], "o-", label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as e:
        raise CLIError(f"cannot write plot {path}: {e}") from None
    finally:
        plt.close(fig)


# what matplotlib's Agg backend writes; checked before training, not after it
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".tif", ".tiff", ".webp",
                 ".eps", ".ps", ".pgf", ".raw", ".rgba")


def _check_writable(path: str, flag: str) -> None:
    """Fail now, naming the flag, if `path` could not be written after training."""
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{flag} {path} is a directory; give a file name inside it")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CLIError(f"{flag} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CLIError(f"{flag} {path}: folder {folder} is not writable")
    if target.exists() and not os.access(target, os.W_OK):
        raise CLIError(f"{flag} {path}: the file exists and is not writable")


def _check_outputs(args) -> None:
    if getattr(args, "save", None):
        _check_writable(args.save, "--save")
    if getattr(args, "plot", None):
        _check_writable(args.plot, "--plot")
        if Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
            raise CLIError(f"--plot {args.plot}: unsupported image type "
                           f"{Path(args.plot).suffix or '(none)'}; use one of "
                           f"{', '.join(PLOT_SUFFIXES)}")


def _check_vocab(ckpt: dict, info, path: str) -> None:
    """A language model's checkpoint only fits text with the vocabulary it was trained on."""
    saved = (ckpt.get("info") or {}).get("vocab") or ""
    if info.task == "lm" and saved and saved != "".join(info.vocab or []):
        raise CLIError(f"checkpoint {path} was trained on a vocabulary of {len(saved)} "
                       f"characters, but this text has {len(info.vocab or [])} (or others); use "
                       "the text it was trained on")


def _final_line(task: str, loss: float, acc: float) -> str:
    if task == "regress":
        return f"test mse: {loss:.6f}"
    return f"test accuracy: {acc:.4f}"


def _loaders(cfg: dict, device: str):
    from .data import DataLoader  # noqa: PLC0415
    from .models import load_data  # noqa: PLC0415
    try:
        train, test, info = load_data(cfg["dataset"], seq_len=cfg["seq_len"])
    except (FileNotFoundError, ValueError, ImportError) as e:
        raise CLIError(str(e)) from None
    # shuffling draws from the global generator, whose state the checkpoint stores
    train_dl = DataLoader(train, batch_size=cfg["batch_size"], shuffle=True, device=device)
    test_dl = DataLoader(test, batch_size=256, device=device)
    return train_dl, test_dl, info


def _check_device(device: str) -> None:
    import tinygrad_lite as tl  # noqa: PLC0415
    if device == "cuda" and not tl.cuda_is_available():
        try:
            tl.backend.get_cupy()
        except RuntimeError as e:
            raise CLIError(str(e)) from None


# -- several processes ---------------------------------------------------------------------------
_MPI_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


def _launched_by_mpi() -> bool:
    return any(int(os.environ.get(k, "1") or 1) > 1 for k in _MPI_ENV if k != "SLURM_NTASKS") \
        or os.environ.get("TINYGRAD_LITE_NPROC_CHILD") == "1"


def _relaunch(argv: Sequence[str], nproc: int) -> int:
    """Run this same command under `mpiexec -n nproc` (the mpiexec beside the interpreter first,
    as the mpich wheel installs it) and return its exit code."""
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    beside = Path(sys.executable).parent / "mpiexec"
    mpiexec = str(beside) if beside.is_file() else shutil.which("mpiexec")
    if mpiexec is None:
        raise CLIError("--nproc needs MPI's mpiexec: pip install mpi4py mpich (or load your "
                       "site's MPI)")
    env = dict(os.environ, TINYGRAD_LITE_NPROC_CHILD="1")
    cmd = [mpiexec, "-n", str(nproc), sys.executable, "-m", "tinygrad_lite", *argv]
    try:
        return subprocess.run(cmd, env=env).returncode
    except KeyboardInterrupt:
        return 130


class _RankSlices:
    """Each global batch of `batches`, cut into `world` contiguous parts; yields part `rank`.
    Every rank draws the same global batches (the same seed), so the step's gradient averaged
    over the ranks is the global batch's."""

    def __init__(self, batches, rank: int, world: int):
        self.batches, self.rank, self.world = batches, rank, world

    def __iter__(self):
        for batch in self.batches:
            m = len(batch)
            yield batch[self.rank * m // self.world:(self.rank + 1) * m // self.world]

    def __len__(self) -> int:
        return len(self.batches)


def _start_ranks(args):
    """(rank, world) after joining the MPI job, or (0, 1) for a single process."""
    if args.nproc == 1 and not _launched_by_mpi():
        return 0, 1
    from . import distributed as dist  # noqa: PLC0415
    try:
        dist.init_process_group("mpi", timeout=120.0)
    except ImportError as e:
        raise CLIError(str(e)) from None
    rank, world = dist.get_rank(), dist.get_world_size()
    if world > 1 and rank != 0:
        sys.stdout = open(os.devnull, "w")        # rank 0 alone prints, plots and saves
        args.no_progress, args.save, args.plot = True, None, None
    return rank, world


def _reduce_sums(values: list, world: int) -> list:
    if world == 1:
        return values
    import numpy as np  # noqa: PLC0415

    from . import distributed as dist  # noqa: PLC0415
    from .tensor import Tensor  # noqa: PLC0415
    t = Tensor(np.asarray(values, dtype=np.float64))
    dist.all_reduce(t)
    return t.tolist()


# -- commands -------------------------------------------------------------------------------------
def cmd_train(args) -> int:
    import tinygrad_lite as tl  # noqa: PLC0415
    from . import random as tl_random  # noqa: PLC0415
    from .models import (build_model, cosine_lr, evaluate, make_optimizer, set_lr,  # noqa
                         train_epoch)
    from .serialization import save  # noqa: PLC0415

    _check_device(args.device)
    _check_outputs(args)
    rank, world = _start_ranks(args)
    ckpt = _load_checkpoint(args.resume) if args.resume else None
    if ckpt is not None and ckpt["model"] != args.model:
        raise CLIError(f"checkpoint {args.resume} holds a {ckpt['model']!r} model, not "
                       f"{args.model!r}")
    cfg = _resolve(args, ckpt["args"] if ckpt else None)
    tl.manual_seed(cfg["seed"])
    train_dl, test_dl, info = _loaders(cfg, args.device)
    if world > 1:
        if cfg["batch_size"] < world:
            raise CLIError(f"--batch-size {cfg['batch_size']} is the global batch: it must be "
                           f"at least --nproc {world}")
        from .data import BatchSampler, DataLoader, RandomSampler  # noqa: PLC0415
        global_batches = BatchSampler(RandomSampler(train_dl.dataset), cfg["batch_size"], False)
        train_dl = DataLoader(train_dl.dataset, batch_sampler=_RankSlices(global_batches, rank,
                                                                           world),
                              device=args.device)
    try:
        model = build_model(cfg["model"], info).to(args.device)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if ckpt is not None:
        _check_vocab(ckpt, info, args.resume)
    net = model
    if world > 1:
        from .nn.parallel import DistributedDataParallel  # noqa: PLC0415
        net = DistributedDataParallel(model)
    opt = make_optimizer(cfg["optimizer"], model.parameters(), cfg["lr"])
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start = 0
    if ckpt is not None:
        try:
            model.load_state_dict(ckpt["model_state"])
            opt.load_state_dict(ckpt["optimizer_state"])
        except (KeyError, ValueError, RuntimeError) as e:
            raise CLIError(f"checkpoint {args.resume} does not fit this model: {e}") from None
        tl_random.set_rng_state(ckpt["rng_state"])
        history = {k: list(v) for k, v in ckpt["history"].items()}
        start = int(ckpt["epoch"])
        if start >= cfg["epochs"]:
            print(f"checkpoint is already at epoch {start} of {cfg['epochs']}; nothing to train "
                  "(raise --epochs to continue)")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{cfg['model']} on {info.name}: {len(train_dl.dataset)} train / "
          f"{len(test_dl.dataset)} test samples, {n_params} parameters, {cfg['optimizer']} "
          f"lr {cfg['lr']:g}, batch {cfg['batch_size']}, {args.device}", flush=True)
    test_loss, test_acc = float("nan"), float("nan")
    epoch = saved_epoch = start
    trained = False
    try:
        last = cfg["epochs"] if args.until is None else min(args.until, cfg["epochs"])
        for epoch in range(start, last):
            t0 = time.perf_counter()
            set_lr(opt, cosine_lr(cfg["lr"], epoch, cfg["epochs"]))
            bar = _Progress(len(train_dl), f"epoch {epoch + 1}/{cfg['epochs']}",
                            enabled=not args.no_progress)
            sums: dict = {}
            try:
                train_loss, train_acc = train_epoch(net, train_dl, opt, info.task, bar, sums)
            finally:
                bar.close()
            if world > 1:          # the printed numbers are the whole batch's, as one process
                loss_sum, hits, seen = _reduce_sums([sums["loss"], sums["hits"], sums["seen"]],
                                                    world)
                train_loss, train_acc = loss_sum / max(seen, 1), hits / max(seen, 1)
            test_loss, test_acc = evaluate(model, test_dl, info.task)
            trained = True
            for key, v in zip(history, (train_loss, train_acc, test_loss, test_acc)):
                history[key].append(float(v))
            metric = (f"test mse {test_loss:.6f}" if info.task == "regress"
                      else f"test loss {test_loss:.4f} acc {test_acc:.4f}")
            train_metric = "" if info.task == "regress" else f" acc {train_acc:.4f}"
            print(f"epoch {epoch + 1}/{cfg['epochs']}: train loss {train_loss:.4f}{train_metric}"
                  f", {metric} ({time.perf_counter() - t0:.1f}s)", flush=True)
            if args.save:
                state = {"model": cfg["model"], "model_state": model.state_dict(),
                         "optimizer_state": opt.state_dict(), "epoch": epoch + 1, "args": cfg,
                         "rng_state": tl_random.get_rng_state(), "history": history,
                         "info": {"task": info.task, "vocab": "".join(info.vocab or [])}}
                try:
                    save(state, args.save)
                    saved_epoch = epoch + 1
                except OSError as e:
                    raise CLIError(f"cannot write checkpoint {args.save}: {e}") from None
    except KeyboardInterrupt:
        # checkpoints are only written between epochs (a mid-epoch state could not resume
        # exactly), and atomically, so the file holds the last finished epoch
        where = f"; the checkpoint at {args.save} holds epoch {saved_epoch}" \
            if args.save and saved_epoch else ""
        print(f"{PROG}: interrupted during epoch {epoch + 1}{where}", file=sys.stderr)
        return 130
    if not trained:       # nothing ran this session (--until at or before the checkpoint)
        test_loss, test_acc = evaluate(model, test_dl, info.task)
    if args.plot and history["train_loss"]:
        _plot(history, args.plot, f"{cfg['model']} on {info.name}")
    print(_final_line(info.task, test_loss, test_acc))
    if world > 1:
        from . import distributed as dist  # noqa: PLC0415
        dist.destroy_process_group()
    return 0


def cmd_eval(args) -> int:
    from .models import build_model, evaluate  # noqa: PLC0415
    _check_device(args.device)
    ckpt = _load_checkpoint(args.checkpoint)
    cfg = dict(ckpt["args"])
    if args.dataset:
        cfg["dataset"] = args.dataset
    cfg["batch_size"] = args.batch_size
    _, test_dl, info = _loaders(cfg, args.device)
    _check_vocab(ckpt, info, args.checkpoint)
    try:
        model = build_model(ckpt["model"], info).to(args.device)
        model.load_state_dict(ckpt["model_state"])
    except (KeyError, ValueError, RuntimeError) as e:
        raise CLIError(f"checkpoint {args.checkpoint} does not fit dataset "
                       f"{cfg['dataset']!r}: {e}") from None
    loss, acc = evaluate(model, test_dl, info.task)
    print(f"{ckpt['model']} (epoch {ckpt['epoch']}) on {info.name}: test loss {loss:.4f}")
    print(_final_line(info.task, loss, acc))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `tinygrad-lite` console script; returns the exit code."""
    from ._startup import end_guard  # noqa: PLC0415
    args = build_parser().parse_args(argv)
    end_guard()
    if getattr(args, "nproc", 1) > 1 and not _launched_by_mpi():
        try:
            return _relaunch(list(sys.argv[1:] if argv is None else argv), args.nproc)
        except CLIError as e:
            print(f"{PROG}: error: {e}", file=sys.stderr)
            return 1
    _limit_blas_threads()
    try:
        return cmd_train(args) if args.command == "train" else cmd_eval(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # one line for people; the traceback only when asked for
        if os.environ.get("TINYGRAD_LITE_DEBUG"):
            raise
        msg = str(e) if isinstance(e, CLIError) else f"{type(e).__name__}: {e}"
        print(f"{PROG}: error: {msg.splitlines()[0] if msg else type(e).__name__}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
