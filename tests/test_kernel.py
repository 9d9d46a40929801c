"""The compiled engine (kernel.py) trains exactly as the numpy engine, up to float32 rounding."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from playground import kernel, maths
from playground.activations import ACTIVATIONS
from playground.experiment import ACTIVATION_NAMES, Experiment
from playground.training import Trainer


# numba is a dependency: without it these fail. Only a deliberate PLAYGROUND_ENGINE=numpy (a run of
# the whole suite on the numpy engine) skips what needs the compiled one.
compiled_only = pytest.mark.skipif(os.environ.get("PLAYGROUND_ENGINE", "").lower() == "numpy",
                                   reason="PLAYGROUND_ENGINE=numpy switches the compiled engine off")


def experiment(**sections):
    base = {"data": {"dataset": "spiral", "noise": 0.1, "features": ["x1", "x2", "x1x2", "sin_x1"]},
            "network": {"hidden": [6, 5, 4], "activation": "tanh"},
            "training": {"learning_rate": 0.03, "batch_size": 7}}
    for key, value in sections.items():
        base[key] = {**base[key], **value}
    return Experiment.from_dict(base)


def run_both(exp, steps=150):
    """The same experiment on both engines: (numpy trainer, compiled trainer) after `steps` steps.

    Not many more: rounding differs in the last bit, and once a ReLU's z sits that close to 0 the two
    runs part a little further (momentum, 240 steps: 2e-4), as any two BLAS builds would."""
    plain, compiled = Trainer(exp, grid_size=8, engine="numpy"), Trainer(exp, grid_size=8, engine="compiled")
    plain.step(steps)
    compiled.step(steps)
    assert compiled.uses_compiled_engine() and not plain.uses_compiled_engine()
    return plain, compiled


def assert_same_run(plain, compiled, rtol=2e-3, atol=2e-4):
    assert compiled.step_count == plain.step_count and compiled.points_seen == plain.points_seen
    assert np.array_equal(compiled._epoch_x, plain._epoch_x)  # the same batches, in the same order
    np.testing.assert_allclose(compiled.model.params, plain.model.params, rtol=rtol, atol=atol)
    np.testing.assert_allclose(compiled.model.grad, plain.model.grad, rtol=rtol, atol=atol)
    np.testing.assert_allclose(compiled.history().train_loss, plain.history().train_loss, rtol=rtol, atol=atol)


def test_activation_codes_follow_the_registry():
    assert list(kernel.ACTIVATION_CODES) == list(ACTIVATIONS)
    z = np.linspace(-25, 25, 501)
    for name, code in kernel.ACTIVATION_CODES.items():
        spec = ACTIVATIONS[name]
        a = spec.f(z.astype(np.float32), np.float32(0.07), 0.8)
        df = spec.df(z.astype(np.float32), np.float32(0.07), 0.8)
        ours = [maths.activate(code, float(v), 0.07, 0.8) for v in z]
        slopes = [maths.derivative(code, float(v), float(o), 0.07, 0.8) for v, o in zip(z, ours)]
        np.testing.assert_allclose(ours, a, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(slopes, df, rtol=1e-4, atol=1e-6, err_msg=name)


def _ulps(ours, x):
    """|ours - tanh(x)| in units in the last place of float32 tanh(x) (tanh in float64)."""
    exact = np.tanh(x.astype(np.float64))
    return np.abs(ours.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(np.float32))


def test_fast_tanh_is_torchs_tanh_to_a_few_units_in_the_last_place():
    """maths.fast_tanh on a dense grid (numpy's float32 arithmetic, no fused multiply-adds): within
    5 ulps of tanh, and of torch's float32 tanh; odd; exactly ±1 where float32 tanh is, NaN stays NaN."""
    import torch

    x = np.linspace(-12, 12, 2_000_001, dtype=np.float32)
    ours = maths.fast_tanh(x)
    assert ours.dtype == np.float32
    assert _ulps(ours, x).max() <= 7  # 6.6 without fused multiply-adds
    np.testing.assert_allclose(ours, torch.tanh(torch.from_numpy(x)).numpy(), rtol=0, atol=4e-7)
    assert np.array_equal(maths.fast_tanh(-x), -ours)
    assert np.all(np.abs(ours) <= 1.0) and np.all(ours[np.abs(x) >= 9.1] == np.sign(x[np.abs(x) >= 9.1]))
    special = maths.fast_tanh(np.array([np.nan, np.inf, -np.inf, 0.0], np.float32))
    assert np.isnan(special[0]) and special[1:].tolist() == [1.0, -1.0, 0.0]


@compiled_only
def test_the_compiled_engine_computes_tanh_as_fast_tanh():
    """The kernel's forward (plan.A after a step) is tanh of its pre-activations (plan.Z) to 5 ulps,
    over z beyond ±12 (raw inputs, init gain 10), and a saturated unit's a is exactly ±1."""
    exp = experiment(network={"hidden": [32], "init_gain": 10.0}, data={"standardize": False}, training={"batch_size": 32})
    trainer = Trainer(exp, grid_size=8, engine="compiled")
    trainer.step(1)
    plan = trainer._kernel_plan
    z, a = plan.Z[0, :, :32], plan.A[1, :, :32]
    assert np.abs(z).max() > 12 and (np.abs(z) < 2).sum() > 20  # both the curve and its tails are covered
    assert _ulps(a, z).max() <= 5
    assert np.all(a[np.abs(z) >= 9.1] == np.sign(z[np.abs(z) >= 9.1]))


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@compiled_only
def test_every_activation_trains_the_same_on_both_engines(activation):
    exp = experiment(network={"activation": activation, "activation_params": {"negative_slope": 0.05, "alpha": 0.7}})
    assert_same_run(*run_both(exp))


@compiled_only
@pytest.mark.parametrize("training", [
    {"optimizer": "momentum"},
    {"optimizer": "adam", "learning_rate": 0.01},
    {"loss": "mse", "learning_rate": 0.3},
    {"loss": "tanh_mse"},
    {"regularization": "l2", "regularization_rate": 0.03},
    {"regularization": "l1", "regularization_rate": 0.01},
    {"grad_clip": 0.05, "learning_rate": 0.3},
    {"batch_size": 1},
    {"batch_size": 32},  # the last batch of each epoch is short
])
def test_optimisers_losses_regularisation_and_clipping_match(training):
    assert_same_run(*run_both(experiment(training=training, network={"activation": ("relu", "prelu", "elu")})))


@compiled_only
def test_a_live_change_of_slope_batch_and_optimiser_reaches_the_compiled_engine():
    exp = experiment(network={"activation": "leaky_relu"})
    plain, compiled = run_both(exp, steps=120)
    changed = exp.with_field("network.activation_params", {"negative_slope": 0.3})
    changed = changed.with_field("training.batch_size", 13).with_field("training.optimizer", "adam")
    for trainer in (plain, compiled):
        assert trainer.apply(changed) == "hot"
        trainer.step(150)
    assert_same_run(plain, compiled)


@compiled_only
def test_a_diverging_run_stops_on_the_compiled_engine_too():
    exp = Experiment.load("resources/experiments/exploding.json")
    trainer = Trainer(exp, grid_size=8, engine="compiled")
    assert trainer.uses_compiled_engine() == (not exp.network.batch_norm)
    trainer.step(500)
    assert trainer.diverged and trainer.step_count < 50


@compiled_only
def test_batch_norm_trains_on_the_numpy_engine():
    trainer = Trainer(experiment(network={"batch_norm": True}), grid_size=8, engine="compiled")
    trainer.step(30)
    assert not trainer.uses_compiled_engine() and np.isfinite(trainer.model.params).all()


def test_an_unknown_engine_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="auto, numpy, compiled"):
        Trainer(experiment(), engine="fast")


