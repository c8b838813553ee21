"""`vafa flash build --model`: the model chooses the drivers that go into the bundle, the
manifest records it, and install/verify refuse a bundle built for another model."""

import json

from flashing import bundle as bundles
from vafa.cli import main


def build(tmp_path, capsys, *model):
    out = tmp_path / ("bundle-" + (model[-1] if model else "default"))
    assert main(["flash", "build", "--out", str(out), *model]) == 0
    return out, json.loads((out / "manifest.json").read_text()), capsys.readouterr().out


def test_default_model_is_the_demo_terminal(tmp_path, capsys):
    _, manifest, said = build(tmp_path, capsys)
    assert manifest["model"] == bundles.DEFAULT_MODEL == "vafa-t1"
    assert f"(model {bundles.DEFAULT_MODEL})" in said


def test_full_model_carries_every_driver(tmp_path, capsys):
    _, t1, _ = build(tmp_path, capsys, "--model", "vafa-t1")
    _, full, said = build(tmp_path, capsys, "--model", "full")
    assert full["model"] == "full" and "(model full)" in said
    extra = set(full["files"]) - set(t1["files"])
    left_out = {path[: -len(".py")] + ".mpy" for path in bundles.left_out("vafa-t1")}
    assert extra == left_out and extra  # exactly the drivers vafa-t1 does without
    assert set(t1["files"]) < set(full["files"])


def test_unknown_model_is_refused_by_name(capsys):
    assert main(["flash", "build", "--model", "t9"]) == 2
    assert "invalid choice: 't9'" in capsys.readouterr().err


def test_install_refuses_a_bundle_of_another_model(tmp_path, capsys):
    out, _, _ = build(tmp_path, capsys, "--model", "full")
    # the model is checked before any device is opened: no port needed to exist
    code = main(["flash", "verify", "--port", str(tmp_path / "no-tty"), "--bundle", str(out),
                 "--model", "vafa-t1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2  # a wrong bundle is bad input
    assert "built for model full, not vafa-t1: vafa flash build --model vafa-t1" in err
