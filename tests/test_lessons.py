"""Lessons: every shipped lesson's claim holds on its own seeds (the code `playground lessons --check`
runs), bad lesson files get one line naming the field, and the CLI lists, checks and opens them by name."""

import json

import numpy as np
import pytest

from playground import bundled, lessons
from playground.cli import main

LESSONS = lessons.all_lessons()


def test_the_lessons_ship_and_have_unique_names_apart_from_the_examples():
    names = [lesson.name for lesson in LESSONS]
    assert len(names) >= 9 and len(set(names)) == len(names)
    assert not set(names) & {p.stem for p in bundled.example_files()}  # a name means one thing
    for lesson in LESSONS:  # every lesson shows within a minute at its own speed
        assert max(run.steps for run in lesson.runs) / lesson.speed <= lessons.SHOW_WITHIN_S


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.name for lesson in LESSONS])
def test_every_lesson_holds_on_its_seeds(lesson):
    result = lessons.check(lesson)
    assert result.held, "\n".join(lessons.summary(result))
    assert len(result.results) == len(lesson.runs) * len(lesson.seeds)


def test_a_check_that_the_run_does_not_meet_fails(tmp_path):
    """The checker is not a rubber stamp: the dying-ReLU lesson's check, asked of the Leaky run, fails."""
    dying, leaky = lessons.load(lessons.find("dying_relu_bias")), lessons.load(lessons.find("leaky_wakes"))
    swapped = lessons.Run("leaky with ReLU's check", leaky.runs[0].experiment, dying.runs[0].check)
    result = lessons.check_run(swapped, 0)
    assert not result.held and not result.stages[0].held  # the units sleep, they are not dead
    assert result.stages[0].figures["dead_fraction"] == 0.0


def test_figures_and_their_words_come_from_the_snapshot():
    from playground.training import Trainer

    lesson = lessons.load(lessons.find("dying_relu_bias"))
    snap = Trainer(lesson.experiment(), grid_size=8).snapshot()
    stage = lesson.runs[0].check[0]
    n = snap.counts()
    assert lessons.metric("dead_fraction", snap) == n["dead"] / n["total"] > 0.5
    figures = stage.figures(snap)  # step 0: read from the history's row there, equal to the snapshot's
    assert figures.step == 0 and figures.values["dead_fraction"] == pytest.approx(n["dead"] / n["total"])
    assert stage.describe(figures) == (f"at step 0: {n['dead']} of {n['total']} units dead "
                                       f"({n['dead'] / n['total']:.0%}; needs ≥ 50%)")


def test_a_late_snapshot_is_judged_on_the_history_row_at_the_stage_step():
    """The window may first draw step 37 of a run: the step-0 stage still reads step 0's figures."""
    from playground.training import Trainer

    lesson = lessons.load(lessons.find("leaky_wakes"))
    trainer = Trainer(lesson.experiment(), grid_size=8)
    at_zero = trainer.snapshot()
    trainer.step(37)
    late = trainer.snapshot()
    stage = lesson.runs[0].check[0]  # sleeping ≥ 0.5 at step 0
    assert lessons.metric("sleeping_fraction", late) < 0.5 <= lessons.metric("sleeping_fraction", at_zero)
    figures = stage.figures(late)
    assert figures.step == 0 and stage.holds(figures)
    assert figures.values["sleeping_fraction"] == pytest.approx(lessons.metric("sleeping_fraction", at_zero))
    live = lessons.LiveCheck(lesson)
    assert live.update(late)[0].held is True


def write(tmp_path, raw, name="01_x.json"):
    path = tmp_path / name
    path.write_text(json.dumps(raw) if isinstance(raw, dict) else raw)
    return path


GOOD = {"title": "t", "claim": "c", "click": ["Play."], "watch": ["w"], "speed": 20, "seeds": [0, 1],
        "experiment": "xor_tanh", "check": {"at_step": 10, "all": [{"metric": "test_accuracy", ">=": 0.1}]}}


