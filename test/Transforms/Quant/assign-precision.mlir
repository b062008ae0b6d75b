// qopt-assign-precision: sensitivities from calibration statistics (the
// Hessian-weighted proxy) or from a file (measured), the exact allocation
// under each kind of budget, and what it records in the IR.
// RUN: split-file %s %t
// RUN: %python %S/Inputs/make_stats.py %t/stats.npz fc1:8 fc2:8:3:20 fc3:8
// RUN: qopt-opt %t/model.mlir --qopt-assign-quant-config="wbits=8" --qopt-assign-precision="avg-wbits=4 wbits-candidates=2,4,8 calibration-file=%t/stats.npz report=%t/report.json" | FileCheck %s --check-prefix=AVG4
// RUN: FileCheck %s --input-file=%t/report.json --check-prefix=JSON
// RUN: qopt-opt %t/model.mlir --qopt-assign-quant-config="wbits=8" --qopt-assign-precision="avg-wbits=5.4 wbits-candidates=2,4,8 calibration-file=%t/stats.npz" | FileCheck %s --check-prefix=AVG54
// RUN: qopt-opt %t/model.mlir --qopt-assign-quant-config="wbits=8" --qopt-assign-precision="avg-wbits=2 wbits-candidates=2,4,8 calibration-file=%t/stats.npz" | FileCheck %s --check-prefix=AVG2
// RUN: qopt-opt %t/model.mlir --qopt-assign-quant-config="wbits=4" --qopt-assign-precision="avg-wbits=8 wbits-candidates=2,4,8 calibration-file=%t/stats.npz" | FileCheck %s --check-prefix=AVG8
// RUN: qopt-opt %t/model.mlir --qopt-assign-quant-config="wbits=8" --qopt-assign-precision="max-weight-bytes=250 wbits-candidates=2,4,8 calibration-file=%t/stats.npz" | FileCheck %s --check-prefix=BYTES
// RUN: qopt-opt %t/model.mlir --qopt-assign-quant-config="wbits=8 abits=8" --qopt-assign-precision="avg-cost=40 cost-table=%t/bitops.json wbits-candidates=4,8 abits-candidates=4,8,16 calibration-file=%t/stats.npz" | FileCheck %s --check-prefix=COST
// RUN: qopt-opt %t/model.mlir --qopt-assign-quant-config="wbits=8" --qopt-assign-precision="avg-wbits=4.67 wbits-candidates=2,4,8 estimator=measured sensitivity-file=%t/measured.json" | FileCheck %s --check-prefix=MEASURED

// The proxy at 2, 4 and 8 bits; every layer [K, N] = [8, 4]: 32 weights,
// packed into B planes of 4 rows of one word plus 4 f32 scales. At 4 bits
// on average (384 bits), 4 + 4 + 4 beats 8 + 2 + 2 for these sensitivities.
// AVG4: module attributes {qopt.precision_budget = {budget = 384 : i64, cost = 384 : i64, estimator = "proxy", kind = "avg-wbits", sensitivity = {{.*}} : f64, unit = "bits", value = 4.000000e+00 : f64}}
// AVG4: linalg.matmul {qopt.layer_name = "fc1", qopt.precision = {abits = array<i64: 16, 16, 16>, bytes = array<i64: 48, 80, 144>, chosen = 1 : i64, cost = array<i64: 64, 128, 256>, estimator = "proxy", params = 32 : i64, sensitivity = array<f64: {{.*}}>, wbits = array<i64: 2, 4, 8>}, qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>}
// AVG4: linalg.matmul {qopt.layer_name = "fc2", {{.*}}#qopt.quant_config<wbits = 4,
// AVG4: linalg.matmul {qopt.layer_name = "fc3", {{.*}}#qopt.quant_config<wbits = 4,

// JSON: "budget": {
// JSON: "kind": "avg-wbits"
// JSON: "layers": [
// JSON: "candidates": [
// JSON: "config": "W2A16"
// JSON: "name": "fc1"
// JSON: "pareto": [
// JSON: "totals": {
// JSON-NEXT: "avg_wbits": 4,
// JSON: "uniform": [

// With 16 bits to spend, the layer whose input has an outlier channel
// (fc2, 20x) takes 8 bits.
// AVG54: budget = 518 : i64, cost = 512 : i64
// AVG54: "fc1"{{.*}}#qopt.quant_config<wbits = 4,
// AVG54: "fc2"{{.*}}#qopt.quant_config<wbits = 8,
// AVG54: "fc3"{{.*}}#qopt.quant_config<wbits = 4,

// AVG2-COUNT-3: #qopt.quant_config<wbits = 2,
// AVG8-COUNT-3: #qopt.quant_config<wbits = 8,

