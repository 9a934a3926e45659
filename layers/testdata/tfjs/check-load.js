#!/usr/bin/env node
// Loads a model that densecl's SaveTFJS wrote into TensorFlow.js, runs it
// on the input beside it and compares with densecl's predictions:
//
//   DENSECL_TFJS_EXPORT=/tmp/x go test -run TFJSExport ./layers
//   cd layers/testdata/tfjs && npm ci && node check-load.js /tmp/x
//
// Exits non-zero when the relative error exceeds 1e-5. CI does not run it.
'use strict';

const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

async function main() {
  await tf.setBackend('cpu');
  const dir = process.argv[2];
  const mj = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const shards = mj.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  const data = Buffer.concat(shards);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: mj.modelTopology,
    weightSpecs: mj.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length),
  }));
  model.summary();
  const io = JSON.parse(fs.readFileSync(path.join(dir, 'io.json'), 'utf8'));
  const y = model.predict(tf.tensor(io.x.Data, io.x.Shape));
  const got = await y.data();
  let num = 0;
  let den = 0;
  for (let i = 0; i < got.length; i++) {
    num += (got[i] - io.y.Data[i]) ** 2;
    den += io.y.Data[i] ** 2;
  }
  const rel = Math.sqrt(num / den);
  console.log(`output ${y.shape.join('x')}, relative error against densecl ${rel}`);
  if (!(rel <= 1e-5) || y.shape.join() !== io.y.Shape.join()) process.exit(1);
}

main().catch((e) => { console.error(e); process.exit(1); });
