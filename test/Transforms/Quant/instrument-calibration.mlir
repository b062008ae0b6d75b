// qopt-instrument-calibration: each configured layer's input becomes an
// extra result named qopt.calib:<layer>; layers without a config add none.
// RUN: split-file %s %t
// RUN: qopt-opt %t/two.mlir --qopt-instrument-calibration | FileCheck %s
// RUN: qopt-opt %t/errors.mlir --split-input-file --qopt-instrument-calibration -verify-diagnostics
// RUN: not qopt-opt %t/two.mlir --qopt-instrument-calibration=function=forward 2>&1 | FileCheck %s --check-prefix=NOFUNC

// CHECK-LABEL: func.func @main(%arg0: tensor<?x8xf32>) -> (tensor<?x3xf32>, tensor<?x8xf32> {onnx.name = "qopt.calib:fc1"}, tensor<?x3xf32> {onnx.name = "qopt.calib:fc2"})
// CHECK: %[[H:.*]] = linalg.matmul {qopt.layer_name = "fc1"{{.*}}} ins(%arg0,
// CHECK: %[[Y:.*]] = linalg.matmul {qopt.layer_name = "fc2"{{.*}}} ins(%[[H]],
// CHECK: linalg.matmul {qopt.layer_name = "float_head"}
// CHECK: return %{{.*}}, %arg0, %[[H]] : tensor<?x3xf32>, tensor<?x8xf32>, tensor<?x3xf32>
// NOFUNC: error: no function @forward to instrument

//--- two.mlir
func.func @main(%x: tensor<?x8xf32>) -> tensor<?x3xf32> {
  %c0 = arith.constant 0.0 : f32
  %c0i = arith.constant 0 : index
  %m = tensor.dim %x, %c0i : tensor<?x8xf32>
  %w1 = arith.constant dense<0.5> : tensor<8x3xf32>
  %w2 = arith.constant dense<0.25> : tensor<3x3xf32>
  %e = tensor.empty(%m) : tensor<?x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x3xf32>) -> tensor<?x3xf32>
  %h = linalg.matmul {qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>} ins(%x, %w1 : tensor<?x8xf32>, tensor<8x3xf32>) outs(%i : tensor<?x3xf32>) -> tensor<?x3xf32>
  %y = linalg.matmul {qopt.layer_name = "fc2", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%h, %w2 : tensor<?x3xf32>, tensor<3x3xf32>) outs(%i : tensor<?x3xf32>) -> tensor<?x3xf32>
  %z = linalg.matmul {qopt.layer_name = "float_head"} ins(%y, %w2 : tensor<?x3xf32>, tensor<3x3xf32>) outs(%i : tensor<?x3xf32>) -> tensor<?x3xf32>
  return %z : tensor<?x3xf32>
}

//--- errors.mlir
func.func @main(%x: tensor<2x5x8xf32>) -> tensor<2x5x3xf32> {
  %w = arith.constant dense<0.5> : tensor<2x8x3xf32>
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x5x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  // expected-error @below {{layer 'bm' has a quantization config but is not a linear layer (run qopt-conv-to-matmul first for convolutions)}}
  %a = linalg.batch_matmul {qopt.layer_name = "bm", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<2x5x8xf32>, tensor<2x8x3xf32>) outs(%i : tensor<2x5x3xf32>) -> tensor<2x5x3xf32>
  return %a : tensor<2x5x3xf32>
}

// -----

// expected-error @below {{instrumentation needs a single-block function}}
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  %w = arith.constant dense<0.5> : tensor<8x3xf32>
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<4x3xf32>) -> tensor<4x3xf32>
  %a = linalg.matmul {qopt.layer_name = "fc", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<4x8xf32>, tensor<8x3xf32>) outs(%i : tensor<4x3xf32>) -> tensor<4x3xf32>
  cf.br ^bb1(%a : tensor<4x3xf32>)
^bb1(%r: tensor<4x3xf32>):
  return %r : tensor<4x3xf32>
}