// 250 bytes: three layers at 4 bits (240) beat 8 + 2 + 2 (240) here.
// BYTES: qopt.precision_budget = {budget = 250 : i64, cost = 240 : i64, {{.*}}kind = "max-weight-bytes", {{.*}}unit = "bytes"
// BYTES: cost = array<i64: 48, 80, 144>
// BYTES-COUNT-3: #qopt.quant_config<wbits = 4,

// A BitOPs-like table (cost per weight): activation bits now cost too, and
// are traded like weight bits; quantized activations are dynamic.
// COST: budget = 3840000 : i64, cost = 3584000 : i64, {{.*}}kind = "avg-cost", {{.*}}unit = "milli-cost"
// COST: "fc1", qopt.precision = {abits = array<i64: 4, 8, 16, 4, 8, 16>, {{.*}}wbits = array<i64: 4, 4, 4, 8, 8, 8>}, qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 4, {{.*}}act_quant = dynamic_per_token>
// COST: "fc2"{{.*}}#qopt.quant_config<wbits = 8, abits = 8,
// COST: "fc3"{{.*}}#qopt.quant_config<wbits = 8, abits = 4,

// Measured sensitivities decide alone: fc2 barely cares, fc3 most.
// MEASURED: estimator = "measured", kind = "avg-wbits"
// MEASURED: "fc1"{{.*}}sensitivity = array<f64: 5.000000e-01, 1.000000e-02, 1.000000e-03>{{.*}}#qopt.quant_config<wbits = 4,
// MEASURED: "fc2"{{.*}}#qopt.quant_config<wbits = 2,
// MEASURED: "fc3"{{.*}}#qopt.quant_config<wbits = 8,

//--- model.mlir
func.func @main(%x: tensor<?x8xf32>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %c0 = arith.constant 0.0 : f32
  %c0i = arith.constant 0 : index
  %m = tensor.dim %x, %c0i : tensor<?x8xf32>
  %e = tensor.empty(%m) : tensor<?x4xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %w1 = arith.constant dense<[[2.041, -2.556, 0.418, -0.568], [-0.453, -0.216, -2.020, -0.232], [-0.865, 3.323, 0.226, -0.353], [-0.281, -0.668, -1.055, -0.391], [0.482, -0.239, 0.958, -0.200], [0.024, 1.546, 0.545, -0.505], [-0.183, 0.541, 1.935, -0.270], [-0.244, 1.002, -0.886, -0.292]]> : tensor<8x4xf32>
  %w2 = arith.constant dense<[[0.883, 0.580, 0.092, 0.670], [-2.828, 1.021, -0.960, -1.669], [0.276, 0.701, -0.445, -1.076], [0.026, -0.053, 1.406, 0.747], [0.194, 1.112, -0.206, -0.926], [0.584, 0.583, -0.215, -0.783], [0.229, -2.494, 0.690, 0.491], [-1.639, 0.061, -0.964, 0.757]]> : tensor<8x4xf32>
  %w3 = arith.constant dense<[[-2.034, -0.914, 0.710, 1.156], [-2.158, -0.498, 0.328, -0.609], [1.591, 6.000, 0.355, -1.048], [1.406, -0.022, -0.372, -1.718], [1.682, 0.753, 0.754, 1.138], [0.349, -0.639, -0.800, -0.800], [1.370, -1.460, -0.596, -0.321], [0.225, 0.575, -1.249, -1.730]]> : tensor<8x4xf32>
  %a = linalg.matmul {qopt.layer_name = "fc1"} ins(%x, %w1 : tensor<?x8xf32>, tensor<8x4xf32>) outs(%i : tensor<?x4xf32>) -> tensor<?x4xf32>
  %b = linalg.matmul {qopt.layer_name = "fc2"} ins(%x, %w2 : tensor<?x8xf32>, tensor<8x4xf32>) outs(%i : tensor<?x4xf32>) -> tensor<?x4xf32>
  %c = linalg.matmul {qopt.layer_name = "fc3"} ins(%x, %w3 : tensor<?x8xf32>, tensor<8x4xf32>) outs(%i : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %a, %b, %c : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}

//--- bitops.json
{"W4A4": 16, "W4A8": 32, "W4A16": 64, "W8A4": 32, "W8A8": 64, "W8A16": 128}

//--- measured.json
{"layers": {"fc1": {"W2A16": 0.5, "W4A16": 0.01, "W8A16": 0.001},
            "fc2": {"W2A16": 0.011, "W4A16": 0.01, "W8A16": 0.001},
            "fc3": {"W2A16": 0.9, "W4A16": 0.02, "W8A16": 0.002}}}
