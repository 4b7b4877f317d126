"""The command line prints exactly what the library returns; bad input exits 2, one line."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import infoloss as il
from infoloss.cli import main
from tests._helpers import cli_status, run_cli


def test_entropy_inline_bits():
    code, text = run_cli(["entropy", "0.5", "0.5", "--base", "2"])
    assert code == 0
    assert text == "entropy (bits): 1.0\n"


def test_kl_prints_the_library_value_exactly():
    code, text = run_cli(["kl", "--p", "0.5,0.5", "--q", "0.9,0.1", "--json"])
    assert code == 0
    payload = json.loads(text)
    assert payload["values"] == [float(il.kl_divergence([0.5, 0.5], [0.9, 0.1]))]
    assert payload["unit"] == "nats"
    _, table = run_cli(["kl", "--p", "0.5,0.5", "--q", "0.9,0.1"])
    assert table.strip().endswith(repr(float(il.kl_divergence([0.5, 0.5], [0.9, 0.1]))))


def test_infinity_in_json_and_table():
    _, text = run_cli(["self-information", "1", "0", "--json"])
    assert json.loads(text)["values"] == [0.0, "inf"]
    _, table = run_cli(["self-information", "1", "0"])
    assert table.splitlines()[-1].split() == ["1", "inf"]


@pytest.mark.parametrize("fmt", ["csv", "json", "npy"])
def test_rows_from_files(tmp_path, fmt):
    rows = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])
    path = tmp_path / f"rows.{fmt}"
    if fmt == "csv":
        path.write_text("# a comment\n" + "\n".join(",".join(map(repr, r)) for r in rows.tolist()))
    elif fmt == "json":
        path.write_text(json.dumps(rows.tolist()))
    else:
        np.save(path, rows)
    code, text = run_cli(["entropy", "--file", str(path), "--json"])
    assert code == 0
    assert json.loads(text)["values"] == il.entropy(rows).tolist()


def test_rows_from_stdin(monkeypatch):
    code, text = run_cli(
        ["cross-entropy", "--p", "-", "--q", "0.25,0.75", "--format", "json", "--base", "bits"],
        stdin="[[0.5, 0.5], [0.25, 0.75]]",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    expected = il.cross_entropy([[0.5, 0.5], [0.25, 0.75]], [0.25, 0.75], base=2)
    assert text.splitlines()[1:] == [f"  {i}  {v!r}" for i, v in enumerate(expected.tolist())]


def test_joint_table_from_file(tmp_path):
    path = tmp_path / "joint.csv"
    path.write_text("0.5 0\n0 0.5\n")
    code, text = run_cli(["mutual-information", "--file", str(path), "--base", "2"])
    assert (code, text) == (0, "mutual information (bits): 1.0\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["entropy", "0.5", "0.6"], "do not sum to 1"),
        (["entropy", "0.5", "-0.5", "1"], "negative"),
        (["kl", "--p", "0.5,0.5", "--q", "missing.csv"], "no such file"),
        (["kl", "--p", "0.5,0.5"], "needs both --p and --q"),
        (["entropy", "0.5", "0.5", "--base", "1"], "--base: must be a positive number other"),
        (["entropy", "0.5", "0.5", "--base", "x"], "--base"),
        (["entropy"], "give numbers or --file"),
        (["js", "--p", "0.5,0.5", "--q", "0.2,0.3,0.5"], "do not broadcast"),
        (["lab"], "choose a command"),
        (["nonsense"], "invalid choice"),
        (["kl", "--p", "-", "--q", "-"], "only one of --p and --q"),
        (["kl", "--p", "0.5,,0.5", "--q", "0.5,0.5"], "empty value at position 2"),
        (["kl", "--p", "0.5,0.5", "--q", "0.5,x"], "is not a number"),
        (["loss", "softmax-ce", "--logits", "1,2", "--targets", "-", "--logits", "-"], "only one"),
        (["loss", "nonsense", "--logits", "1", "--targets", "0"], "invalid choice"),
        (["entropy", "--form", "logits", "-inf", "-inf"], "no probability mass"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    code = cli_status(argv)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "call", "match"),
    [
        (["entropy", "0.5", "0.6"], lambda: il.entropy([0.5, 0.6]), "do not sum to 1"),
        (
            ["js", "--p", "0.5,0.5", "--q", "0.2,0.3,0.5"],
            lambda: il.js_divergence([0.5, 0.5], [0.2, 0.3, 0.5]),
            "broadcast",
        ),
    ],
)
def test_library_messages_are_passed_through_as_written(argv, call, match, capsys):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match) as raised:
        call()
    assert main(argv, out=io.StringIO()) == 2
    assert capsys.readouterr().err == f"infoloss: error: {raised.value}\n"


def test_non_numeric_csv(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("0.5,0.5\n0.5,abc\n")
    assert main(["entropy", "--file", str(path)], out=io.StringIO()) == 2
    assert "line 2: non-numeric" in capsys.readouterr().err


def test_console_script_runs_and_is_light():
    code = (
        "import sys, infoloss.cli; "
        "heavy = {'numba', 'scipy', 'matplotlib', 'sklearn', 'torch', 'jax'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    done = subprocess.run(
        [sys.executable, "-m", "infoloss", "entropy", "0.5", "0.5", "--base", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "entropy (bits): 1.0\n")


def test_lab_train_from_the_command_line(tmp_path):
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    path = tmp_path / "tiny.csv"
    rows = ["a,b,c,label"] + [
        f"{r[0]},{r[1]},{r[2]},{t}" for r, t in zip(x.tolist(), y, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    argv = [
        "lab",
        "train",
        "--dataset",
        str(path),
        "--losses",
        "ce,mse",
        "--seeds",
        "2",
        "--epochs",
        "5",
        "--no-progress",
    ]
    code, text = run_cli([*argv, "--json"])
    assert code == 0
    payload = json.loads(text)
    from infoloss import lab

    direct = lab.train(str(path), losses=["ce", "mse"], seeds=2, epochs=5)
    assert payload == json.loads(json.dumps(direct, default=float))
    code, table = run_cli(argv)
    assert code == 0
    assert table.strip() == lab.train_table(direct).strip()


def test_lab_train_missing_file_is_one_line(capsys):
    pytest.importorskip("sklearn")
    code, _ = run_cli(["lab", "train", "--dataset", "no-such.csv", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no-such.csv" in err


def test_demo_from_the_command_line(tmp_path):
    pytest.importorskip("matplotlib")
    code, text = run_cli(["demo", "--quick", "--no-progress", "--out", str(tmp_path / "r")])
    assert code == 0
    assert (tmp_path / "r" / "index.html").is_file()
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    from infoloss import lab

    assert lab.summary_table(results) in text


# ------------------------------------------------------------------ input, as a careful user types it


def test_negative_numbers_inline():
    code, text = run_cli(["entropy", "--form", "logits", "2", "-1e3", "-inf", "--json"])
    assert code == 0
    expected = il.entropy([2.0, -1e3, -np.inf], form="logits")
    assert json.loads(text)["values"] == [float(expected)]
    code, text = run_cli(["kl", "--p", "-1,2,-.5", "--q", "-3,0,1", "--form", "logits", "--json"])
    assert code == 0
    expected = il.kl_divergence([-1.0, 2.0, -0.5], [-3.0, 0.0, 1.0], form="logits")
    assert json.loads(text)["values"] == [float(expected)]
    # An outcome that Q's logits rule out (−∞) but P allows: D(P‖Q) = +∞.
    code, text = run_cli(["kl", "--p", "-1,2", "--q", "-inf,0", "--form", "logits", "--json"])
    assert (code, json.loads(text)["values"]) == (0, ["inf"])


def test_p_and_q_in_different_forms():
    code, text = run_cli(
        ["cross-entropy", "--p", "1,0,0", "--q", "2,-1,0.5", "--q-form", "logits", "--json"]
    )
    assert code == 0
    expected = il.cross_entropy([1.0, 0.0, 0.0], [2.0, -1.0, 0.5], form=("probs", "logits"))
    assert json.loads(text)["values"] == [float(expected)]
    # --p-form overrides --form for P only.
    code, text = run_cli(
        ["kl", "--p", "0,-1", "--q", "0.3,0.7", "--form", "probs", "--p-form", "logits", "--json"]
    )
    assert code == 0
    expected = il.kl_divergence([0.0, -1.0], [0.3, 0.7], form=("logits", "probs"))
    assert json.loads(text)["values"] == [float(expected)]


def test_csv_header_is_recognised(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("heads,tails\n0.5,0.5\n0.9,0.1\n")
    code, text = run_cli(["entropy", "--file", str(path), "--json"])
    assert code == 0
    assert json.loads(text)["values"] == il.entropy([[0.5, 0.5], [0.9, 0.1]]).tolist()


def test_a_header_after_data_is_an_error(tmp_path, capsys):
    path = tmp_path / "rows.csv"
    path.write_text("0.5,0.5\nheads,tails\n")
    assert main(["entropy", "--file", str(path)], out=io.StringIO()) == 2
    assert "line 2: non-numeric value 'heads'" in capsys.readouterr().err


@pytest.mark.parametrize("content", ["0.5,,0.5\n", "0.5,0.5,\n", "a,b\n0.5,0.5\n,1\n"])
def test_an_empty_cell_is_an_error_not_dropped(tmp_path, capsys, content):
    path = tmp_path / "rows.csv"
    path.write_text(content)
    assert main(["entropy", "--file", str(path)], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "empty cell in column" in err
    assert len(err.strip().splitlines()) == 1


def test_utf8_byte_order_mark_is_accepted(tmp_path, monkeypatch):
    path = tmp_path / "rows.csv"
    path.write_bytes("\ufeffp,q\n0.25,0.75\n".encode())
    code, text = run_cli(["entropy", "--file", str(path), "--base", "2", "--json"])
    assert code == 0
    assert json.loads(text)["values"] == [float(il.entropy([0.25, 0.75], base=2))]
    jpath = tmp_path / "rows.json"
    jpath.write_bytes("\ufeff[0.25, 0.75]".encode())
    code, text = run_cli(["entropy", "--file", str(jpath), "--base", "2", "--json"])
    assert code == 0
    assert json.loads(text)["values"] == [float(il.entropy([0.25, 0.75], base=2))]
    code, text = run_cli(
        ["entropy", "--file", "-", "--base", "2", "--json"],
        stdin="\ufeff0.25,0.75\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    assert json.loads(text)["values"] == [float(il.entropy([0.25, 0.75], base=2))]


def test_complex_npy_is_one_line(tmp_path, capsys):
    path = tmp_path / "z.npy"
    np.save(path, np.array([0.5 + 0j, 0.5 + 0j]))
    assert main(["entropy", "--file", str(path)], out=io.StringIO()) == 2
    err = capsys.readouterr().err
    assert "complex" in err
    assert len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------ losses


def test_loss_softmax_ce_with_labels_and_gradient():
    code, text = run_cli(
        ["loss", "softmax-ce", "--logits", "2,-1,0.5", "--targets", "0", "--grad", "--json"]
    )
    assert code == 0
    payload = json.loads(text)
    value, grad = il.softmax_cross_entropy(
        np.array([[2.0, -1.0, 0.5]]), np.array([0]), return_grad=True
    )
    assert payload["values"] == [float(value)]
    assert payload["grad"] == np.asarray(grad).ravel().tolist()
    assert payload["grad_shape"] == [1, 3]
    assert payload["unit"] == "nats"
    code, table = run_cli(
        ["loss", "softmax-ce", "--logits", "2,-1,0.5", "--targets", "0", "--grad"]
    )
    assert code == 0
    assert table.splitlines()[0].endswith(f"(nats): {float(value)!r}")
    assert table.splitlines()[-1].split() == [repr(float(g)) for g in np.ravel(grad)]


def test_loss_with_target_probabilities_and_options():
    argv = ["loss", "softmax-ce", "--logits", "2,-1,0.5", "--targets", "0.8,0.1,0.1"]
    code, text = run_cli([*argv, "--label-smoothing", "0.1", "--json"])
    assert code == 0
    expected = il.softmax_cross_entropy(
        np.array([[2.0, -1.0, 0.5]]), np.array([[0.8, 0.1, 0.1]]), label_smoothing=0.1
    )
    assert json.loads(text)["values"] == [float(expected)]


@pytest.mark.parametrize(
    ("name", "func"),
    [
        ("softmax-ce", "softmax_cross_entropy"),
        ("softmax-se", "softmax_squared_error"),
        ("logit-se", "logit_squared_error"),
    ],
)
def test_softmax_losses_from_files(tmp_path, name, func):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5, 4)) * 3
    labels = np.array([0, 3, 1, 1, 2])
    np.save(tmp_path / "z.npy", logits)
    (tmp_path / "y.csv").write_text("label\n" + "\n".join(map(str, labels)) + "\n")
    code, text = run_cli(
        [
            "loss",
            name,
            "--logits",
            str(tmp_path / "z.npy"),
            "--targets",
            str(tmp_path / "y.csv"),
            "--reduction",
            "none",
            "--json",
        ]
    )
    assert code == 0
    expected = getattr(il, func)(logits, labels, reduction="none")
    assert json.loads(text)["values"] == np.asarray(expected).tolist()


@pytest.mark.parametrize(
    ("name", "func"),
    [("sigmoid-bce", "sigmoid_binary_cross_entropy"), ("sigmoid-se", "sigmoid_squared_error")],
)
def test_sigmoid_losses_inline(name, func):
    code, text = run_cli(
        ["loss", name, "--logits", "-3,2,-1e3", "--targets", "1,0,0", "--grad", "--json"]
    )
    assert code == 0
    payload = json.loads(text)
    value, grad = getattr(il, func)(
        np.array([-3.0, 2.0, -1e3]), np.array([1.0, 0.0, 0.0]), return_grad=True
    )
    assert payload["values"] == [float(value)]
    assert payload["grad"] == np.asarray(grad).tolist()


def test_loss_errors_are_one_line(capsys):
    code = main(["loss", "softmax-ce", "--logits", "2,-1,0.5", "--targets", "3"], out=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


# ------------------------------------------------------------------ pipes and signals


def test_closed_pipe_is_silent_and_exit_141(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("\n".join(["0.5"] * 40_000) + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infoloss", "self-information", "--file", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


def test_pipe_closed_before_the_first_write_is_silent():
    # The reader is gone before the command starts: the one write, at exit, finds no
    # reader. Whether it wrote before the close or not, nothing reaches standard error.
    proc = subprocess.Popen(
        [sys.executable, "-m", "infoloss", "entropy", "0.5", "0.5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert (proc.wait(timeout=60), err) == (141, "")


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(il, "entropy", interrupted)
    assert main(["entropy", "0.5", "0.5"], out=io.StringIO()) == 130
    assert capsys.readouterr().err == "infoloss: interrupted\n"


def _wait_until_reading_stdin(pid: int, timeout: float = 60.0) -> None:
    """Return once process ``pid`` is blocked in read(0, ...) (Linux's /proc/PID/syscall:
    the call's number, then its arguments in hex), or after 3 s where /proc cannot tell."""
    import platform
    import time

    read = {"x86_64": "0", "aarch64": "63"}.get(platform.machine())
    deadline = time.monotonic() + timeout
    while read is not None:
        try:
            with open(f"/proc/{pid}/syscall") as fh:
                fields = fh.read().split()
        except OSError:
            break  # no /proc: wait as before
        if len(fields) > 1 and fields[0] == read and int(fields[1], 16) == 0:
            time.sleep(0.2)  # settled in that read
            return
        assert time.monotonic() < deadline, "the command never blocked reading standard input"
        time.sleep(0.05)
    time.sleep(3)


def test_ctrl_c_in_a_real_process(tmp_path):
    import signal

    # ``python -m infoloss entropy --file -`` with SIGINT as a terminal's Ctrl-C finds it: a
    # shell starts background jobs with SIGINT ignored, children inherit that, and Python
    # then installs no KeyboardInterrupt handler (the command read an empty input and exited
    # 2 when the suite ran under ``bash .ci/run &``).
    start = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        " sys.argv = ['infoloss', 'entropy', '--file', '-'];"
        " runpy.run_module('infoloss', run_name='__main__', alter_sys=True)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", start],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Wait until the command is blocked reading standard input, past start-up.
    _wait_until_reading_stdin(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.decode() == "infoloss: interrupted\n"


# ------------------------------------------------------------------ the explorer


def test_explore_writes_one_small_page(tmp_path):
    out = tmp_path / "sub" / "explore.html"
    code, text = run_cli(["explore", "--out", str(out)])
    assert code == 0
    assert out.is_file()
    assert str(out) in text
    size = out.stat().st_size
    assert size < 1_000_000
    page = out.read_text(encoding="utf-8")
    assert "<script src" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


def test_explore_embeds_results_beside_it(tmp_path):
    results = {
        "meta": {"seed": 3, "quick": True, "infoloss_version": "x"},
        "training": {
            "iris": {
                "linear": {
                    "losses": {
                        "ce": {"lr": 1.0, "final_test_acc_mean": 0.9, "final_test_acc_std": 0.01}
                    }
                }
            }
        },
    }
    (tmp_path / "results.json").write_text(json.dumps(results))
    code, _ = run_cli(["explore", "--out", str(tmp_path / "explore.html")])
    assert code == 0
    page = (tmp_path / "explore.html").read_text(encoding="utf-8")
    assert '"seed": 3' in page


def test_explore_bad_results_is_one_line(tmp_path, capsys):
    bad = tmp_path / "results.json"
    bad.write_text("{}")
    code, _ = run_cli(["explore", "--out", str(tmp_path / "e.html"), "--results", str(bad)])
    assert code == 2
    err = capsys.readouterr().err
    assert "not the lab's results.json" in err
    assert len(err.strip().splitlines()) == 1


def test_explore_open_calls_the_browser(tmp_path, monkeypatch, capsys):
    import webbrowser

    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or True)
    code, _ = run_cli(["explore", "--out", str(tmp_path / "e.html"), "--open"])
    assert code == 0
    assert opened == [(tmp_path / "e.html").resolve().as_uri()]
    monkeypatch.setattr(webbrowser, "open", lambda url: False)
    code, _ = run_cli(["explore", "--out", str(tmp_path / "e.html"), "--open"])
    assert code == 0
    assert "could not open a browser" in capsys.readouterr().err
