#!/usr/bin/env node
// Writes the TF.js Layers fixtures that layers/tfjs_test.go loads. CI does not
// run this; the files it wrote are committed beside it.
//
//   cd layers/testdata/tfjs && npm ci && node generate.js
//
// Each model is built with @tensorflow/tfjs (pinned in package.json), saved
// with model.save() and run on fixed inputs. Without tfjs-node there is no
// 'file://' handler, so the save goes through tf.io.withSaveHandler and writes
// what tfjs-node's file handler writes: model.json (modelTopology,
// weightsManifest with one path "weights.bin", format, generatedBy,
// convertedBy) and weights.bin (the weight data as TF.js hands it over:
// little-endian float32, in manifest order).
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

// Fixed inputs: a small LCG, values in [-2, 2).
function inputs(n, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296) * 4 - 2;
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

async function fixture(name, model, inputShape, batch, seed) {
  const dir = path.join(__dirname, name);
  await model.save(saveHandler(dir));
  const n = batch * inputShape.reduce((a, b) => a * b, 1);
  const x = inputs(n, seed);
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
  const bias = (seed) => tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed });

  // Dense(8, relu) -> Dense(4, hard_sigmoid) -> Dense(3, softmax) on (None, 5).
  const mlp = tf.sequential();
  mlp.add(tf.layers.dense({ units: 8, activation: 'relu', inputShape: [5],
    kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }), biasInitializer: bias(2) }));
  mlp.add(tf.layers.dense({ units: 4, activation: 'hardSigmoid',
    kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }), biasInitializer: bias(4) }));
  mlp.add(tf.layers.dense({ units: 3, activation: 'softmax',
    kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }), biasInitializer: bias(6) }));
  await fixture('mlp', mlp, [5], 7, 11);

  // Flatten -> Dense(6, tanh) -> Dropout -> Reshape -> Dense(5, swish, no
  // bias) -> Activation(softmax) on (None, 3, 4): output (None, 2, 5).
  const shaped = tf.sequential();
  shaped.add(tf.layers.flatten({ inputShape: [3, 4] }));
  shaped.add(tf.layers.dense({ units: 6, activation: 'tanh',
    kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }), biasInitializer: bias(8) }));
  shaped.add(tf.layers.dropout({ rate: 0.5 }));
  shaped.add(tf.layers.reshape({ targetShape: [2, 3] }));
  shaped.add(tf.layers.dense({ units: 5, activation: 'swish', useBias: false,
    kernelInitializer: tf.initializers.heNormal({ seed: 9 }) }));
  shaped.add(tf.layers.activation({ activation: 'softmax' }));
  await fixture('shaped', shaped, [3, 4], 4, 12);
}

main().catch((e) => { console.error(e); process.exit(1); });
