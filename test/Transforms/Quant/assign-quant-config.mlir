// RUN: split-file %s %t
// RUN: qopt-opt %t/layers.mlir --qopt-assign-quant-config="wbits=4 abits=8" | FileCheck %s --check-prefix=GLOBAL
// RUN: qopt-opt %t/layers.mlir --qopt-assign-quant-config="wbits=3 abits=16 group-size=32 weight-scheme=asym keep-float=lm_*" | FileCheck %s --check-prefix=KEEP
// RUN: qopt-opt %t/layers.mlir --qopt-assign-quant-config="wbits=8 abits=8 act-quant=static act-scheme=asym config-file=%t/config.json" | FileCheck %s --check-prefix=CONFIG
// RUN: qopt-opt %t/layers.mlir --qopt-assign-quant-config="config-file=%t/only-fc1.json" | FileCheck %s --check-prefix=ONLY
// RUN: qopt-opt %t/branch.mlir --qopt-assign-quant-config="wbits=8 abits=8" | FileCheck %s --check-prefix=BRANCH

// Layers: a matmul with a constant [K, N] weight, one with a transposed
// constant [N, K] (Gemm transB), a convolution with a constant filter. A
// matmul of two activations is not a layer. Names come from the locations.
// GLOBAL-LABEL: func.func @main
// GLOBAL: linalg.matmul {qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>}
// GLOBAL: linalg.matmul {qopt.layer_name = "lm_head", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 8,
// GLOBAL: linalg.matmul ins(%arg0, %arg2
// GLOBAL: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, qopt.layer_name = "conv", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 8,

// keep-float patterns leave a layer float (named, no config); abits=16 is
// weight-only.
// KEEP: linalg.matmul {qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 3, abits = 16, group_size = 32, weight_symmetric = false, act_symmetric = true, act_quant = none>}
// KEEP: linalg.matmul {qopt.layer_name = "lm_head"} ins
// KEEP: qopt.layer_name = "conv", qopt.quant_config = #qopt.quant_config<wbits = 3, abits = 16, group_size = 32,

// Config entries apply in order over the flags: fc1 gets W2 (first entry)
// then group size 32 (third); lm_head stays float; conv keeps the flags.
// CONFIG: qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 2, abits = 8, group_size = 32, weight_symmetric = true, act_symmetric = false, act_quant = static_per_tensor>
// CONFIG: linalg.matmul {qopt.layer_name = "lm_head"} ins
// CONFIG: qopt.layer_name = "conv", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = false, act_quant = static_per_tensor>

// Without global bits only the configured layers are quantized.
// ONLY: qopt.layer_name = "fc1", qopt.quant_config = #qopt.quant_config<wbits = 6, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>
// ONLY: linalg.matmul {qopt.layer_name = "lm_head"} ins
// ONLY-NOT: qopt.quant_config

//--- config.json
{"layers": [
  {"match": "fc*", "wbits": 2, "weight_scheme": "sym"},
  {"match": "lm_head", "keep_float": true},
  {"match": "fc1", "group_size": 32}
]}

//--- only-fc1.json
{"layers": [{"match": "fc1", "wbits": 6}]}

//--- layers.mlir
func.func @main(%x: tensor<?x64xf32>, %img: tensor<?x8x8x8xf32>, %y: tensor<64x32xf32>) -> (tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x32xf32>, tensor<?x4x7x7xf32>) {
  %c0 = arith.constant 0.0 : f32
  %c0i = arith.constant 0 : index
  %m = tensor.dim %x, %c0i : tensor<?x64xf32>
  %w1 = arith.constant dense<0.5> : tensor<64x32xf32>
  %e1 = tensor.empty(%m) : tensor<?x32xf32>
  %i1 = linalg.fill ins(%c0 : f32) outs(%e1 : tensor<?x32xf32>) -> tensor<?x32xf32>
  %a = linalg.matmul ins(%x, %w1 : tensor<?x64xf32>, tensor<64x32xf32>) outs(%i1 : tensor<?x32xf32>) -> tensor<?x32xf32> loc("fc1")
  %w2 = arith.constant dense<0.25> : tensor<16x64xf32>
  %t = tensor.empty() : tensor<64x16xf32>
  %w2t = linalg.transpose ins(%w2 : tensor<16x64xf32>) outs(%t : tensor<64x16xf32>) permutation = [1, 0]
  %e2 = tensor.empty(%m) : tensor<?x16xf32>
  %i2 = linalg.fill ins(%c0 : f32) outs(%e2 : tensor<?x16xf32>) -> tensor<?x16xf32>
  %b = linalg.matmul ins(%x, %w2t : tensor<?x64xf32>, tensor<64x16xf32>) outs(%i2 : tensor<?x16xf32>) -> tensor<?x16xf32> loc("lm_head")
  %c = linalg.matmul ins(%x, %y : tensor<?x64xf32>, tensor<64x32xf32>) outs(%i1 : tensor<?x32xf32>) -> tensor<?x32xf32> loc("not_a_layer")
  %f = arith.constant dense<0.1> : tensor<4x8x2x2xf32>
  %n = tensor.dim %img, %c0i : tensor<?x8x8x8xf32>
  %e3 = tensor.empty(%n) : tensor<?x4x7x7xf32>
  %i3 = linalg.fill ins(%c0 : f32) outs(%e3 : tensor<?x4x7x7xf32>) -> tensor<?x4x7x7xf32>
  %d = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%img, %f : tensor<?x8x8x8xf32>, tensor<4x8x2x2xf32>) outs(%i3 : tensor<?x4x7x7xf32>) -> tensor<?x4x7x7xf32> loc("conv")
  return %a, %b, %c, %d : tensor<?x32xf32>, tensor<?x16xf32>, tensor<?x32xf32>, tensor<?x4x7x7xf32>
}

// Layers inside control flow (scf.if, from ONNX If) stay float and unnamed:
// calibration taps layer inputs as function results. The top-level layer
// is quantized.
// BRANCH-LABEL: func.func @main
// BRANCH: scf.if
// BRANCH: linalg.matmul ins(
// BRANCH: linalg.matmul {qopt.layer_name = "top", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 8,

//--- branch.mlir
func.func @main(%c: i1, %x: tensor<4x64xf32>) -> (tensor<4x32xf32>, tensor<4x32xf32>) {
  %c0 = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %e = tensor.empty() : tensor<4x32xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<4x32xf32>) -> tensor<4x32xf32>
  %r = scf.if %c -> (tensor<4x32xf32>) {
    %a = linalg.matmul ins(%x, %w : tensor<4x64xf32>, tensor<64x32xf32>) outs(%i : tensor<4x32xf32>) -> tensor<4x32xf32> loc("in_branch")
    scf.yield %a : tensor<4x32xf32>
  } else {
    scf.yield %i : tensor<4x32xf32>
  }
  %b = linalg.matmul ins(%x, %w : tensor<4x64xf32>, tensor<64x32xf32>) outs(%i : tensor<4x32xf32>) -> tensor<4x32xf32> loc("top")
  return %r, %b : tensor<4x32xf32>, tensor<4x32xf32>
}
