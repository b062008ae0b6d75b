// Every diagnostic of qopt-assign-precision.
// RUN: split-file %s %t
// RUN: %python %S/Inputs/make_stats.py %t/stats.npz fc1:8 fc2:8
// RUN: %python %S/Inputs/make_stats.py %t/only-fc1.npz fc1:8
// RUN: qopt-opt %t/impossible.mlir --qopt-assign-precision="avg-wbits=1.5 wbits-candidates=2,4 calibration-file=%t/stats.npz" -verify-diagnostics
// RUN: qopt-opt %t/impossible-bytes.mlir --qopt-assign-precision="max-weight-bytes=40 wbits-candidates=2,4 calibration-file=%t/stats.npz" -verify-diagnostics
// RUN: qopt-opt %t/bad-wbits.mlir --qopt-assign-precision="avg-wbits=4 wbits-candidates=2,9 calibration-file=%t/stats.npz" -verify-diagnostics
// RUN: qopt-opt %t/bad-abits.mlir --qopt-assign-precision="avg-wbits=4 abits-candidates=8,12 calibration-file=%t/stats.npz" -verify-diagnostics
// RUN: qopt-opt %t/unknown-cost.mlir --qopt-assign-precision="avg-cost=2 cost-table=%t/costs.json wbits-candidates=2,3 calibration-file=%t/stats.npz" -verify-diagnostics
// RUN: qopt-opt %t/no-budget.mlir --qopt-assign-precision="calibration-file=%t/stats.npz" -verify-diagnostics
// RUN: qopt-opt %t/two-budgets.mlir --qopt-assign-precision="avg-wbits=4 max-weight-bytes=100 calibration-file=%t/stats.npz" -verify-diagnostics
// RUN: qopt-opt %t/no-stats.mlir --qopt-assign-precision="avg-wbits=4" -verify-diagnostics
// RUN: qopt-opt %t/missing-layer.mlir --qopt-assign-precision="avg-wbits=4 calibration-file=%t/only-fc1.npz" -verify-diagnostics
// RUN: qopt-opt %t/estimator.mlir --qopt-assign-precision="avg-wbits=4 estimator=guess" -verify-diagnostics
// RUN: qopt-opt %t/no-sensitivities.mlir --qopt-assign-precision="avg-wbits=4 estimator=measured" -verify-diagnostics
// RUN: qopt-opt %t/measured-missing.mlir --qopt-assign-precision="avg-wbits=4 wbits-candidates=2,4 estimator=measured sensitivity-file=%t/partial.json" -verify-diagnostics
// RUN: qopt-opt %t/nothing.mlir --qopt-assign-precision="avg-wbits=4 calibration-file=%t/stats.npz" -verify-diagnostics

//--- impossible.mlir
// expected-error @+1 {{impossible budget: avg-wbits 1.5 is below the smallest weight bits candidate (2)}}
module {
  func.func @main(%x: tensor<4x8xf32>, %i: tensor<4x4xf32>) -> tensor<4x4xf32> {
    %w = arith.constant dense<[[1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0]]> : tensor<8x4xf32>
    %a = linalg.matmul {qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32>) outs(%i : tensor<4x4xf32>) -> tensor<4x4xf32>
    return %a : tensor<4x4xf32>
  }
}

//--- impossible-bytes.mlir
// Two layers at 2 bits take 2 x 48 bytes.
// expected-error @+1 {{impossible budget: max-weight-bytes 40 is below the smallest allocation, every layer at W2 (96 bytes)}}
module {
  func.func @main(%x: tensor<4x8xf32>, %i: tensor<4x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>) {
    %w = arith.constant dense<[[1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0]]> : tensor<8x4xf32>
    %a = linalg.matmul {qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32>) outs(%i : tensor<4x4xf32>) -> tensor<4x4xf32>
    %b = linalg.matmul {qopt.layer_name = "fc2", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32>) outs(%i : tensor<4x4xf32>) -> tensor<4x4xf32>
    return %a, %b : tensor<4x4xf32>, tensor<4x4xf32>
  }
}

//--- bad-wbits.mlir
// expected-error @+1 {{weight bits candidate 9 is not valid: weight bits must be 1 to 8}}
module {
}

//--- bad-abits.mlir
// expected-error @+1 {{activation bits candidate 12 is not valid: activation bits must be 1 to 8, or 16 for weight-only}}
module {
}

//--- unknown-cost.mlir
module {
  func.func @main(%x: tensor<4x8xf32>, %i: tensor<4x4xf32>) -> tensor<4x4xf32> {
    %w = arith.constant dense<[[1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0]]> : tensor<8x4xf32>
    // expected-error @+1 {{layer 'fc1': the cost table has no entry for candidate W3A16 (unknown candidate)}}
    %a = linalg.matmul {qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32>) outs(%i : tensor<4x4xf32>) -> tensor<4x4xf32>
    return %a : tensor<4x4xf32>
  }
}

//--- costs.json
{"W2A16": 2}

//--- no-budget.mlir
// expected-error @+1 {{no budget: give avg-wbits, max-weight-bytes, or avg-cost with a cost-table}}
module {
}

//--- two-budgets.mlir
// expected-error @+1 {{give one budget: avg-wbits, max-weight-bytes or avg-cost}}
module {
}

//--- no-stats.mlir
// expected-error @+1 {{the proxy estimator needs calibration statistics with X^T X (calibration-file)}}
module {
}

//--- missing-layer.mlir
module {
  func.func @main(%x: tensor<4x8xf32>, %i: tensor<4x4xf32>) -> tensor<4x4xf32> {
    %w = arith.constant dense<[[1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0]]> : tensor<8x4xf32>
    // expected-error-re @+1 {{layer 'fc2': calibration file '{{.*}}only-fc1.npz' has no statistics for it (calibrate this model again)}}
    %a = linalg.matmul {qopt.layer_name = "fc2", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32>) outs(%i : tensor<4x4xf32>) -> tensor<4x4xf32>
    return %a : tensor<4x4xf32>
  }
}

//--- estimator.mlir
// expected-error @+1 {{estimator must be proxy or measured, got 'guess'}}
module {
}

//--- no-sensitivities.mlir
// expected-error @+1 {{the measured estimator needs a sensitivity-file}}
module {
}

//--- measured-missing.mlir
module {
  func.func @main(%x: tensor<4x8xf32>, %i: tensor<4x4xf32>) -> tensor<4x4xf32> {
    %w = arith.constant dense<[[1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0], [1.0, 2.0, 3.0, -4.0], [0.5, 0.25, -1.0, 2.0]]> : tensor<8x4xf32>
    // expected-error-re @+1 {{layer 'fc1': sensitivity file '{{.*}}partial.json' has no number for candidate W4A16}}
    %a = linalg.matmul {qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<4x8xf32>, tensor<8x4xf32>) outs(%i : tensor<4x4xf32>) -> tensor<4x4xf32>
    return %a : tensor<4x4xf32>
  }
}

//--- partial.json
{"layers": {"fc1": {"W2A16": 0.5}}}

//--- nothing.mlir
// expected-warning @+1 {{no layer has a #qopt.quant_config: nothing to assign (run qopt-assign-quant-config first)}}
module {
}