def test_a_good_file_loads_with_its_name_from_the_stem(tmp_path):
    lesson = lessons.load(write(tmp_path, GOOD, "03_my_lesson.json"))
    assert lesson.name == "my_lesson" and lesson.runs[0].experiment.data.dataset == "xor"
    toml = write(tmp_path, 'title = "t"\nclaim = "c"\nclick = "Play."\nwatch = "w"\nspeed = 5\nseeds = [3]\n'
                           'experiment = "xor_tanh"\n[check]\nat_step = 2\nall = [{metric = "diverged", "==" = 0}]\n',
                 "t.toml")
    assert lessons.load(toml).runs[0].check[0].conditions[0].value == 0.0


@pytest.mark.parametrize("change, words", [
    ({"speed": 0}, "speed = 0 is not allowed: a number from 1 to 10000"),
    ({"speed": 1, "check": {"at_step": 100, "all": [{"metric": "test_accuracy", ">=": 0.1}]}},
     "speed = 1 is not allowed: at least 2 steps/s"),
    ({"seeds": [1, 1]}, "seeds = [1, 1] is not allowed: a list of 1 to 50 different whole numbers"),
    ({"colour": "red"}, "colour = 'red' is not allowed: an unknown key"),
    ({"check": {"at_step": 5, "all": [{"metric": "happiness", ">=": 1}]}},
     "check.all[0].metric = 'happiness' is not allowed: one of test_accuracy"),
    ({"check": {"at_step": 5, "all": [{"metric": "test_accuracy", "~": 1}]}}, "check.all[0].~ = 1 is not allowed"),
    ({"check": [{"at_step": 5, "all": [{"metric": "test_accuracy", ">=": 1}]}, {"at_step": 2, "all": [{"metric": "test_accuracy", ">=": 1}]}]},
     "check = [5, 2] is not allowed: stages in the order of their at_step"),
    ({"experiment": {"network": {"activation": "swish"}}}, "experiment: network.activation = 'swish' is not allowed"),
    ({"compare": {}}, "compare = {} is not allowed: not yet"),
    ({"runs": []}, "either experiment and check"),
])
def test_a_bad_file_gets_one_line_naming_the_field(tmp_path, change, words):
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(lessons.LessonError) as error:
        lessons.load(path)
    message = str(error.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message


def test_cli_lists_lessons_as_json(capsys):
    assert main(["lessons", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["name"] for item in listed] == [lesson.name for lesson in LESSONS]
    assert set(listed[0]) == {"name", "title", "claim"}


def test_cli_check_prints_the_claim_and_figures_and_exits_0(capsys):
    assert main(["lessons", "--check", "prelu_slopes"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("prelu_slopes: Every PReLU unit") and "prelu_slope_max" in out and "HELD: 10 of 10" in out


def test_cli_check_exits_1_when_a_claim_fails(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "lessons"
    folder.mkdir()
    write(folder, {**GOOD, "check": {"at_step": 10, "all": [{"metric": "test_accuracy", ">=": 1.5}]}}, "01_never.json")
    monkeypatch.setattr(bundled, "lessons_dir", lambda: folder)
    assert main(["lessons", "--check"]) == 1
    assert "DID NOT HOLD: 0 of 2 seeds" in capsys.readouterr().out


def test_cli_unknown_lesson_is_one_line_and_exit_2(capsys):
    assert main(["lessons", "--check", "no_such_lesson"]) == 2
    err = capsys.readouterr().err
    assert "no lesson called 'no_such_lesson'" in err and err.count("\n") == 1


def test_train_takes_a_lessons_name(capsys):
    assert main(["train", "dying_relu_bias", "--steps", "50", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["neurons"]["dead"] >= result["neurons"]["total"] / 2 and result["test_accuracy"] <= 0.6


def test_live_check_decides_each_stage_once_and_follows_the_run_on_screen():
    from playground.training import Trainer

    lesson = lessons.load(lessons.find("linear_vs_tanh"))
    live = lessons.LiveCheck(lesson)
    trainer = Trainer(lesson.experiment(1), grid_size=8)  # the tanh run
    views = live.update(trainer.snapshot())
    assert live.run.label == "tanh" and [v.held for v in views] == [None]  # step 300 not reached
    trainer.step(300)
    snap = trainer.snapshot()
    views = live.update(snap)
    assert views[0].held is True and f"test accuracy {snap.test_accuracy:.3g}" in views[0].text
    trainer.step(50)
    assert live.update(trainer.snapshot())[0].text == views[0].text  # decided at step 300, stays
    other = Trainer(lesson.experiment(0).with_field("network.hidden", [3]), grid_size=8)
    assert live.update(other.snapshot()) == [] and live.run is None  # settings of no run: no verdict


def test_snapshot_layer_statistics_are_the_activations_mean_and_std():
    """Checked against a plain forward pass written here: f(W·a + b) layer by layer over the training set."""
    from playground.activations import ACTIVATIONS
    from playground.snapshot import data_features
    from playground.training import Trainer

    lesson = lessons.load(lessons.find("selu_normalises"))
    trainer = Trainer(lesson.experiment(0), grid_size=8)
    trainer.step(20)
    snap = trainer.snapshot()
    a = data_features(trainer.data, snap.experiment.data.features)[0].astype(np.float64)
    for k, layer in enumerate(trainer.model.layers[:-1]):
        a = ACTIVATIONS["selu"].f(a @ layer.W + layer.b, layer.slope, layer.alpha)
        assert snap.layer_mean[k] == pytest.approx(a.mean(), abs=1e-4)
        assert snap.layer_std[k] == pytest.approx(a.std(), rel=1e-4)
    assert lessons.metric("layer_std_last", snap) == pytest.approx(a.std(), rel=1e-4)


def test_steps_to_95_is_the_first_recorded_step_at_the_target():
    from playground.training import Trainer

    lesson = lessons.load(lessons.find("steps_to_target"))
    trainer = Trainer(lesson.experiment(0), grid_size=8)  # ELU
    trainer.step(150)
    snap = trainer.snapshot()
    steps = lessons.metric("steps_to_95", snap)
    history = snap.history
    first = int(np.flatnonzero(history.test_accuracy >= 0.95)[0])
    assert steps == history.steps[first] and np.all(history.test_accuracy[:first] < 0.95)
    assert lessons.metric("steps_to_95", Trainer(lesson.experiment(3), grid_size=8).snapshot()) == float("inf")


def test_a_figure_first_seen_long_after_its_step_gets_no_verdict_live():
    """PReLU slopes are not in the history: a window that first draws step 300 cannot judge step 0."""
    from playground.training import Trainer

    lesson = lessons.load(lessons.find("prelu_slopes"))
    trainer = Trainer(lesson.experiment(), grid_size=8)
    trainer.step(300)
    views = lessons.LiveCheck(lesson).update(trainer.snapshot())
    assert views[0].held is None and "not seen" in views[0].text  # not a false ✗
    assert views[1].held is True  # step 300 itself is judged


def test_a_broken_shipped_lesson_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "lessons"
    folder.mkdir()
    write(folder, {**GOOD, "seeds": "all"}, "01_broken.json")
    monkeypatch.setattr(bundled, "lessons_dir", lambda: folder)
    assert main(["lessons", "--check"]) == 2
    err = capsys.readouterr().err
    assert "01_broken.json: seeds = 'all' is not allowed" in err and err.count("\n") == 1
    assert main(["train", "broken"]) == 2  # a lesson's name, but its file is bad: the same line
    assert "seeds = 'all' is not allowed" in capsys.readouterr().err


def test_contrasts_that_differ_in_one_field_race_in_compare_mode():
    """compare_spec gives back exactly the lesson's runs, or None (several fields, one run)."""
    from playground.compare import parse_variants

    specs = {lesson.name: lessons.compare_spec(lesson) for lesson in lessons.all_lessons()}
    assert specs["linear_vs_tanh"] == "activation=linear,tanh"
    assert specs["exploding_clipping"] == "training.grad_clip=null,1.0"
    assert specs["dying_relu_bias"] is None  # one run
    assert specs["high_lr_kills"] is None  # its runs change the activation and the learning rate
    assert specs["exploding_batchnorm"] == "network.batch_norm=false,true"  # compare mode trains batch norm
    for lesson in lessons.all_lessons():
        if specs[lesson.name]:
            _, variants = parse_variants(specs[lesson.name], lesson.experiment(0))
            assert [v.experiment for v in variants] == [lesson.experiment(i) for i in range(len(lesson.runs))]
