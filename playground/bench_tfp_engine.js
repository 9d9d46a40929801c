// TensorFlow Playground's training engine, as `playground bench` needs to reproduce it (SCIENCE.md):
// our own code, written from the description of TF Playground's src/nn.ts and its page's oneStep().
//
// Per point, over an object graph: a Node per neuron with its input Links. Forward sets each node's
// totalInput = bias + sum of w * input and output = f(totalInput); the output node uses tanh and the
// error is (output - target)^2 / 2 with targets +-1. Backward per point: the output's derivative is
// (output - target); each node's inputDer = outputDer * f'(totalInput), accumulated into accInputDer;
// each link's errorDer = inputDer * source output, accumulated into accErrorDer, with a count. Every
// batch_size points each weight and bias moves by -lr * acc / count and the accumulators reset.
// Init: weights U(-0.5, 0.5), biases 0.1. The training data is shuffled once; epochs go over it in
// that order, as the page does (one epoch per animation frame there; here as fast as it goes).
//
// Protocol, one JSON object per line: the first line from stdin sets up
//   {"inputs": [[x1, x2, ...], ...], "labels": [0 or 1, ...], "hidden": [4, 2], "activation": "tanh",
//    "batch": 10, "lr": 0.03, "seed": 0}
// and is answered {"ready": true, "parameters": n}. Then commands:
//   {"run": seconds}   -> {"updates": u, "points": p, "epochs": e, "seconds": s, "cpu_seconds": c}
//                         (training for about that long; cpu_seconds is this process's CPU time)
//   {"epochs": n}      -> the same, for exactly n epochs
//   {"accuracy": {"inputs": [...], "labels": [...]}} -> {"accuracy": a, "loss": l}
// An "updates" is one application of the accumulated derivatives: one minibatch of `batch` points.

"use strict";

const readline = require("readline");

const ACTIVATIONS = {
  tanh: { output: (x) => Math.tanh(x), der: (x) => { const o = Math.tanh(x); return 1 - o * o; } },
  relu: { output: (x) => Math.max(0, x), der: (x) => (x <= 0 ? 0 : 1) },
  sigmoid: {
    output: (x) => 1 / (1 + Math.exp(-x)),
    der: (x) => { const o = 1 / (1 + Math.exp(-x)); return o * (1 - o); },
  },
  linear: { output: (x) => x, der: () => 1 },
};

