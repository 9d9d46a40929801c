"""The window on run files: File → Save run, Open restores the step, boundary and charts and trains
on; the title's modified mark; Save / Discard / Cancel before an unsaved run is dropped."""

from pathlib import Path

import numpy as np
import pytest

from playground.experiment import Experiment
from playground.runfile import load_run, read_run


def trained_to(qtbot, window, steps):
    window.train_steps(steps)
    qtbot.waitUntil(lambda: window.snapshot.step == steps, timeout=20000)
    return window.snapshot


EXPERIMENT = Experiment.from_dict({"seed": 11, "data": {"dataset": "xor"},
                                   "network": {"hidden": [6, 4], "activation": "prelu"},
                                   "training": {"optimizer": "adam"}})


def test_save_run_then_open_restores_the_step_boundary_and_charts_and_trains_on(qtbot, make_window, tmp_path):
    window = make_window(EXPERIMENT)
    saved = trained_to(qtbot, window, 420)
    assert window.isWindowModified() and window.windowTitle().endswith("[*]")
    path = tmp_path / "lesson.pgrun"
    assert window.save_run(str(path))
    assert not window.isWindowModified() and "lesson.pgrun" in window.windowTitle()
    assert read_run(path)[0] == EXPERIMENT and load_run(path).step_count == 420

    other = make_window(Experiment())  # a second window, as tomorrow's start
    trained_to(qtbot, other, 30)
    assert other.open_experiment(str(path))
    qtbot.waitUntil(lambda: other.snapshot.step == 420, timeout=20000)
    restored = other.snapshot
    assert restored.experiment == EXPERIMENT and not other.isWindowModified()
    np.testing.assert_array_equal(restored.output_grid, saved.output_grid)
    np.testing.assert_array_equal(restored.history.steps, saved.history.steps)
    np.testing.assert_array_equal(restored.history.test_loss, saved.history.test_loss)
    assert other.experiment == EXPERIMENT and "lesson.pgrun" in other.windowTitle()

    window.train_steps(100)  # both go on: the same next steps
    other.train_steps(100)
    qtbot.waitUntil(lambda: window.snapshot.step == 520 and other.snapshot.step == 520, timeout=20000)
    np.testing.assert_allclose(other.snapshot.output_grid, window.snapshot.output_grid, atol=1e-6)
    assert other.isWindowModified()


def test_a_bad_run_file_is_explained_and_the_current_run_kept(qtbot, make_window, tmp_path):
    window = make_window(EXPERIMENT)
    trained_to(qtbot, window, 50)
    bad = tmp_path / "broken.pgrun"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert not window.open_experiment(str(bad))
    assert "broken.pgrun" in window.last_warning.text() and "unchanged" in window.last_warning.text()
    window.last_warning.close()
    window.worker.request_snapshot()
    qtbot.wait(200)
    assert window.snapshot.step == 50 and window.experiment == EXPERIMENT


@pytest.mark.parametrize("answer", ["cancel", "discard", "save"])
def test_unsaved_changes_ask_before_opening_another_file(qtbot, make_window, tmp_path, answer):
    window = make_window(EXPERIMENT)
    window.ask_before_discarding = True
    trained_to(qtbot, window, 40)
    other = tmp_path / "other.json"
    Experiment().with_field("seed", 3).save(other)
    asked = []
    window._ask_unsaved = lambda: asked.append(True) or answer
    saved_to = tmp_path / "kept.pgrun"
    window.save_run = lambda path=None, original=window.save_run: original(str(saved_to))
    opened = window.open_experiment(str(other))
    assert asked and opened == (answer != "cancel")
    assert saved_to.exists() == (answer == "save")
    if answer == "save":
        assert load_run(saved_to).step_count == 40
    if answer == "cancel":
        assert window.experiment == EXPERIMENT
    else:
        qtbot.waitUntil(lambda: window.snapshot.step == 0 and window.snapshot.experiment.seed == 3, timeout=10000)
        assert not window.isWindowModified()
        asked.clear()
        assert window.open_experiment(str(other)) and not asked  # nothing unsaved now: no question


def test_closing_with_unsaved_changes_asks_and_cancel_keeps_the_window(qtbot, make_window):
    window = make_window(EXPERIMENT)
    window.ask_before_discarding = True
    trained_to(qtbot, window, 10)
    window._ask_unsaved = lambda: "cancel"
    window.close()
    assert window.isVisible() and window.worker.isRunning()
    window._ask_unsaved = lambda: "discard"
    window.close()
    assert not window.isVisible()


def test_export_as_pytorch_from_the_window_writes_the_run_as_it_is(qtbot, make_window, tmp_path):
    import importlib.util

    import torch

    window = make_window(EXPERIMENT)
    shown = trained_to(qtbot, window, 200)
    assert window.export_pytorch(str(tmp_path / "net.py"))
    spec = importlib.util.spec_from_file_location("window_net", tmp_path / "net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net, data = module.load()
    with torch.no_grad():
        accuracy = ((net(data["test_points"]) > 0) == (data["test_labels"] > 0.5)).float().mean().item()
    assert accuracy == pytest.approx(shown.test_accuracy, abs=1e-6)  # torch averages in float32
    assert "step 200" in window.statusBar().currentMessage()


def test_recent_files_and_examples_menus(qtbot, make_window, tmp_path):
    from playground import bundled

    window = make_window(EXPERIMENT)
    trained_to(qtbot, window, 20)
    run = tmp_path / "a.pgrun"
    exp = tmp_path / "b.json"
    Experiment().with_field("seed", 5).save(exp)
    assert window.save_run(str(run)) and window.open_experiment(str(exp))
    assert window.recent_files()[:2] == [str(exp.resolve()), str(run.resolve())]
    window._fill_recent_menu()
    assert [a.text() for a in window.recent_menu.actions()][:2] == ["b.json", "a.pgrun"]
    window.recent_menu.actions()[1].trigger()  # the run, back at its step
    qtbot.waitUntil(lambda: window.snapshot.step == 20, timeout=10000)
    window._fill_examples_menu()
    names = [a.text() for a in window.examples_menu.actions()]
    assert names == [p.stem for p in bundled.example_files()] and names
    window.examples_menu.actions()[0].trigger()
    example = bundled.example_files()[0]
    assert window.path == str(example) and str(example.resolve()) not in window.recent_files()
    assert window._outside_examples(str(example)) == str(Path.home() / example.name)
