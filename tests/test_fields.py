"""The field table (playground/fields.py): every row's range is what validation enforces, its live or
rebuild word is what the Trainer does, and the README's field list is the table.

`python tests/test_fields.py` rewrites the README's field list from the table.
"""

import dataclasses
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from playground import fields
from playground.experiment import SECTIONS, Experiment, ExperimentError
from playground.fields import FIELDS, TABLE
from playground.training import Trainer

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- fields: begin -->\n", "<!-- fields: end -->"


def raw_with(path: str, value) -> dict:
    """An experiment file's dict with one field set: "network.activation_params.alpha" nests three deep."""
    *outer, last = path.split(".")
    raw = node = {}
    for part in outer:
        node = node.setdefault(part, {})
    node[last] = value
    return raw


def accepted(path: str, value) -> bool:
    try:
        Experiment.from_dict(raw_with(path, value))
    except ExperimentError:
        return False
    return True


def refusal(path: str, value) -> str:
    with pytest.raises(ExperimentError) as caught:
        Experiment.from_dict(raw_with(path, value))
    return str(caught.value)


NUMBER_ROWS = [row for row in TABLE if row.kind in (fields.NUMBER, fields.WHOLE)]


# ---- the table is the experiment's ------------------------------------------------------------------
def test_the_table_has_a_row_for_every_field_in_the_dataclasses_order():
    expected = ["version", "seed"]
    for name, cls in SECTIONS.items():
        for item in dataclasses.fields(cls):
            expected.append(f"{name}.{item.name}")
            if item.name == "activation_params":  # its parts have rows of their own, after it
                expected += [f"{name}.{item.name}.{part}" for part in fields.ACTIVATION_PARAM_NAMES]
    assert [row.path for row in TABLE] == expected
    assert {row.activation for row in TABLE if row.activation} <= set(fields.ACTIVATION_NAMES)
    for row in TABLE:
        assert row.label and row.help and "|" not in row.help and row.change in (fields.HOT, fields.MODEL,
                                                                                fields.DATA, None)
        row.stored(Experiment())  # every path reads


