"""The engine's speed, side by side with a plain torch loop and TF Playground's own engine.

TF Playground's per-point engine is bench_tfp_engine.js, run by node when it is on PATH; the three
sides run in interleaved rounds.

A shared, noisy machine slows every side of a round alike, so the ratios are taken round by round
(the median of the rounds' ratios); the rates are each side's best round. torch is imported only
inside the functions that need it (the app itself never needs torch).
"""

from __future__ import annotations

import json
import os
import subprocess
import time

TFP_ENGINE_JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_tfp_engine.js")


def _engine_round(trainer, seconds: float) -> tuple[float, float]:
    """Updates per second of Trainer.step (health probes and history included) for about `seconds`:
    per wall-clock second and per second of this process's CPU time."""
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        done += trainer.step(250)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, done / max(time.process_time() - cpu, 1e-9)


class PlainTorch:
    """The baseline: nn.Sequential + torch.optim.SGD + BCEWithLogitsLoss, same weights, same batches."""

    def __init__(self, trainer):
        import numpy as np
        import torch

        self.torch = torch
        exp = trainer.experiment
        self.model = trainer.model.to_torch()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=exp.training.learning_rate)
        self.loss = torch.nn.BCEWithLogitsLoss()
        x, y = trainer.training_set
        self.x, self.y = torch.from_numpy(np.array(x)), torch.from_numpy(np.array(y))  # writable copies
        self.batch = exp.training.batch_size
        self.rng = np.random.default_rng(np.random.SeedSequence([exp.seed, 3]))  # the trainer's stream
        self._new_epoch()

    def _new_epoch(self) -> None:
        order = self.torch.from_numpy(self.rng.permutation(len(self.x)))
        self.xs, self.ys, self.cursor = self.x[order], self.y[order], 0  # batches are then slices

    def step(self) -> None:
        if self.cursor >= len(self.xs):
            self._new_epoch()
        end = self.cursor + self.batch
        x, y = self.xs[self.cursor:end], self.ys[self.cursor:end]
        self.cursor = end
        self.optimizer.zero_grad()
        self.loss(self.model(x)[:, 0], y).backward()
        self.optimizer.step()

    def round(self, seconds: float) -> float:
        done, start = 0, time.perf_counter()
        while True:
            for _ in range(100):
                self.step()
            done += 100
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                return done / elapsed


