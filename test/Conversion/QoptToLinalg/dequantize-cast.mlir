// RUN: qopt-opt %s --convert-qopt-to-linalg --split-input-file | FileCheck %s

// Dequantize: widen by the storage's signedness, subtract the zero point in
// int32, multiply in f32, then the result type.
// CHECK-LABEL: func.func @dequantize_u4_f16
// CHECK-SAME: (%{{.*}}: tensor<2x8xi8>, %{{.*}}: tensor<2xf16>, %{{.*}}: tensor<2xi32>) -> tensor<2x8xf16>
// CHECK: ^bb0(%[[Q:.*]]: i8, %[[S:.*]]: f16, %[[Z:.*]]: i32, %{{.*}}: f16):
// CHECK: %[[W:.*]] = arith.extui %[[Q]] : i8 to i32
// CHECK: %[[D:.*]] = arith.subi %[[W]], %[[Z]] : i32
// CHECK: %[[F:.*]] = arith.sitofp %[[D]] : i32 to f32
// CHECK: %[[SF:.*]] = arith.extf %[[S]] : f16 to f32
// CHECK: %[[M:.*]] = arith.mulf %[[F]], %[[SF]] : f32
// CHECK: arith.truncf %[[M]] : f32 to f16
func.func @dequantize_u4_f16(%q: tensor<2x8x!qopt.int<u4>>, %s: tensor<2xf16>, %z: tensor<2xi32>) -> tensor<2x8xf16> {
  %d = qopt.dequantize %q, %s, %z {scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>} : (tensor<2x8x!qopt.int<u4>>, tensor<2xf16>, tensor<2xi32>) -> tensor<2x8xf16>
  return %d : tensor<2x8xf16>
}

// -----

// Signed storage sign-extends.
// CHECK-LABEL: func.func @dequantize_s3
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK-NOT: arith.subi
func.func @dequantize_s3(%q: tensor<8x!qopt.int<s3>>, %s: tensor<f32>) -> tensor<8xf32> {
  %d = qopt.dequantize %q, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<8x!qopt.int<s3>>, tensor<f32>) -> tensor<8xf32>
  return %d : tensor<8xf32>
}

// -----

// Builtin -> qopt: the low N bits, sign- or zero-extended into the byte.
// CHECK-LABEL: func.func @cast_in
// CHECK: ^bb0(%[[V:.*]]: i32, %{{.*}}: i8):
// CHECK: %[[T:.*]] = arith.trunci %[[V]] : i32 to i4
// CHECK: arith.extsi %[[T]] : i4 to i8
// CHECK: ^bb0(%[[V2:.*]]: i8, %{{.*}}: i8):
// CHECK: %[[T2:.*]] = arith.trunci %[[V2]] : i8 to i3
// CHECK: arith.extui %[[T2]] : i3 to i8
// CHECK: ^bb0(%[[V3:.*]]: i8, %{{.*}}: i8):
// CHECK-NEXT: linalg.yield %[[V3]] : i8
func.func @cast_in(%a: tensor<4xi32>, %b: tensor<4xi8>) -> (tensor<4x!qopt.int<s4>>, tensor<4x!qopt.int<u3>>, tensor<4x!qopt.int<u8>>) {
  %x = qopt.storage_cast %a : tensor<4xi32> to tensor<4x!qopt.int<s4>>
  %y = qopt.storage_cast %b : tensor<4xi8> to tensor<4x!qopt.int<u3>>
  %z = qopt.storage_cast %b : tensor<4xi8> to tensor<4x!qopt.int<u8>>
  return %x, %y, %z : tensor<4x!qopt.int<s4>>, tensor<4x!qopt.int<u3>>, tensor<4x!qopt.int<u8>>
}

// -----

// qopt -> builtin: sign or zero extension of the stored byte.
// CHECK-LABEL: func.func @cast_out
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.extui %{{.*}} : i8 to i64
func.func @cast_out(%a: tensor<4x!qopt.int<s4>>, %b: tensor<4x!qopt.int<u8>>) -> (tensor<4xi32>, tensor<4xi64>) {
  %x = qopt.storage_cast %a : tensor<4x!qopt.int<s4>> to tensor<4xi32>
  %y = qopt.storage_cast %b : tensor<4x!qopt.int<u8>> to tensor<4xi64>
  return %x, %y : tensor<4xi32>, tensor<4xi64>
}

// -----

// Other ops on qopt tensors get converted types; calls and returns too.
// CHECK-LABEL: func.func private @callee(tensor<4x2xi8>) -> tensor<8xi8>
// CHECK-LABEL: func.func @types_elsewhere
// CHECK-SAME: (%[[A:.*]]: tensor<8xi8>) -> tensor<8xi8>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[A]] {{\[\[}}0, 1]] output_shape [4, 2] : tensor<8xi8> into tensor<4x2xi8>
// CHECK: %[[C:.*]] = call @callee(%[[R]]) : (tensor<4x2xi8>) -> tensor<8xi8>
// CHECK: return %[[C]] : tensor<8xi8>
func.func private @callee(tensor<4x2x!qopt.int<s4>>) -> tensor<8x!qopt.int<s4>>
func.func @types_elsewhere(%a: tensor<8x!qopt.int<s4>>) -> tensor<8x!qopt.int<s4>> {
  %r = tensor.expand_shape %a [[0, 1]] output_shape [4, 2] : tensor<8x!qopt.int<s4>> into tensor<4x2x!qopt.int<s4>>
  %c = call @callee(%r) : (tensor<4x2x!qopt.int<s4>>) -> tensor<8x!qopt.int<s4>>
  return %c : tensor<8x!qopt.int<s4>>
}