# ---- ranges: what each row allows is what validation enforces ----------------------------------------
@pytest.mark.parametrize("row", NUMBER_ROWS, ids=lambda row: row.path)
def test_every_number_field_takes_its_range_and_refuses_outside_it(row):
    inside = [row.low, row.high, (row.low + row.high) / 2 if row.kind == fields.NUMBER else (row.low + row.high) // 2]
    for value in inside:
        assert accepted(row.path, value), (row.path, value)
    if row.kind == fields.WHOLE:
        outside = [row.low - 1, row.high + 1, float(row.low), row.low + 0.5, True]
    else:
        outside = [math.nextafter(row.low, -math.inf), math.nextafter(row.high, math.inf), math.nan, math.inf]
    outside += ["1", [row.low]]
    for value in outside:
        message = refusal(row.path, value)
        assert message.startswith(f"{row.path} = ") and message.endswith(f" is not allowed: {row.allowed}"), message
    number = "a whole number" if row.kind == fields.WHOLE else "a number"
    assert f"{number} from {row.low} to {row.high}" in row.allowed
    if row.null is None:
        assert refusal(row.path, None).endswith(row.allowed)
    else:
        assert accepted(row.path, None) and row.allowed.startswith(f"null ({row.null}) or ")


@pytest.mark.parametrize("row", [row for row in TABLE if row.kind == fields.CHOICE], ids=lambda row: row.path)
def test_every_choice_field_takes_each_name_and_refuses_others(row):
    for name in row.choices:
        assert accepted(row.path, name)
    for value in ("nope", name.upper(), None, 1, [row.choices[0]]):
        assert refusal(row.path, value).endswith(f" is not allowed: one of {', '.join(row.choices)}")


@pytest.mark.parametrize("row", [row for row in TABLE if row.kind == fields.SWITCH], ids=lambda row: row.path)
def test_every_switch_takes_true_or_false_only(row):
    assert accepted(row.path, True) and accepted(row.path, False)
    for value in (1, 0, "yes", None):
        assert refusal(row.path, value).endswith("is not allowed: true or false")


def test_the_structured_fields_take_their_range():
    hidden, features, activation = FIELDS["network.hidden"], FIELDS["data.features"], FIELDS["network.activation"]
    assert accepted("network.hidden", []) and accepted("network.hidden", [fields.MAX_UNITS] * fields.MAX_LAYERS)
    assert refusal("network.hidden", [1] * (fields.MAX_LAYERS + 1)).endswith(hidden.allowed)
    for size in (0, fields.MAX_UNITS + 1, 2.0):
        assert refusal("network.hidden", [size]).endswith(f"a whole number from 1 to {fields.MAX_UNITS}")
    for name in features.choices:
        assert accepted("data.features", [name])
    assert refusal("data.features", []).endswith(features.allowed)
    assert refusal("data.features", ["x1", "x1"]).endswith("each feature at most once")
    for name in activation.choices:
        assert accepted("network.activation", name) and accepted("network.activation", [name, name])
    assert "2 names" in refusal("network.activation", ["relu"])
    assert refusal("network.activation_params", {"beta": 1}).endswith("one of negative_slope, alpha, prelu_init")
    assert refusal("network.activation_params", [1]).endswith(FIELDS["network.activation_params"].allowed)
    points = [[0.0, 0.0, 0]] * 5 + [[1.0, 1.0, 1]] * 5
    assert accepted("data.points", points) and accepted("data.points", None)
    assert refusal("data.points", points[:9]).endswith(FIELDS["data.points"].allowed + ", at most 5000 rows")
    assert refusal("data.points", [[2e6, 0, 1]] + points).startswith("data.points[0] = ")
    assert accepted("version", 1) and refusal("version", 2).startswith("version = 2 is not allowed: 1")


def test_the_window_path_checks_the_same_rows():
    for row in NUMBER_ROWS:
        if row.path.count(".") == 1:  # a section's field, as the panels edit it
            with pytest.raises(ExperimentError, match=re.escape(row.allowed)):
                Experiment().with_field(row.path, row.high + 1)


def test_a_number_field_is_shown_as_a_person_reads_it():
    e = Experiment.from_dict({"training": {"learning_rate": 0.003, "batch_size": 25}})
    assert FIELDS["training.learning_rate"].shown(e) == "0.003" and FIELDS["training.batch_size"].shown(e) == "25"
    assert FIELDS["network.bias_init"].shown(e) == "the init's own rule"  # null says what it means
    assert FIELDS["network.bias_init"].shown(e.with_field("network.bias_init", -2.0)) == "-2"


# ---- live or rebuild ----------------------------------------------------------------------------------
def _other_value(row, experiment):
    """A valid value of the field different from the experiment's."""
    current = row.stored(experiment)
    others = {fields.CHOICE: lambda: next(c for c in row.choices if c != current),
              fields.SWITCH: lambda: not current, fields.FEATURES: lambda: ("x1",), fields.SIZES: lambda: (3,),
              fields.ACTIVATION: lambda: "relu", fields.POINTS: lambda: ((0.0, 0.0, 0),) * 5 + ((1.0, 1.0, 1),) * 5}
    if row.kind in others:
        return others[row.kind]()
    middle = (row.low + row.high) / 2 if row.kind == fields.NUMBER else (row.low + row.high) // 2
    return middle if middle != current else row.high


def _changed(experiment, row, value):
    if row.activation is not None:
        return experiment.with_field("network.activation_params", {row.name: value})
    return experiment.with_field(row.path, value)


@pytest.mark.parametrize("row", [row for row in TABLE if row.change], ids=lambda row: row.path)
def test_a_change_applies_as_its_row_says(row):
    base = Experiment().with_field("network.activation", row.activation or "tanh")
    changed = _changed(base, row, _other_value(row, base))
    assert fields.change(base, changed) == row.change
    trainer = Trainer(base, grid_size=2)
    trainer.step(5)
    weights = trainer.model.params.copy()
    assert trainer.apply(changed) == row.change
    fresh = Trainer(changed, grid_size=2)
    assert trainer.model.params.shape == fresh.model.params.shape  # the network it now trains is the new one's
    assert np.array_equal(trainer.data.train_labels, fresh.data.train_labels)
    if row.change == fields.HOT:  # live: the run goes on from its step and weights
        assert trainer.step_count == 5 and np.array_equal(trainer.model.params, weights)
    else:  # rebuilt: exactly what a fresh start on the new experiment has
        assert trainer.step_count == 0 and np.array_equal(trainer.model.params, fresh.model.params)
    trainer.step(2)


def test_what_a_run_sees_the_same_is_no_change():
    e = Experiment()
    assert fields.change(e, e.with_field("network.activation", ("tanh", "tanh"))) == fields.HOT
    assert fields.change(e, e.with_field("network.activation_params", {"prelu_init": 0.25})) == fields.HOT
    both = e.with_field("training.learning_rate", 0.1).with_field("network.hidden", (3,)).with_field("seed", 4)
    assert fields.change(e, both) == fields.DATA  # the most any changed field needs


# ---- the README -------------------------------------------------------------------------------------
def readme_with_table(text: str) -> str:
    head, rest = text.split(BEGIN, 1)
    return head + BEGIN + fields.markdown(Experiment()) + END + rest.split(END, 1)[1]


def test_the_readme_field_list_is_the_table():
    text = README.read_text(encoding="utf-8")
    assert text == readme_with_table(text), "the README's field list is stale: run python tests/test_fields.py"


def test_the_readme_example_file_is_the_defaults():
    section = README.read_text(encoding="utf-8").split("## The experiment file", 1)[1]
    example = section.split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(example) == Experiment().to_dict()


if __name__ == "__main__":
    README.write_text(readme_with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{README}: the field list rewritten from playground/fields.py", file=sys.stderr)
