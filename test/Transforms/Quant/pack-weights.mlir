// qopt-pack-weights: integer weights stored as bit planes [bits, N, words].
// RUN: split-file %s %t
// RUN: qopt-opt %t/rtn.mlir --qopt-quantize-weights="clip-search=false" --qopt-pack-weights | FileCheck %s
// RUN: qopt-opt %t/arg.mlir --qopt-pack-weights | FileCheck %s --check-prefix=ARG
// RUN: qopt-opt %t/w8.mlir --qopt-pack-weights | FileCheck %s --check-prefix=W8

// The weights of quantize-weights.mlir's RTN case, [N, K] = [2, 4] in s4:
// row 0 = (2, -3, 1, 7) = 0010 1101 0001 0111, row 1 = (3, 2, -7, 1) =
// 0011 0010 1001 0001 (two's complement). Bit k of word (plane b, row n) is
// bit b of w[n][k]:
//   plane 0: row 0 (0,1,1,1) = 0xE, row 1 (1,0,1,1) = 0xD
//   plane 1: row 0 (1,0,0,1) = 0x9, row 1 (1,1,0,0) = 0x3
//   plane 2: row 0 (0,1,0,1) = 0xA, row 1 (0,0,0,0) = 0x0
//   plane 3: row 0 (0,1,0,0) = 0x2, row 1 (0,0,1,0) = 0x4 (sign plane)
// CHECK-LABEL: func.func @main
// CHECK: %[[P:.*]] = arith.constant dense_resource<wplanes> : tensor<4x2x1xi32>
// CHECK: %[[W:.*]] = qopt.bitplane_unpack %[[P]] : tensor<4x2x1xi32> -> tensor<2x4x!qopt.int<s4>>
// CHECK: qopt.qmatmul %arg0, %[[W]] scale(
// CHECK-NOT: qweights:
// CHECK: wplanes: "0x080000000E0000000D00000009000000030000000A000000000000000200000004000000"

// Weights that are not constants (here an argument) stay as they are.
// ARG-LABEL: func.func @from_argument
// ARG: qopt.storage_cast %arg1 : tensor<2x4xi8> to tensor<2x4x!qopt.int<s4>>
// ARG-NOT: bitplane_unpack

//--- arg.mlir
func.func @from_argument(%x: tensor<3x4xf32>, %raw: tensor<2x4xi8>) -> tensor<3x2xf32> {
  %w = qopt.storage_cast %raw : tensor<2x4xi8> to tensor<2x4x!qopt.int<s4>>
  %s = arith.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %y = qopt.qmatmul %x, %w scale(%s) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<3x4xf32>, tensor<2x4x!qopt.int<s4>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

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

//--- w8.mlir
// 8-bit weights stay one byte per value (eight planes would be as large).
// W8-LABEL: func.func @eight_bits
// W8: %[[RAW:.*]] = arith.constant dense<{{\[}}[1, -2, 3, -128], [127, 0, -5, 6]]> : tensor<2x4xi8>
// W8: %[[W:.*]] = qopt.storage_cast %[[RAW]] : tensor<2x4xi8> to tensor<2x4x!qopt.int<s8>>
// W8-NOT: qopt.bitplane_unpack
// W8: qopt.qmatmul %arg0, %[[W]] scale(
func.func @eight_bits(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %raw = arith.constant dense<[[1, -2, 3, -128], [127, 0, -5, 6]]> : tensor<2x4xi8>
  %w = qopt.storage_cast %raw : tensor<2x4xi8> to tensor<2x4x!qopt.int<s8>>
  %s = arith.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %y = qopt.qmatmul %x, %w scale(%s) {weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<3x4xf32>, tensor<2x4x!qopt.int<s8>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
