// qopt-quantize-activations on a weight-only layer (made by the two passes
// before it): dynamic per-token scales computed in IR, static per-tensor
// scales from the statistics, and every diagnostic.
// RUN: split-file %s %t
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8" --qopt-quantize-weights --qopt-quantize-activations | FileCheck %s --check-prefix=DYNSYM
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=6 act-scheme=asym" --qopt-quantize-weights --qopt-quantize-activations | FileCheck %s --check-prefix=DYNASYM
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4" --qopt-quantize-weights --qopt-quantize-activations | FileCheck %s --check-prefix=WONLY
// RUN: %python %S/Inputs/make_stats.py %t/stats.npz fc:8:2:50
// RUN: %python %S/Inputs/expected_act_range.py %t/stats.npz fc 8 sym > %t/sym.txt
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static" --qopt-quantize-weights --qopt-quantize-activations="calibration-file=%t/stats.npz range=absmax" >> %t/sym.txt
// RUN: FileCheck %s --check-prefix=STATSYM < %t/sym.txt
// RUN: %python %S/Inputs/expected_act_range.py %t/stats.npz fc 8 asym > %t/asym.txt
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static act-scheme=asym" --qopt-quantize-weights --qopt-quantize-activations="calibration-file=%t/stats.npz range=absmax" >> %t/asym.txt
// RUN: FileCheck %s --check-prefix=STATASYM < %t/asym.txt
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static" --qopt-quantize-weights --qopt-quantize-activations="calibration-file=%t/stats.npz range=mse" | FileCheck %s --check-prefix=MSE
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static" --qopt-quantize-weights --qopt-quantize-activations 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static" --qopt-quantize-weights --qopt-quantize-activations="calibration-file=%t/stats.npz range=widest" 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static" --qopt-quantize-weights --qopt-quantize-activations="calibration-file=%t/stats.npz range=percentile percentile=0" 2>&1 | FileCheck %s --check-prefix=PERCENT
// RUN: %python %S/Inputs/make_stats.py %t/other.npz other:8
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static" --qopt-quantize-weights --qopt-quantize-activations="calibration-file=%t/other.npz" 2>&1 | FileCheck %s --check-prefix=NOLAYER
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=8 act-quant=static" --qopt-quantize-weights --qopt-quantize-activations="calibration-file=%t/missing.npz" 2>&1 | FileCheck %s --check-prefix=MISSING

// Dynamic symmetric: each row's scale is max|x| / 127 (1 where the row is
// all zeros), the input is quantized per row, and the matmul takes it.
// DYNSYM-LABEL: func.func @main
// DYNSYM: %[[AMAX:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<?x8xf32>)
// DYNSYM: math.absf
// DYNSYM: arith.maximumf
// DYNSYM: %[[S:.*]] = linalg.generic {{.*}} ins(%[[AMAX]] : tensor<?xf32>)
// DYNSYM: arith.constant 1.270000e+02 : f32
// DYNSYM: arith.divf
// DYNSYM: arith.cmpf ogt
// DYNSYM: arith.select
// DYNSYM: %[[Q:.*]] = qopt.quantize %arg0, %[[S]] {scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x8xf32>, tensor<?xf32>) -> tensor<?x8x!qopt.int<s8>>
// DYNSYM: qopt.qmatmul %[[Q]] scale(%[[S]]), %{{.*}} scale(%{{.*}}) {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>{{.*}}act_quant = dynamic_per_token
// DYNSYM-SAME: (tensor<?x8x!qopt.int<s8>>, tensor<?xf32>, tensor<3x8x!qopt.int<s4>>, tensor<3xf32>) -> tensor<?x3xf32>