def test_playground_engine_numpy_switches_the_compiled_engine_off():
    code = "from playground import kernel; print(kernel.available())"
    env = {**os.environ, "PLAYGROUND_ENGINE": "numpy"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


@compiled_only
def test_prepare_tells_the_user_only_when_compiling_takes_a_while(monkeypatch):
    said = []
    assert kernel.prepare(said.append, after=5.0) and said == []  # compiled already: nothing to say
    monkeypatch.setattr(kernel, "available", lambda probes_later=False: time.sleep(0.4) or True)
    assert kernel.prepare(said.append, after=0.05)
    assert len(said) == 2 and "compiled training engine" in said[0] and said[1] == ""


@compiled_only
def test_a_kernel_that_cannot_compile_leaves_training_to_numpy_with_one_line(monkeypatch, capsys):
    def broken(compiled):
        raise TypeError("no such signature")

    monkeypatch.setattr(kernel, "_try_out_steps", broken)
    assert kernel.CompiledEngine().run_steps is None
    assert capsys.readouterr().err.strip() == (
        "playground: training on the numpy engine (numba could not compile the kernel: TypeError: no such signature)")
    assert kernel.available()  # what was compiled before stays in use


@compiled_only
def test_probes_compiled_later_come_in_beside_the_steps_and_a_broken_one_stays_on_numpy(monkeypatch, capsys):
    """probes_later (the window's training process): run_steps is ready on return, the probe's
    passes a moment later from their own thread; if they cannot compile, one line, and numpy probes."""
    engine = kernel.CompiledEngine(probes_later=True)
    assert engine.run_steps is not None
    engine.probes_compiling.join(120)
    assert engine.probe_pass is not None and engine.probe_counts is not None and engine.count_rows is not None

    def broken(probes):
        raise TypeError("no such signature")

    monkeypatch.setattr(kernel, "_try_out_probes", broken)
    engine = kernel.CompiledEngine(probes_later=True)
    engine.probes_compiling.join(120)
    assert engine.run_steps is not None and engine.probe_pass is None
    assert capsys.readouterr().err.strip() == (
        "playground: the health probe runs on numpy (numba could not compile it: TypeError: no such signature)")


@compiled_only
def test_until_the_compiled_probe_is_ready_the_numpy_probe_records_the_same_history(monkeypatch):
    """Compiled steps with the numpy probe (probes not ready yet) give the run and history of
    compiled steps with the compiled probe, up to float32 rounding."""
    exp = experiment()
    compiled = Trainer(exp, grid_size=8, engine="compiled")
    compiled.step(150)
    waiting = kernel.CompiledEngine.__new__(kernel.CompiledEngine)
    waiting.run_steps, waiting.probe_pass = kernel.engine().run_steps, None
    waiting.probe_counts = waiting.count_rows = waiting.probes_compiling = None
    monkeypatch.setattr(kernel, "_engine", waiting)
    assert not kernel.probes_ready()
    early = Trainer(exp, grid_size=8, engine="compiled")
    early.step(150)
    assert early._states_plan is None  # the states came from the numpy probe
    assert np.array_equal(early.model.params, compiled.model.params)  # the probe does not touch training
    for name in ("train_loss", "test_accuracy", "dead_fraction", "saturated_fraction"):
        np.testing.assert_allclose(getattr(early.history(), name), getattr(compiled.history(), name),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("loss", maths.LOSS_NAMES)
@compiled_only
def test_every_loss_trains_the_same_on_both_engines(loss):
    """A loss added to maths.LOSS_NAMES without its branch in run_steps fails here."""
    assert_same_run(*run_both(experiment(training={"loss": loss, "learning_rate": 0.3})))


def test_unknown_codes_raise_instead_of_falling_through():
    for unknown in (-1, 12):
        with pytest.raises(ValueError, match="unknown activation code"):
            maths.activate(unknown, 0.5, 0.1, 1.0)
        with pytest.raises(ValueError, match="unknown activation code"):
            maths.derivative(unknown, 0.5, 0.5, 0.1, 1.0)
    with pytest.raises(ValueError, match="unknown loss code"):
        maths.loss_gradient(7, 0.5, 1.0, 0.0, 1.0)
    assert len(maths.LOSS_GRADIENTS) == len(maths.LOSS_NAMES)
    with pytest.raises(ValueError, match="unknown regularization code"):
        maths.regularised(0.1, 0.2, 1.0, 9, 0.5)
    with pytest.raises(ValueError, match="unknown optimizer 'nesterov': one of sgd, momentum, adam"):
        maths.code_of(maths.OPTIMIZER_CODES, "nesterov", "optimizer")
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        maths.activation_into("swish")


@compiled_only
def test_the_compiled_loop_refuses_an_unknown_code():
    plan_args = _tiny_run_arguments()
    plan_args["layout"][0, 3] = 12  # a hidden layer's activation code past linear
    plan_args["layout"][0, 4] = -1
    with pytest.raises(ValueError, match="unknown activation code"):
        kernel.engine().run_steps(**plan_args)


def _tiny_run_arguments():
    f32 = np.float32
    params, grad, mask = np.zeros(13, f32), np.zeros(13, f32), np.ones(13, f32)
    layout = np.array([[0, 2, 3, 10, -1], [9, 3, 1, -1, -1]], np.int64)
    X, C = np.ones((4, 3), f32), np.ones(4, f32)
    work = np.zeros((2, 4, 3), f32)
    return dict(params=params, grad=grad, layout=layout, slopes=np.zeros(2), alpha=1.0, X=X, C=C, Y=C, start=0,
                batch=4, n_steps=1, loss_code=0, optimizer_code=0, lr=0.1, reg_code=0, reg_rate=0.0, mask=mask,
                clip=0.0, velocity=np.zeros(0, f32), m=np.zeros(0, f32), v=np.zeros(0, f32), adam_t=0, A=work,
                Z=work.copy(), back=work.copy())


def test_the_plain_python_loop_is_left_alone_by_compiling():
    """The engine compiles copies: maths.py's functions stay Python, whatever ran before."""
    kernel.available()
    assert not hasattr(maths.run_steps, "py_func") and not hasattr(maths.activate, "py_func")
    args = _tiny_run_arguments()
    maths.run_steps(**args)  # runs uncompiled, as plain Python
    assert np.isfinite(args["params"]).all()


@compiled_only
def test_auto_takes_the_kernel_only_where_it_is_the_faster_engine():
    def auto(hidden, batch, activation="relu"):
        exp = experiment(network={"hidden": hidden, "activation": activation}, training={"batch_size": batch})
        return Trainer(exp, grid_size=8).uses_compiled_engine()

    assert auto([4, 2], 10) and auto([8] * 6, 10) and auto([16] * 6, 10) and auto([8] * 6, 1)  # TFP's sizes
    assert auto([32] * 3, 10) and auto([16] * 3, 32)  # wider, or batch 32: still the faster one
    assert not auto([4, 2], 250)  # the whole set at once: numpy's SIMD tanh wins
    assert not auto([32] * 8, 32)  # 235k multiply-adds a step: BLAS wins
    trainer = Trainer(experiment(network={"hidden": [4, 2]}), grid_size=8)
    trainer.step(5)
    assert trainer.uses_compiled_engine()
    trainer.apply(trainer.experiment.with_field("training.batch_size", 100))  # a live change switches engines
    trainer.step(5)
    assert trainer._compiled == (100, False) and trainer.step_count == 10
