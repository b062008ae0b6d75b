// RUN: qopt-opt %s --qopt-expand-bf16-conversions | FileCheck %s

// bf16 -> f32: the 16 bits shifted into the top of an i32 (scalar and
// vector, the vector<1xbf16> that LLVM's x86 back end cannot legalize).
// CHECK-LABEL: func.func @extend
// CHECK-NOT: arith.extf
// CHECK: arith.bitcast %{{.*}} : bf16 to i16
// CHECK: arith.extui %{{.*}} : i16 to i32
// CHECK: arith.shli
// CHECK: arith.bitcast %{{.*}} : i32 to f32
// CHECK: arith.bitcast %{{.*}} : vector<1xbf16> to vector<1xi16>
// CHECK: arith.bitcast %{{.*}} : vector<1xi32> to vector<1xf32>
func.func @extend(%x: bf16, %v: vector<1xbf16>) -> (f32, vector<1xf32>) {
  %a = arith.extf %x : bf16 to f32
  %b = arith.extf %v : vector<1xbf16> to vector<1xf32>
  return %a, %b : f32, vector<1xf32>
}

// f32 -> bf16: rounded to nearest even on the bits (NaN kept), then the top
// 16 bits.
// CHECK-LABEL: func.func @truncate
// CHECK-NOT: arith.truncf
// CHECK-SAME: (%[[X:.*]]: f32)
// CHECK: %[[NAN:.*]] = arith.cmpf une, %[[X]], %[[X]] : f32
// CHECK: arith.shrui
// CHECK: arith.trunci %{{.*}} : i32 to i16
// CHECK: arith.select %[[NAN]], %c32704_i16
// CHECK: arith.bitcast %{{.*}} : i16 to bf16
func.func @truncate(%x: f32) -> bf16 {
  %a = arith.truncf %x : f32 to bf16
  return %a : bf16
}

// f16 conversions and GPU kernels are left alone.
// CHECK-LABEL: func.func @half
// CHECK: arith.extf %{{.*}} : f16 to f32
func.func @half(%x: f16) -> f32 {
  %a = arith.extf %x : f16 to f32
  return %a : f32
}
// CHECK: gpu.module @kernels
// CHECK: arith.extf %{{.*}} : bf16 to f32
gpu.module @kernels {
  gpu.func @k(%x: bf16, %out: memref<1xf32>) kernel {
    %a = arith.extf %x : bf16 to f32
    %c0 = arith.constant 0 : index
    memref.store %a, %out[%c0] : memref<1xf32>
    gpu.return
  }
}