// Dynamic asymmetric 6-bit: the row range [min(x, 0), max(x, 0)] over 63
// steps, zero point -lo / scale rounded half to even and clamped to [0, 63].
// DYNASYM: %[[MM:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<?x8xf32>)
// DYNASYM: arith.minimumf
// DYNASYM: arith.maximumf
// DYNASYM: %[[SZ:.*]]:2 = linalg.generic {{.*}} ins(%[[MM]]#0, %[[MM]]#1 : tensor<?xf32>, tensor<?xf32>)
// DYNASYM: arith.subf
// DYNASYM: arith.constant 6.300000e+01 : f32
// DYNASYM: arith.divf
// DYNASYM: math.roundeven
// DYNASYM: arith.fptosi
// DYNASYM: %[[Q:.*]] = qopt.quantize %arg0, %[[SZ]]#0, %[[SZ]]#1 {scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>} {{.*}} -> tensor<?x8x!qopt.int<u6>>
// DYNASYM: qopt.qmatmul %[[Q]] scale(%[[SZ]]#0) zero_point(%[[SZ]]#1), %{{.*}} scale(%{{.*}})

// Weight-only (abits = 16): nothing to quantize, the matmul stays float x int.
// WONLY-NOT: qopt.quantize
// WONLY: qopt.qmatmul %arg0, %{{.*}} scale(%{{.*}}) {{.*}}act_quant = none{{.*}} : (tensor<?x8xf32>, tensor<3x8x!qopt.int<s4>>, tensor<3xf32>) -> tensor<?x3xf32>

// Static: the scale is a constant computed from the statistics (checked
// against expected_act_range.py's independent computation).
// STATSYM: EXPECT scale = [[SCALE:[0-9.e+-]+]] zero_point = 0
// STATSYM: %[[S:.*]] = arith.constant dense<[[SCALE]]> : tensor<f32>
// STATSYM: %[[Q:.*]] = qopt.quantize %arg0, %[[S]] {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<?x8xf32>, tensor<f32>) -> tensor<?x8x!qopt.int<s8>>
// STATSYM: qopt.qmatmul %[[Q]] scale(%[[S]]), {{.*}}qopt.act_range = {scale = [[SCALE]] : f32, zero_point = 0 : i32}{{.*}}act_quant = static_per_tensor
// STATASYM: EXPECT scale = [[SCALE:[0-9.e+-]+]] zero_point = [[ZP:[0-9]+]]
// STATASYM: %[[S:.*]] = arith.constant dense<[[SCALE]]> : tensor<f32>
// STATASYM: %[[Z:.*]] = arith.constant dense<[[ZP]]> : tensor<i32>
// STATASYM: qopt.quantize %arg0, %[[S]], %[[Z]] {scheme = #qopt.scheme<per_tensor, asymmetric>} {{.*}} -> tensor<?x8x!qopt.int<u8>>
// STATASYM: qopt.act_range = {scale = [[SCALE]] : f32, zero_point = [[ZP]] : i32}

// The MSE range clips the outlier channel's tail: a smaller scale than the
// absmax one (1.464).
// MSE: qopt.act_range = {scale = 1.4{{[0-5]}}{{[0-9]*}} : f32, zero_point = 0 : i32}

// NOFILE: error: layer 'fc': static activation scales need calibration statistics (calibration-file)
// RANGE: error: activation range must be absmax, percentile or mse, got 'widest'
// PERCENT: error: percentile must be in (0, 100], got 0.0
// NOLAYER: error: calibration file '{{.*}}other.npz' has no statistics for layer 'fc' (calibrate this model again)
// MISSING: error: cannot read '{{.*}}missing.npz'

//--- layer.mlir
func.func @main(%x: tensor<?x8xf32>) -> tensor<?x3xf32> {
  %c0 = arith.constant 0.0 : f32
  %c0i = arith.constant 0 : index
  %m = tensor.dim %x, %c0i : tensor<?x8xf32>
  %w = arith.constant dense<[[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6], [0.7, -0.8, 1.0], [2.0, 3.0, 4.0], [5.0, 6.0, 7.0], [8.0, -1.0, 0.0], [1.0, 0.5, 0.25], [0.125, -0.5, 2.0]]> : tensor<8x3xf32>
  %e = tensor.empty(%m) : tensor<?x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x3xf32>) -> tensor<?x3xf32>
  %a = linalg.matmul {qopt.layer_name = "fc"} ins(%x, %w : tensor<?x8xf32>, tensor<8x3xf32>) outs(%i : tensor<?x3xf32>) -> tensor<?x3xf32>
  return %a : tensor<?x3xf32>
}