function mulberry32(seed) {  // a small seeded generator: the same seed gives the same weights
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Node {
  constructor(id, activation) {
    this.id = id;
    this.inputLinks = [];
    this.outputs = [];
    this.bias = 0.1;
    this.totalInput = 0;
    this.output = 0;
    this.outputDer = 0;
    this.inputDer = 0;
    this.accInputDer = 0;
    this.numAccumulatedDers = 0;
    this.activation = activation;
  }

  updateOutput() {
    this.totalInput = this.bias;
    for (let j = 0; j < this.inputLinks.length; j++) {
      const link = this.inputLinks[j];
      this.totalInput += link.weight * link.source.output;
    }
    this.output = this.activation.output(this.totalInput);
    return this.output;
  }
}

class Link {
  constructor(source, dest, random) {
    this.id = source.id + "-" + dest.id;
    this.source = source;
    this.dest = dest;
    this.weight = random() - 0.5;
    this.errorDer = 0;
    this.accErrorDer = 0;
    this.numAccumulatedDers = 0;
    this.isDead = false;  // TF prunes links by hand on its page; checked where it checks them
  }
}

function buildNetwork(shape, activation, outputActivation, random) {
  const network = [];
  let id = 1;
  for (let layerIdx = 0; layerIdx < shape.length; layerIdx++) {
    const isOutputLayer = layerIdx === shape.length - 1;
    const isInputLayer = layerIdx === 0;
    const layer = [];
    network.push(layer);
    for (let i = 0; i < shape[layerIdx]; i++) {
      const node = new Node(String(id++), isOutputLayer ? outputActivation : activation);
      layer.push(node);
      if (!isInputLayer) {
        for (const prev of network[layerIdx - 1]) {
          const link = new Link(prev, node, random);
          prev.outputs.push(link);
          node.inputLinks.push(link);
        }
      }
    }
  }
  return network;
}

function forwardProp(network, inputs) {
  const inputLayer = network[0];
  for (let i = 0; i < inputLayer.length; i++) inputLayer[i].output = inputs[i];
  for (let layerIdx = 1; layerIdx < network.length; layerIdx++) {
    const layer = network[layerIdx];
    for (let i = 0; i < layer.length; i++) layer[i].updateOutput();
  }
  return network[network.length - 1][0].output;
}

function backProp(network, target) {
  const outputNode = network[network.length - 1][0];
  outputNode.outputDer = outputNode.output - target;  // d/d output of (output - target)^2 / 2
  for (let layerIdx = network.length - 1; layerIdx >= 1; layerIdx--) {
    const layer = network[layerIdx];
    for (let i = 0; i < layer.length; i++) {
      const node = layer[i];
      node.inputDer = node.outputDer * node.activation.der(node.totalInput);
      node.accInputDer += node.inputDer;
      node.numAccumulatedDers++;
    }
    for (let i = 0; i < layer.length; i++) {
      const node = layer[i];
      for (let j = 0; j < node.inputLinks.length; j++) {
        const link = node.inputLinks[j];
        if (link.isDead) continue;
        link.errorDer = node.inputDer * link.source.output;
        link.accErrorDer += link.errorDer;
        link.numAccumulatedDers++;
      }
    }
    if (layerIdx === 1) continue;
    const prevLayer = network[layerIdx - 1];
    for (let i = 0; i < prevLayer.length; i++) {
      const node = prevLayer[i];
      node.outputDer = 0;
      for (let j = 0; j < node.outputs.length; j++) {
        const output = node.outputs[j];
        node.outputDer += output.weight * output.dest.inputDer;
      }
    }
  }
}

function updateWeights(network, learningRate) {
  for (let layerIdx = 1; layerIdx < network.length; layerIdx++) {
    const layer = network[layerIdx];
    for (let i = 0; i < layer.length; i++) {
      const node = layer[i];
      if (node.numAccumulatedDers > 0) {
        node.bias -= (learningRate * node.accInputDer) / node.numAccumulatedDers;
        node.accInputDer = 0;
        node.numAccumulatedDers = 0;
      }
      for (let j = 0; j < node.inputLinks.length; j++) {
        const link = node.inputLinks[j];
        if (link.isDead) continue;
        if (link.numAccumulatedDers > 0) {
          link.weight -= (learningRate * link.accErrorDer) / link.numAccumulatedDers;
          link.accErrorDer = 0;
          link.numAccumulatedDers = 0;
        }
      }
    }
  }
}

function shuffle(array, random) {  // Fisher-Yates, once, as the page does when it makes the data
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
}

class Engine {
  constructor(setup) {
    const activation = ACTIVATIONS[setup.activation];
    if (!activation) throw new Error(`activation ${setup.activation} is not one of ${Object.keys(ACTIVATIONS)}`);
    const random = mulberry32(setup.seed || 0);
    const inputs = setup.inputs;
    this.batch = setup.batch;
    this.lr = setup.lr;
    this.network = buildNetwork([inputs[0].length, ...setup.hidden, 1], activation, ACTIVATIONS.tanh, random);
    this.points = inputs.map((x, i) => ({ x, target: setup.labels[i] > 0.5 ? 1 : -1 }));
    shuffle(this.points, random);
  }

  parameters() {
    let n = 0;
    for (const layer of this.network.slice(1)) for (const node of layer) n += 1 + node.inputLinks.length;
    return n;
  }

  epoch() {  // the page's oneStep: every point once, the derivatives applied every `batch` points
    const network = this.network;
    const points = this.points;
    let updates = 0;
    for (let i = 0; i < points.length; i++) {
      forwardProp(network, points[i].x);
      backProp(network, points[i].target);
      if ((i + 1) % this.batch === 0) {
        updateWeights(network, this.lr);
        updates++;
      }
    }
    return updates;
  }

  train(keepGoing) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    let updates = 0, points = 0, epochs = 0, seconds = 0;
    do {
      updates += this.epoch();
      points += this.points.length;
      epochs++;
      seconds = Number(process.hrtime.bigint() - start) / 1e9;
    } while (keepGoing(epochs, seconds));
    const cpu = process.cpuUsage(cpuStart);
    return { updates, points, epochs, seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6 };
  }

  accuracy(inputs, labels) {
    let right = 0, loss = 0;
    for (let i = 0; i < inputs.length; i++) {
      const output = forwardProp(this.network, inputs[i]);
      const target = labels[i] > 0.5 ? 1 : -1;
      if ((output >= 0 ? 1 : -1) === target) right++;
      loss += 0.5 * (output - target) ** 2;
    }
    return { accuracy: right / inputs.length, loss: loss / inputs.length };
  }
}

function main() {
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  let engine = null;
  const say = (object) => process.stdout.write(JSON.stringify(object) + "\n");
  lines.on("line", (line) => {
    if (!line.trim()) return;
    try {
      const message = JSON.parse(line);
      if (engine === null) {
        engine = new Engine(message);
        say({ ready: true, parameters: engine.parameters() });
      } else if (message.run !== undefined) {
        say(engine.train((epochs, seconds) => seconds < message.run));
      } else if (message.epochs !== undefined) {
        say(engine.train((epochs) => epochs < message.epochs));
      } else if (message.accuracy !== undefined) {
        say(engine.accuracy(message.accuracy.inputs, message.accuracy.labels));
      } else {
        say({ error: `unknown command ${line.slice(0, 60)}` });
      }
    } catch (error) {
      say({ error: String(error && error.message ? error.message : error) });
    }
  });
}

main();
