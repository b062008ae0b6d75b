// Runs an ONNX model with onnxruntime-node on tensors stored as a folder:
//   tensors.json  [{"name", "dtype", "shape", "file"}]  +  one raw .bin each
// (little-endian, row-major; written and read by python/qopt_tools/ort.py).
//
// usage: node ort_run.js model.onnx IN_DIR OUT_DIR [--repeat N] [--threads T]
// With --repeat, also times N runs after one warm-up and writes the times
// (ms) to OUT_DIR/times.json.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const TYPED = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array,
  uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array,
  uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array,
};

function readTensors(dir) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'tensors.json')));
  const feeds = {};
  for (const t of meta) {
    const buf = fs.readFileSync(path.join(dir, t.file));
    const Typed = TYPED[t.dtype];
    if (!Typed) throw new Error(`unsupported dtype ${t.dtype}`);
    const data = new Typed(buf.buffer, buf.byteOffset,
                           buf.byteLength / Typed.BYTES_PER_ELEMENT);
    feeds[t.name] = new ort.Tensor(t.dtype, t.dtype === 'bool'
        ? Uint8Array.from(data) : data, t.shape);
  }
  return feeds;
}

function writeTensors(dir, results) {
  fs.mkdirSync(dir, {recursive: true});
  const meta = [];
  Object.entries(results).forEach(([name, t], i) => {
    const file = `t${i}.bin`;
    const data = t.data;
    fs.writeFileSync(path.join(dir, file),
                     Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    meta.push({name, dtype: t.type, shape: t.dims.map(Number), file});
  });
  fs.writeFileSync(path.join(dir, 'tensors.json'), JSON.stringify(meta));
}

async function main() {
  const args = process.argv.slice(2);
  const [model, inDir, outDir] = args;
  const opt = (flag, def) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const repeat = opt('--repeat', 0), threads = opt('--threads', 0);
  const options = {};
  if (threads > 0) {
    options.intraOpNumThreads = threads;
    options.interOpNumThreads = 1;
  }
  const session = await ort.InferenceSession.create(model, options);
  const feeds = readTensors(inDir);
  const results = await session.run(feeds);
  writeTensors(outDir, results);
  if (repeat > 0) {
    const times = [];
    for (let i = 0; i < repeat; ++i) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    fs.writeFileSync(path.join(outDir, 'times.json'), JSON.stringify(times));
  }
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(1);
});
