// RUN: split-file %s %t
// RUN: qopt-opt %t/rtn.mlir --qopt-quantize-weights="clip-search=false" | FileCheck %s --check-prefix=RTN
// RUN: qopt-opt %t/group.mlir --qopt-quantize-weights | FileCheck %s --check-prefix=GROUP
// RUN: %python %S/Inputs/make_stats.py %t/stats.npz fc:8 other:8
// RUN: qopt-opt %t/group.mlir --qopt-quantize-weights="method=gptq calibration-file=%t/stats.npz act-order=true" | FileCheck %s --check-prefix=GPTQ
// RUN: not qopt-opt %t/group.mlir --qopt-quantize-weights="method=gptq" 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: %python %S/Inputs/make_stats.py %t/other.npz other:8
// RUN: not qopt-opt %t/group.mlir --qopt-quantize-weights="method=gptq calibration-file=%t/other.npz" 2>&1 | FileCheck %s --check-prefix=NOLAYER
// RUN: not qopt-opt %t/group.mlir --qopt-quantize-weights="method=awq" 2>&1 | FileCheck %s --check-prefix=METHOD
// RUN: not qopt-opt %t/group.mlir --qopt-quantize-weights="method=gptq calibration-file=%t/missing.npz" 2>&1 | FileCheck %s --check-prefix=NOFILE

// Round to nearest, 4-bit symmetric, per output channel, W [K, N] = [4, 2]:
// channel 0 = (1, -1.5, 0.5, 4): scale 4/7, values 1.75 -> 2, -2.625 -> -3,
// 0.875 -> 1, 7; channel 1 = (0.3, 0.2, -0.7, 0.1): scale 0.1, values 3, 2,
// -7, 1. Weights [N, K] one byte each (qopt-pack-weights packs them later),
// scales f32 (4/7 = 0x3F124925, 0.1 = 0x3DCCCCCD); blobs start with their
// alignment (8).
// RTN-LABEL: func.func @main
// RTN: %[[RAW:.*]] = arith.constant dense_resource<qweights> : tensor<2x4xi8>
// RTN: %[[W:.*]] = qopt.storage_cast %[[RAW]] : tensor<2x4xi8> to tensor<2x4x!qopt.int<s4>>
// RTN: %[[S:.*]] = arith.constant dense_resource<wscales> : tensor<2xf32>
// RTN: %[[Y:.*]] = qopt.qmatmul %arg0, %[[W]] scale(%[[S]]) {qopt.layer_name = "fc", qopt.quant_config = {{.*}}, qopt.weight_error = {relative = {{.*}} : f64}, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x4xf32>, tensor<2x4x!qopt.int<s4>>, tensor<2xf32>) -> tensor<?x2xf32>
// RTN-NOT: linalg.matmul
// RTN: return %[[Y]]
// RTN: qweights: "0x0800000002FD01070302F901"
// RTN: wscales: "0x080000002549123FCDCCCC3D"

// Per group of 4 along K = 8, asymmetric (unsigned weights, zero points
// [N, groups]); the weight constant is transposed ([N, K], Gemm transB);
// an accumulator that is not zero stays as an addition.
// GROUP-LABEL: func.func @main
// GROUP: %[[W:.*]] = qopt.storage_cast %{{.*}} : tensor<3x8xi8> to tensor<3x8x!qopt.int<u3>>
// GROUP: %[[S:.*]] = arith.constant dense_resource<wscales> : tensor<3x2xf32>
// GROUP: %[[Z:.*]] = arith.constant dense_resource<wzero_points> : tensor<3x2xi32>
// GROUP: %[[Y:.*]] = qopt.qmatmul %arg0, %[[W]] scale(%[[S]]) zero_point(%[[Z]]) {{.*}}weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 4), asymmetric>}
// GROUP: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[Y]], %arg1 : tensor<?x3xf32>, tensor<?x3xf32>)
// GROUP: arith.addf
// GROUP: return %[[SUM]]
// GROUP-NOT: linalg.transpose

// GPTQ takes the Hessian from the statistics and records its error too.
// GPTQ: qopt.qmatmul {{.*}}qopt.weight_error = {hessian = {{.*}} : f64, relative = {{.*}} : f64}
// NOSTATS: gptq needs calibration statistics (calibration-file)
// NOLAYER: calibration file '{{.*}}other.npz' has no statistics for layer 'fc' (calibrate this model again)
// METHOD: weight quantizer must be rtn or gptq, got 'awq'
// NOFILE: cannot read '{{.*}}missing.npz'

//--- rtn.mlir
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %c0i = arith.constant 0 : index
  %m = tensor.dim %x, %c0i : tensor<?x4xf32>
  %w = arith.constant dense<[[1.0, 0.3], [-1.5, 0.2], [0.5, -0.7], [4.0, 0.1]]> : tensor<4x2xf32>
  %e = tensor.empty(%m) : tensor<?x2xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x2xf32>) -> tensor<?x2xf32>
  %a = linalg.matmul {qopt.layer_name = "fc", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<?x4xf32>, tensor<4x2xf32>) outs(%i : tensor<?x2xf32>) -> tensor<?x2xf32>
  return %a : tensor<?x2xf32>
}

//--- group.mlir
func.func @main(%x: tensor<?x8xf32>, %acc: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %w = arith.constant dense<[[0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [-1.0, 0.0, 1.0, 0.5, 0.25, 0.125, -0.5, 2.0]]> : tensor<3x8xf32>
  %t = tensor.empty() : tensor<8x3xf32>
  %wt = linalg.transpose ins(%w : tensor<3x8xf32>) outs(%t : tensor<8x3xf32>) permutation = [1, 0]
  %a = linalg.matmul {qopt.layer_name = "fc", qopt.quant_config = #qopt.quant_config<wbits = 3, abits = 16, group_size = 4, weight_symmetric = false, act_symmetric = true, act_quant = none>} ins(%x, %wt : tensor<?x8xf32>, tensor<8x3xf32>) outs(%acc : tensor<?x3xf32>) -> tensor<?x3xf32>
  return %a : tensor<?x3xf32>
}
