"""`python -m tinygrad_lite train|eval ...` end to end, through a subprocess as a user runs it."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from test_data import make_mnist

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("TINYGRAD_LITE_DEBUG", None)
    env["OPENBLAS_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "tinygrad_lite", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, env=env, timeout=300)


def epoch_lines(stdout: str) -> dict:
    """{epoch number: that epoch's summary line} from a train run's stdout."""
    return {int(m.group(1)): m.group(0)
            for m in re.finditer(r"^epoch (\d+)/\d+: .*$", stdout, re.MULTILINE)}


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("tinygrad-lite: error:")
    for f in fragments:
        assert f in lines[0], lines[0]


def test_train_prints_epochs_and_final_accuracy(tmp_path):
    plot = tmp_path / "curves.png"
    proc = run_cli("train", "logreg", "--epochs", "3", "--plot", plot)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(epoch_lines(proc.stdout)) == [1, 2, 3]
    last = proc.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r"test accuracy: (0\.\d{4}|1\.0000)", last)
    assert m and float(m.group(1)) > 0.9
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_regression_reports_mse():
    proc = run_cli("train", "linreg", "--epochs", "4")
    assert proc.returncode == 0, proc.stderr
    mse = float(re.search(r"^test mse: ([\d.]+)$", proc.stdout, re.MULTILINE).group(1))
    assert mse < 0.01


def test_resume_continues_exactly(tmp_path):
    """Stopping after epoch 2 and resuming gives epoch 3 the loss an uninterrupted run has."""
    full = run_cli("train", "mlp", "--epochs", "3", "--optimizer", "adamw", "--seed", "3")
    assert full.returncode == 0, full.stderr
    ckpt = tmp_path / "mlp.ckpt"
    first = run_cli("train", "mlp", "--epochs", "3", "--optimizer", "adamw", "--seed", "3",
                    "--until", "2", "--save", ckpt)
    assert first.returncode == 0, first.stderr
    assert sorted(epoch_lines(first.stdout)) == [1, 2] and ckpt.is_file()
    resumed = run_cli("train", "mlp", "--resume", ckpt)
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(epoch_lines(resumed.stdout)) == [3]
    assert epoch_lines(resumed.stdout)[3].split(" (")[0] == \
        epoch_lines(full.stdout)[3].split(" (")[0]
    assert resumed.stdout.splitlines()[-1] == full.stdout.splitlines()[-1]
    # eval reads the same checkpoint's settings back
    ev = run_cli("eval", ckpt)
    assert ev.returncode == 0, ev.stderr
    assert re.search(r"^test accuracy: 0\.\d{4}$", ev.stdout, re.MULTILINE)


@pytest.fixture(scope="module")
def logreg_ckpt(tmp_path_factory):
    """One short logistic-regression checkpoint, shared by the tests that only read it."""
    ckpt = tmp_path_factory.mktemp("ckpt") / "logreg.ckpt"
    proc = run_cli("train", "logreg", "--epochs", "1", "--save", ckpt)
    assert proc.returncode == 0, proc.stderr
    return ckpt


def test_resume_refuses_changed_settings(logreg_ckpt):
    ckpt = logreg_ckpt
    assert_one_line_error(run_cli("train", "logreg", "--resume", ckpt, "--lr", "0.5"),
                          "--lr 0.5 differs")
    assert_one_line_error(run_cli("train", "mlp", "--resume", ckpt), "'logreg' model")


@pytest.mark.parametrize("args, fragment", [
    (["train", "resnet"], "invalid choice: 'resnet'"),
    (["train", "cnn", "--epochs", "0"], "positive integer, got 0"),
    (["train", "cnn", "--epochs", "-3"], "positive integer, got -3"),
    (["train", "cnn", "--lr", "abc"], "positive number"),
    (["train", "cnn", "--dataset", "mnist:/no/such/dir"], "/no/such/dir does not exist"),
    (["train", "charlm", "--dataset", "text:/no/such/file.txt"], "file.txt does not exist"),
    (["train", "cnn", "--dataset", "imagenet"], "unknown dataset 'imagenet'"),
    (["train", "cnn", "--dataset", "breast_cancer"], "does not fit dataset"),
    (["train", "cnn", "--resume", "/no/such.ckpt"], "/no/such.ckpt does not exist"),
    (["eval"], "checkpoint"),
])
def test_bad_arguments_give_one_line_errors(args, fragment):
    assert_one_line_error(run_cli(*args), fragment)


def test_corrupt_checkpoints_give_one_line_errors(tmp_path, logreg_ckpt):
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint at all")
    assert_one_line_error(run_cli("eval", junk), "junk.ckpt")
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(logreg_ckpt.read_bytes()[:200])
    assert_one_line_error(run_cli("eval", cut), "cut.ckpt")
    assert_one_line_error(run_cli("train", "logreg", "--resume", cut), "cut.ckpt")


def test_mnist_files_and_corrupt_mnist(tmp_path):
    make_mnist(tmp_path, n_train=40, n_test=10, gz=True)
    proc = run_cli("train", "cnn", "--dataset", f"mnist:{tmp_path}", "--epochs", "1")
    assert proc.returncode == 0, proc.stderr
    assert "40 train / 10 test" in proc.stdout
    assert re.search(r"^test accuracy: [01]\.\d{4}$", proc.stdout, re.MULTILINE)
    # a labels file from another download: wrong count
    from test_data import write_idx
    import numpy as np
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(9, np.uint8))
    assert_one_line_error(run_cli("train", "cnn", "--dataset", f"mnist:{tmp_path}"),
                          "9 labels but t10k-images-idx3-ubyte.gz has 10")


def test_charlm_on_a_text_file(tmp_path):
    text = tmp_path / "poem.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 30, encoding="utf-8")
    proc = run_cli("train", "charlm", "--dataset", f"text:{text}", "--epochs", "2",
                   "--seq-len", "16")
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^test accuracy: 0\.\d{4}$", proc.stdout, re.MULTILINE)


def test_ctrl_c_stops_cleanly_keeping_the_last_checkpoint(tmp_path):
    import signal
    ckpt = tmp_path / "int.ckpt"
    # unbuffered, and more epochs than a starved parent could miss: the run must still be going
    # when the signal arrives, however loaded the machine
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "tinygrad_lite", "train", "mlp", "--epochs",
                             "100000", "--save", str(ckpt)], cwd=ROOT, env=env, text=True,
                            # a shell's background job ignores SIGINT and its children inherit
                            # that; the command under test must get Ctrl-C's default
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for line in proc.stdout:
            if line.startswith("epoch 2/"):   # so epoch 1 has certainly been saved
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert "Traceback" not in err and "interrupted during epoch" in err
    held = int(re.search(r"holds epoch (\d+)", err).group(1))
    ev = run_cli("eval", ckpt)
    assert ev.returncode == 0, ev.stderr
    assert held >= 1 and f"(epoch {held})" in ev.stdout


def test_outputs_checked_before_training(tmp_path):
    for args, fragment in [(("--plot", tmp_path / "missing" / "c.png"), "does not exist"),
                           (("--plot", tmp_path / "curves.gif"), "unsupported image type"),
                           (("--plot", tmp_path), "is a directory"),
                           (("--save", tmp_path / "missing" / "ck.npz"), "does not exist"),
                           (("--save", tmp_path), "is a directory")]:
        proc = run_cli("train", "logreg", "--epochs", "1", *args)
        assert_one_line_error(proc, fragment)
        assert "epoch 1/" not in proc.stdout, "the check came after training"


def test_resume_until_at_the_checkpoint_evaluates_instead_of_printing_nan(tmp_path):
    ck = tmp_path / "ck.npz"
    assert run_cli("train", "logreg", "--epochs", "3", "--until", "2", "--save", ck) \
        .returncode == 0
    proc = run_cli("train", "logreg", "--epochs", "3", "--until", "1", "--resume", ck)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^test accuracy: 0\.\d{4}$", proc.stdout, re.MULTILINE), proc.stdout


def test_charlm_checkpoint_refuses_another_vocabulary(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("abcabcabc abc " * 40, encoding="utf-8")
    b.write_text("xyz xyzzy zyx " * 40, encoding="utf-8")
    ck = tmp_path / "lm.npz"
    assert run_cli("train", "charlm", "--dataset", f"text:{a}", "--epochs", "1", "--seq-len",
                   "8", "--save", ck).returncode == 0
    assert_one_line_error(run_cli("eval", ck, "--dataset", f"text:{b}"), "vocabulary")


def test_negative_seed_and_version():
    proc = run_cli("train", "logreg", "--epochs", "1", "--seed", "-1")
    assert proc.returncode == 0, proc.stderr
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("tinygrad-lite ")


def test_hand_edited_checkpoint_is_called_malformed(tmp_path, logreg_ckpt):
    import tinygrad_lite as tl
    ckpt = tl.load(logreg_ckpt)
    del ckpt["args"]["dataset"]
    bad = tmp_path / "edited.npz"
    tl.save(ckpt, bad)
    assert_one_line_error(run_cli("eval", bad), "malformed checkpoint", "args['dataset']")
    assert_one_line_error(run_cli("train", "logreg", "--resume", bad), "malformed checkpoint")


def test_text_datasets_that_are_not_text_files(tmp_path):
    assert_one_line_error(run_cli("train", "charlm", "--dataset", f"text:{tmp_path}"),
                          "is a directory")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert_one_line_error(run_cli("train", "charlm", "--dataset", f"text:{fifo}"),
                          "not a regular file")
    proc = run_cli("train", "charlm", "--seq-len", "100000")
    assert_one_line_error(proc, "zen", "seq_len + 1")
    assert "tmp" not in proc.stderr


def test_ctrl_c_while_the_package_imports_prints_one_line(tmp_path):
    import shutil
    import signal
    import time
    script = shutil.which("tinygrad-lite")
    commands = [[sys.executable, "-m", "tinygrad_lite"]] + ([[script]] if script else [])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for command in commands:
        for delay in (0.2, 0.5):
            proc = subprocess.Popen(command + ["train", "mlp", "--no-progress"], cwd=tmp_path,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=env,
                                    preexec_fn=lambda: signal.signal(signal.SIGINT,
                                                                     signal.SIG_DFL))
            time.sleep(delay)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            assert proc.returncode in (130, -signal.SIGINT), (command, delay, err)
            assert "Traceback" not in err, err


def test_nproc_2_trains_the_weights_of_one_process(tmp_path):
    import importlib.util

    import numpy as np
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("distributed: mpi4py/mpiexec not installed")
    import tinygrad_lite as tl
    runs = {}
    for n in (1, 2):
        ck = tmp_path / f"ck{n}.npz"
        proc = run_cli("train", "mlp", "--epochs", "2", "--no-progress", "--save", ck,
                       "--nproc", n)
        assert proc.returncode == 0, proc.stderr
        runs[n] = (proc.stdout, tl.load(ck)["model_state"])
    lines1, lines2 = epoch_lines(runs[1][0]), epoch_lines(runs[2][0])
    assert runs[2][0].count("test accuracy:") == 1          # rank 0 alone prints
    for e in (1, 2):       # the same printed numbers: metrics are reduced over the ranks
        assert lines1[e].split(" (")[0] == lines2[e].split(" (")[0]
    assert sorted(runs[1][1]) == sorted(runs[2][1])         # no "module." prefix
    for key, value in runs[1][1].items():
        np.testing.assert_allclose(runs[2][1][key].numpy(), value.numpy(), atol=1e-5,
                                   err_msg=key)
