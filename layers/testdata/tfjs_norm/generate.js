#!/usr/bin/env node
// Writes the TF.js Layers fixtures of the normalization and identity layers
// that layers/table_fixtures_test.go loads. CI does not run this; the files
// it wrote are committed beside it. It needs @tensorflow/tfjs 4.22.0 (the
// version ../tfjs/package.json pins); run it from a folder where that is
// installed, outside the repository:
//
//   mkdir /tmp/tfjsgen && cd /tmp/tfjsgen && cp .../layers/testdata/tfjs/package*.json . && npm ci
//   NODE_PATH=/tmp/tfjsgen/node_modules node .../layers/testdata/tfjs_norm/generate.js
//
// Each model is built with tf.layers, its weights set to seeded random
// values (variances positive), saved as tfjs-node's file handler saves it
// (model.json, weights.bin) and run on fixed inputs (predictions.json).
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

// A small LCG, values in [lo, hi).
function values(n, seed, lo, hi) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = lo + (s / 4294967296) * (hi - lo);
  }
  return a;
}

function saveHandler(dir) {
  return tf.io.withSaveHandler(async (artifacts) => {
    fs.mkdirSync(dir, { recursive: true });
    const modelJSON = {
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJSON), 'utf8');
    const data = Array.isArray(artifacts.weightData)
      ? tf.io.concatenateArrayBuffers(artifacts.weightData) : artifacts.weightData;
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.from(data));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  });
}

// randomize sets every weight: variances in [0.1, 3), gammas in [0.5, 2),
// the rest in [-1, 1).
function randomize(model, seed) {
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const names = layer.weights.map((w) => w.originalName || w.name);
    layer.setWeights(ws.map((w, i) => {
      const n = w.size;
      let v = values(n, seed++, -1, 1);
      if (/variance/.test(names[i])) v = values(n, seed++, 0.1, 3);
      if (/gamma/.test(names[i])) v = values(n, seed++, 0.5, 2);
      return tf.tensor(v, w.shape);
    }));
  }
}

async function fixture(name, model, inputShape, batch, seed) {
  randomize(model, seed);
  const dir = path.join(__dirname, name);
  await model.save(saveHandler(dir));
  const n = batch * inputShape.reduce((a, b) => a * b, 1);
  const x = values(n, seed + 100, -2, 2);
  const y = model.predict(tf.tensor(x, [batch, ...inputShape]));
  const out = {
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    input: { shape: [batch, ...inputShape], data: Array.from(x) },
    output: { shape: y.shape, data: Array.from(await y.data()) },
  };
  fs.writeFileSync(path.join(dir, 'predictions.json'), JSON.stringify(out, null, 1) + '\n');
  console.log(name, 'output', y.shape.join('x'));
}

async function main() {
  await tf.setBackend('cpu');

  // Dense(12) -> BatchNormalization -> Dense(9, relu) -> BatchNormalization
  // (center: false) -> GaussianNoise -> GaussianDropout -> Dense(3, softmax).
  const bn = tf.sequential();
  bn.add(tf.layers.dense({ units: 12, inputShape: [5] }));
  bn.add(tf.layers.batchNormalization({ epsilon: 0.01 }));
  bn.add(tf.layers.dense({ units: 9, activation: 'relu' }));
  bn.add(tf.layers.batchNormalization({ center: false }));
  bn.add(tf.layers.gaussianNoise({ stddev: 0.3 }));
  bn.add(tf.layers.gaussianDropout({ rate: 0.2 }));
  bn.add(tf.layers.dense({ units: 3, activation: 'softmax' }));
  await fixture('batchnorm', bn, [5], 6, 21);

  // Dense(10) -> LayerNormalization -> PReLU -> AlphaDropout -> Dense(7)
  // -> LayerNormalization (scale: false) -> LeakyReLU -> ELU (TF.js takes alpha 1 only) -> ReLU ->
  // Dense(2).
  const ln = tf.sequential();
  ln.add(tf.layers.dense({ units: 10, inputShape: [3] }));
  ln.add(tf.layers.layerNormalization({ epsilon: 1e-5 }));
  ln.add(tf.layers.prelu());
  ln.add(tf.layers.alphaDropout({ rate: 0.1 }));
  ln.add(tf.layers.dense({ units: 7 }));
  ln.add(tf.layers.layerNormalization({ scale: false }));
  ln.add(tf.layers.leakyReLU({ alpha: 0.2 }));
  ln.add(tf.layers.elu());
  ln.add(tf.layers.reLU({ maxValue: 1.5 }));
  ln.add(tf.layers.dense({ units: 2 }));
  await fixture('layernorm', ln, [3], 5, 31);

  // SpatialDropout1D on a (None, 4, 6) input, then Dense(3) and Softmax.
  const sp = tf.sequential();
  sp.add(tf.layers.spatialDropout1d({ rate: 0.3, inputShape: [4, 6] }));
  sp.add(tf.layers.dense({ units: 3 }));
  sp.add(tf.layers.softmax({ axis: -1 }));
  await fixture('spatial', sp, [4, 6], 3, 41);
}

main().catch((e) => { console.error(e); process.exit(1); });
