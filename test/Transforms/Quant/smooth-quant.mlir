// qopt-smooth-quant: SmoothQuant factors folded into a LayerNorm-style
// producer (checked against the formula by check_smoothing.py), the alpha
// search, the explicit multiply when there is nothing to fold into,
// weight-only layers left alone, and every diagnostic.
// RUN: split-file %s %t
// RUN: %python %S/Inputs/make_stats.py %t/stats.npz q:8:2:60 k:8:2:60
// RUN: qopt-opt %t/norm.mlir --qopt-smooth-quant="calibration-file=%t/stats.npz alpha=0.5" > %t/half.mlir
// RUN: FileCheck %s --check-prefix=FOLD < %t/half.mlir
// RUN: %python %S/Inputs/check_smoothing.py %t/stats.npz q 0.5 1,2,0.5,1,1,1.5,1,0.25 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7 0.5 -0.25 < %t/half.mlir | FileCheck %s --check-prefix=VALUES
// RUN: qopt-opt %t/norm.mlir --qopt-smooth-quant="calibration-file=%t/stats.npz alpha=0.8" | %python %S/Inputs/check_smoothing.py %t/stats.npz q 0.8 1,2,0.5,1,1,1.5,1,0.25 0,0.1,0.2,0.3,0.4,0.5,0.6,0.7 0.5 -0.25 | FileCheck %s --check-prefix=VALUES
// RUN: qopt-opt %t/norm.mlir --qopt-smooth-quant="calibration-file=%t/stats.npz" | FileCheck %s --check-prefix=SEARCH
// RUN: qopt-opt %t/explicit.mlir --qopt-smooth-quant="calibration-file=%t/stats.npz alpha=0.5" | FileCheck %s --check-prefix=EXPLICIT
// RUN: not qopt-opt %t/norm.mlir --qopt-smooth-quant 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not qopt-opt %t/norm.mlir --qopt-smooth-quant="calibration-file=%t/stats.npz alpha=1.5" 2>&1 | FileCheck %s --check-prefix=ALPHA
// RUN: not qopt-opt %t/norm.mlir --qopt-smooth-quant="calibration-file=%t/missing.npz" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: %python %S/Inputs/make_stats.py %t/other.npz other:8
// RUN: not qopt-opt %t/norm.mlir --qopt-smooth-quant="calibration-file=%t/other.npz" 2>&1 | FileCheck %s --check-prefix=NOLAYER
// RUN: %python %S/Inputs/make_stats.py %t/narrow.npz q:4 k:4
// RUN: not qopt-opt %t/norm.mlir --qopt-smooth-quant="calibration-file=%t/narrow.npz" 2>&1 | FileCheck %s --check-prefix=CHANNELS

// Q and K read the same normalized tensor: one group, one s, folded into the
// norm's scale and shift (new constants), both weights rescaled.
// FOLD-LABEL: func.func @norm_affine
// FOLD: %[[G:.*]] = arith.constant dense_resource<smoothed> : tensor<8xf32>
// FOLD: %[[B:.*]] = arith.constant dense_resource<smoothed_1> : tensor<8xf32>
// FOLD: %[[H:.*]] = linalg.generic {{.*}} ins(%arg0, %[[G]], %[[B]] : tensor<16x8xf32>, tensor<8xf32>, tensor<8xf32>)
// FOLD: %[[WQ:.*]] = arith.constant dense_resource<smoothed_weights> : tensor<8x3xf32>
// FOLD: %[[WK:.*]] = arith.constant dense_resource<smoothed_weights_1> : tensor<8x3xf32>
// FOLD: linalg.matmul {qopt.layer_name = "q", {{.*}}qopt.smoothing = {alpha = 5.000000e-01 : f64, target = "fold"}} ins(%[[H]], %[[WQ]] :
// FOLD: linalg.matmul {qopt.layer_name = "k", {{.*}}qopt.smoothing = {alpha = 5.000000e-01 : f64, target = "fold"}} ins(%[[H]], %[[WK]] :
// FOLD-NOT: dense<[1.000000e+00, 2.000000e+00
// VALUES: smoothing ok (8 channels

// The search picks one alpha for the group (or none at all).
// SEARCH: linalg.matmul {qopt.layer_name = "q", {{.*}}qopt.smoothing = {alpha = [[A:.*]] : f64, target = "{{fold|none}}"}}
// SEARCH: linalg.matmul {qopt.layer_name = "k", {{.*}}qopt.smoothing = {alpha = [[A]] : f64, target = "{{fold|none}}"}}