class TfpEngine:
    """TF Playground's per-point engine (bench_tfp_engine.js) in a node process, on a trainer's data.

    Its rate counts the same unit as Trainer.step: minibatch updates of `batch_size` points per
    second (TF applies the accumulated derivatives every batch_size points). The process waits on
    its stdin between rounds, so it takes no CPU while the other engines run.
    """

    def __init__(self, trainer=None, node: str | None = None, seed: int = 0, *, experiment=None, training_set=None):
        """On `trainer`'s experiment and training set, or on `experiment` and `training_set` given
        ((n, features) inputs, (n,) labels: tfp_parity gives TF the raw points, as its page has them)."""
        import shutil

        node = node or shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH: TF Playground's engine (JavaScript) cannot run")
        exp = experiment or trainer.experiment
        if exp.network.activation not in ("tanh", "relu", "sigmoid", "linear"):
            raise ValueError(f"TF Playground has no {exp.network.activation!r}")
        self.process = subprocess.Popen([node, TFP_ENGINE_JS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        x, y = training_set if training_set is not None else trainer.training_set
        try:
            reply = self.ask({"inputs": x.tolist(), "labels": y.tolist(),
                              "hidden": list(exp.network.hidden), "activation": exp.network.activation,
                              "batch": exp.training.batch_size, "lr": exp.training.learning_rate, "seed": seed})
            if not reply.get("ready"):
                raise RuntimeError(f"TF Playground's engine did not start: {reply}")
        except BaseException:
            self.close()
            raise

    def ask(self, message: dict) -> dict:
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"TF Playground's engine (node) ended (exit {self.process.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"TF Playground's engine: {reply['error']}")
        return reply

    def round(self, seconds: float) -> tuple[float, float]:
        """Minibatch updates per second for about `seconds` (whole epochs, as the page trains): per
        wall-clock second and per second of node's CPU time."""
        reply = self.ask({"run": seconds})
        return reply["updates"] / reply["seconds"], reply["updates"] / max(reply["cpu_seconds"], 1e-9)

    def epochs(self, n: int) -> dict:
        return self.ask({"epochs": int(n)})

    def accuracy(self, x, y) -> float:
        return self.ask({"accuracy": {"inputs": x.tolist(), "labels": y.tolist()}})["accuracy"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(1)
        self.process.stdout.close()


def measure_engine(experiment, seconds: float = 3.0, rounds: int = 15) -> dict:
    """Minibatch updates/s on `experiment` (one of bench.CASES) of the app's engine (Trainer.step:
    compiled where numba is, health probes and history included), the numpy engine, a plain torch
    loop and TF Playground's engine (node), in interleaved rounds so a noisy neighbour slows all of
    them alike. The ratios are the median of each round's ratio (the two sides measured next to each
    other); the rates are each one's best.

    15 short rounds rather than 5 long ones, in the same time: on this shared machine either side's
    rate moved 2x within seconds (C1 202k-537k updates/s in one run, TF 102k-148k), and 5 rounds'
    ratios spread 1.99-4.82; a shorter round pairs the two sides closer in time, and the median of
    15 leans less on one unlucky pair."""
    import statistics

    import torch

    from .training import Trainer

    trainer, numpy_trainer = Trainer(experiment), Trainer(experiment, engine="numpy")
    for t in (trainer, numpy_trainer):
        t.step(200)  # past the every-step probing of the first 100 steps (and the kernel compiled)
    tfp, tfp_missing = None, None
    try:
        tfp = TfpEngine(trainer)
        tfp.epochs(200)  # node's JIT warmed up
    except (RuntimeError, OSError, ValueError) as error:
        tfp_missing = str(error)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets are fastest on one thread
    try:
        plain = PlainTorch(trainer)
        for _ in range(200):
            plain.step()  # warm-up
        per_round = seconds / ((4 if tfp else 3) * rounds)
        rates: dict[str, list[float]] = {"engine": [], "numpy": [], "torch": [], "tfp": []}
        cpu_rates: dict[str, list[float]] = {"engine": [], "tfp": []}  # per CPU-second: the two processes
        for _ in range(rounds):
            wall, cpu = _engine_round(trainer, per_round)
            rates["engine"].append(wall)
            cpu_rates["engine"].append(cpu)
            if tfp is not None:
                wall, cpu = tfp.round(per_round)
                rates["tfp"].append(wall)
                cpu_rates["tfp"].append(cpu)
            rates["numpy"].append(_engine_round(numpy_trainer, per_round)[0])
            rates["torch"].append(plain.round(per_round))
    finally:
        torch.set_num_threads(threads)
        if tfp is not None:
            tfp.close()

    def paired(other: str) -> list[float]:
        return [mine / theirs for mine, theirs in zip(rates["engine"], rates[other])]

    best = {name: max(values) if values else None for name, values in rates.items()}
    out = {"engine": "compiled" if trainer.uses_compiled_engine() else "numpy",
           "unit": f"minibatch updates of {trainer.experiment.training.batch_size} points per second",
           "updates_per_s": best["engine"], "us_per_step": 1e6 / best["engine"],
           "plain_torch_updates_per_s": best["torch"], "ratio": statistics.median(paired("torch")),
           "numpy_engine_updates_per_s": best["numpy"], "numpy_engine_ratio": best["numpy"] / best["torch"],
           "rounds": rates}
    if tfp is not None:
        ratios = paired("tfp")
        cpu_ratios = [mine / theirs for mine, theirs in zip(cpu_rates["engine"], cpu_rates["tfp"])]
        out.update(tfp_engine_updates_per_s=best["tfp"], ratio_vs_tfp_engine=statistics.median(ratios),
                   ratio_vs_tfp_engine_range=(min(ratios), max(ratios)),
                   # the same rounds counted per CPU-second of each process: what a busy machine's
                   # scheduler does to either side drops out (node's own helper threads count for it)
                   ratio_vs_tfp_engine_cpu=statistics.median(cpu_ratios),
                   updates_per_cpu_s=max(cpu_rates["engine"]), tfp_engine_updates_per_cpu_s=max(cpu_rates["tfp"]))
    else:
        out["tfp_engine_missing"] = tfp_missing
    return out
