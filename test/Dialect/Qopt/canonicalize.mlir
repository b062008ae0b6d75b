// RUN: qopt-opt %s -canonicalize -cse | FileCheck %s

// dequantize(quantize(x)) is the quantization error the model sees: no
// canonicalization may fold it back to x.
// CHECK-LABEL: func.func @no_fold_roundtrip
// CHECK: %[[Q:.*]] = qopt.quantize %arg0
// CHECK: %[[D:.*]] = qopt.dequantize %[[Q]]
// CHECK: return %[[D]]
func.func @no_fold_roundtrip(%x: tensor<16xf32>) -> tensor<16xf32> {
  %s = arith.constant dense<0.1> : tensor<f32>
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<16xf32>, tensor<f32>) -> tensor<16x!qopt.int<s3>>
  %d = qopt.dequantize %q, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<16x!qopt.int<s3>>, tensor<f32>) -> tensor<16xf32>
  return %d : tensor<16xf32>
}

// Unused pure quantization ops are dead code and go away.
// CHECK-LABEL: func.func @dead_quantize
// CHECK-NOT: qopt.
// CHECK: return %arg0
func.func @dead_quantize(%x: tensor<16xf32>) -> tensor<16xf32> {
  %s = arith.constant dense<0.1> : tensor<f32>
  %q = qopt.quantize %x, %s {scheme = #qopt.scheme<per_tensor, symmetric>} : (tensor<16xf32>, tensor<f32>) -> tensor<16x!qopt.int<s3>>
  return %x : tensor<16xf32>
}

// qopt -> builtin -> qopt is the identity.
// CHECK-LABEL: func.func @storage_cast_roundtrip
// CHECK-NOT: qopt.storage_cast
// CHECK: return %arg0
func.func @storage_cast_roundtrip(%q: tensor<8x!qopt.int<s3>>) -> tensor<8x!qopt.int<s3>> {
  %raw = qopt.storage_cast %q : tensor<8x!qopt.int<s3>> to tensor<8xi8>
  %back = qopt.storage_cast %raw : tensor<8xi8> to tensor<8x!qopt.int<s3>>
  return %back : tensor<8x!qopt.int<s3>>
}

// builtin -> qopt -> builtin truncates to the low bits: it must stay.
// CHECK-LABEL: func.func @storage_cast_truncating
// CHECK: %[[Q:.*]] = qopt.storage_cast %arg0 : tensor<8xi8> to tensor<8x!qopt.int<s3>>
// CHECK: %[[R:.*]] = qopt.storage_cast %[[Q]] : tensor<8x!qopt.int<s3>> to tensor<8xi8>
// CHECK: return %[[R]]
func.func @storage_cast_truncating(%raw: tensor<8xi8>) -> tensor<8xi8> {
  %q = qopt.storage_cast %raw : tensor<8xi8> to tensor<8x!qopt.int<s3>>
  %back = qopt.storage_cast %q : tensor<8x!qopt.int<s3>> to tensor<8xi8>
  return %back : tensor<8xi8>
}