// A function argument cannot absorb s: an explicit multiply by 1/s feeds the
// layer. The weight-only layer (abits = 16) is not smoothed.
// EXPLICIT-LABEL: func.func @explicit
// EXPLICIT: %[[INV:.*]] = arith.constant dense_resource<smoothing> : tensor<8xf32>
// EXPLICIT: %[[XS:.*]] = linalg.generic {{.*}} ins(%arg0, %[[INV]] : tensor<16x8xf32>, tensor<8xf32>)
// EXPLICIT: arith.mulf
// EXPLICIT: %[[Q:.*]] = linalg.matmul {qopt.layer_name = "q", {{.*}}qopt.smoothing = {alpha = 5.000000e-01 : f64, target = "explicit"}} ins(%[[XS]],
// EXPLICIT: linalg.matmul {qopt.layer_name = "k", qopt.quant_config = {{[^}]*}}>} ins(%[[Q]], %{{.*}} : tensor<16x3xf32>, tensor<3x3xf32>)

// NOFILE: error: qopt-smooth-quant needs calibration statistics (calibration-file)
// ALPHA: error: smoothing alpha must be in [0, 1] (or negative to search), got 1.5
// MISSING: error: cannot read '{{.*}}missing.npz'
// NOLAYER: error: calibration file '{{.*}}other.npz' has no statistics for layer 'q' (calibrate this model again)
// CHANNELS: error: calibration statistics of layer 'q' have 4 channels, the layer has K = 8

//--- norm.mlir
#id = affine_map<(d0, d1) -> (d0, d1)>
#ch = affine_map<(d0, d1) -> (d1)>
func.func @norm_affine(%x: tensor<16x8xf32>) -> (tensor<16x3xf32>, tensor<16x3xf32>) {
  %gamma = arith.constant dense<[1.0, 2.0, 0.5, 1.0, 1.0, 1.5, 1.0, 0.25]> : tensor<8xf32>
  %beta = arith.constant dense<[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]> : tensor<8xf32>
  %e8 = tensor.empty() : tensor<16x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #ch, #ch, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %gamma, %beta : tensor<16x8xf32>, tensor<8xf32>, tensor<8xf32>) outs(%e8 : tensor<16x8xf32>) {
  ^bb0(%a: f32, %g: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %g : f32
    %r = arith.addf %m, %b : f32
    linalg.yield %r : f32
  } -> tensor<16x8xf32>
  %c0 = arith.constant 0.0 : f32
  %wq = arith.constant dense<0.5> : tensor<8x3xf32>
  %wk = arith.constant dense<-0.25> : tensor<8x3xf32>
  %e = tensor.empty() : tensor<16x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<16x3xf32>) -> tensor<16x3xf32>
  %q = linalg.matmul {qopt.layer_name = "q", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>} ins(%h, %wq : tensor<16x8xf32>, tensor<8x3xf32>) outs(%i : tensor<16x3xf32>) -> tensor<16x3xf32>
  %k = linalg.matmul {qopt.layer_name = "k", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>} ins(%h, %wk : tensor<16x8xf32>, tensor<8x3xf32>) outs(%i : tensor<16x3xf32>) -> tensor<16x3xf32>
  return %q, %k : tensor<16x3xf32>, tensor<16x3xf32>
}

//--- explicit.mlir
func.func @explicit(%x: tensor<16x8xf32>) -> (tensor<16x3xf32>, tensor<16x3xf32>) {
  %c0 = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<8x3xf32>
  %w2 = arith.constant dense<0.5> : tensor<3x3xf32>
  %e = tensor.empty() : tensor<16x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<16x3xf32>) -> tensor<16x3xf32>
  %q = linalg.matmul {qopt.layer_name = "q", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>} ins(%x, %w : tensor<16x8xf32>, tensor<8x3xf32>) outs(%i : tensor<16x3xf32>) -> tensor<16x3xf32>
  %k = linalg.matmul {qopt.layer_name = "k", qopt.quant_config = #qopt.quant_config<wbits = 8, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%q, %w2 : tensor<16x3xf32>, tensor<3x3xf32>) outs(%i : tensor<16x3xf32>) -> tensor<16x3xf32>
  return %q, %k : tensor<16x3xf32>, tensor<16x3xf32>
}
