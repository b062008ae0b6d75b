// RUN: qopt-opt %s --qopt-fuse-elementwise --split-input-file | FileCheck %s

// A weight decoded by an elementwise generic and read by a matmul that does
// not index it by M: fusing would decode every weight once per row. The
// decode stays a separate op writing the whole weight once.
#w = affine_map<(n, k) -> (n, k)>
#a3 = affine_map<(m, n, k) -> (m, k)>
#w3 = affine_map<(m, n, k) -> (n, k)>
#o3 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @decode_not_fused_into_matmul
// CHECK: %[[W:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}} : tensor<32x64xi8>)
// CHECK: arith.sitofp
// CHECK: %[[MM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[W]] : tensor<8x64xf32>, tensor<32x64xf32>)
// CHECK-NOT: arith.sitofp
// CHECK: return %[[MM]]
func.func @decode_not_fused_into_matmul(%a: tensor<8x64xf32>, %q: tensor<32x64xi8>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %e = tensor.empty() : tensor<32x64xf32>
  %w = linalg.generic {indexing_maps = [#w, #w], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<32x64xi8>) outs(%e : tensor<32x64xf32>) {
  ^bb0(%x: i8, %o: f32):
    %i = arith.sitofp %x : i8 to f32
    %s = arith.mulf %i, %i : f32
    linalg.yield %s : f32
  } -> tensor<32x64xf32>
  %r = linalg.generic {indexing_maps = [#a3, #w3, #o3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x64xf32>, tensor<32x64xf32>) outs(%c : tensor<8x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// A single cast is cheap to recompute and contraction matching looks
// through it: fused as upstream's linalg-fuse-elementwise-ops does.
#w = affine_map<(n, k) -> (n, k)>
#a3 = affine_map<(m, n, k) -> (m, k)>
#w3 = affine_map<(m, n, k) -> (n, k)>
#o3 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @cast_fused_into_matmul
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<8x64xf32>, tensor<32x64xf16>)
// CHECK: arith.extf
// CHECK-NOT: linalg.generic
func.func @cast_fused_into_matmul(%a: tensor<8x64xf32>, %h: tensor<32x64xf16>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %e = tensor.empty() : tensor<32x64xf32>
  %w = linalg.generic {indexing_maps = [#w, #w], iterator_types = ["parallel", "parallel"]}
      ins(%h : tensor<32x64xf16>) outs(%e : tensor<32x64xf32>) {
  ^bb0(%x: f16, %o: f32):
    %i = arith.extf %x : f16 to f32
    linalg.yield %i : f32
  } -> tensor<32x64xf32>
  %r = linalg.generic {indexing_maps = [#a3, #w3, #o3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x64xf32>, tensor<32x64xf32>) outs(%c : tensor<8x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// An activation quantizer (division, rounding) read by the integer matmul
// without its N index stays separate: fused, it would run N times per
// activation.
#x = affine_map<(m, k) -> (m, k)>
#a3 = affine_map<(m, n, k) -> (m, k)>
#w3 = affine_map<(m, n, k) -> (n, k)>
#o3 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @quantizer_not_fused
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.divf
// CHECK: math.roundeven
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-NOT: arith.divf
// CHECK: arith.muli
func.func @quantizer_not_fused(%a: tensor<8x64xf32>, %w: tensor<32x64xi8>, %c: tensor<8x32xi32>) -> tensor<8x32xi32> {
  %cst = arith.constant 0.5 : f32
  %e = tensor.empty() : tensor<8x64xi8>
  %q = linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x64xf32>) outs(%e : tensor<8x64xi8>) {
  ^bb0(%x: f32, %o: i8):
    %d = arith.divf %x, %cst : f32
    %r = math.roundeven %d : f32
    %i = arith.fptosi %r : f32 to i8
    linalg.yield %i : i8
  } -> tensor<8x64xi8>
  %r = linalg.generic {indexing_maps = [#a3, #w3, #o3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %w : tensor<8x64xi8>, tensor<32x64xi8>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  return %r : tensor<8x32xi32>
}

// -----

// Elementwise chains, and producers read at every loop of a reduction (a
// row maximum of |x|), still fuse into one op.
#id = affine_map<(m, k) -> (m, k)>
#row = affine_map<(m, k) -> (m)>
// CHECK-LABEL: func.func @elementwise_and_full_reads_fused
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}} : tensor<8x64xf32>)
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK-NOT: linalg.generic
func.func @elementwise_and_full_reads_fused(%a: tensor<8x64xf32>, %c: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8x64xf32>
  %abs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<8x64xf32>) outs(%e : tensor<8x64xf32>) {
  ^bb0(%x: f32, %o: f32):
    %v = math.absf %x : f32
    linalg.yield %v : f32
  } -> tensor<8x64xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%abs : tensor<8x64xf32>) outs(%c : tensor<8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %v = arith.maximumf %acc, %x : f32
    linalg.yield %v : f32
  } -> tensor<8xf32>
  return %max : tensor<8xf32>
}

// -----

// A loop of one iteration that the operand does not read (here the unit
// dim of [N, 1, K]) recomputes nothing: fused.
#src = affine_map<(n, g, k) -> (n, k)>
#id3 = affine_map<(n, g, k) -> (n, g, k)>
#dst = affine_map<(g, k, n) -> (n, g, k)>
#id3b = affine_map<(g, k, n) -> (g, k, n)>
// CHECK-LABEL: func.func @unit_loop_fused
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}} : tensor<32x64xi8>) outs(%{{.*}} : tensor<1x64x32xf32>)
// CHECK: arith.sitofp
// CHECK-NOT: linalg.generic
func.func @unit_loop_fused(%q: tensor<32x64xi8>) -> tensor<1x64x32xf32> {
  %e = tensor.empty() : tensor<32x64xf32>
  %w = linalg.generic {indexing_maps = [affine_map<(n, k) -> (n, k)>, affine_map<(n, k) -> (n, k)>], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<32x64xi8>) outs(%e : tensor<32x64xf32>) {
  ^bb0(%x: i8, %o: f32):
    %i = arith.sitofp %x : i8 to f32
    %s = arith.mulf %i, %i : f32
    linalg.yield %s : f32
  } -> tensor<32x64xf32>
  %e2 = tensor.empty() : tensor<1x64x32xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(g, k, n) -> (n, k)>, #id3b], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%w : tensor<32x64xf32>) outs(%e2 : tensor<1x64x32xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  } -> tensor<1x64x32xf32>
  return %t : tensor<1x64x32xf32>
}

// -----

// Into a contraction, a unit loop does not make fusion free: the decode
// inside a matrix-vector product (M = 1) would leave a generic that is no
// contraction. The decode stays separate; the matvec still reads f32.
#w = affine_map<(k, n) -> (k, n)>
#a3 = affine_map<(m, n, k) -> (m, k)>
#w3 = affine_map<(m, n, k) -> (k, n)>
#o3 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @decode_not_fused_into_matvec
// CHECK: %[[W:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%{{.*}} : tensor<64x32xi8>)
// CHECK: arith.sitofp
// CHECK: %[[MV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[W]] : tensor<1x64xf32>, tensor<64x32xf32>)
// CHECK-NOT: arith.sitofp
// CHECK: return %[[MV]]
func.func @decode_not_fused_into_matvec(%a: tensor<1x64xf32>, %q: tensor<64x32xi8>, %c: tensor<1x32xf32>) -> tensor<1x32xf32> {
  %e = tensor.empty() : tensor<64x32xf32>
  %w = linalg.generic {indexing_maps = [#w, #w], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<64x32xi8>) outs(%e : tensor<64x32xf32>) {
  ^bb0(%x: i8, %o: f32):
    %i = arith.sitofp %x : i8 to f32
    %s = arith.mulf %i, %i : f32
    linalg.yield %s : f32
  } -> tensor<64x32xf32>
  %r = linalg.generic {indexing_maps = [#a3, #w3, #o3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<1x64xf32>, tensor<64x32xf32>) outs(%c : tensor<1x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x32xf32>
  return %r : tensor<1x32xf32>
}

// -----

// A byte-quad field decode (marked by convert-qopt-to-linalg) with a
// transpose after it, as qopt-cpu-transpose-computed-operands writes: the
// fused op decodes the same fields in the transposed layout and keeps the
// mark. A decode fused with arithmetic after it is no longer one: no mark.
#fields = affine_map<(d0, d1) -> (d0, d1 floordiv 8)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @field_decode_mark
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}], {{.*}} ins(%arg0 : tensor<4x2xi32>) outs(%{{.*}} : tensor<16x4xi8>) attrs =  {qopt.byte_quad_fields = array<i64: 8>}
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg1 : tensor<4x2xi32>)
// CHECK-NOT: qopt.byte_quad_fields
// CHECK: return
func.func @field_decode_mark(%words: tensor<4x2xi32>, %words2: tensor<4x2xi32>) -> (tensor<16x4xi8>, tensor<4x16xi8>) {
  %c4_i32 = arith.constant 4 : i32
  %c8_i32 = arith.constant 8 : i32
  %c28_i32 = arith.constant 28 : i32
  %c1_i8 = arith.constant 1 : i8
  %e = tensor.empty() : tensor<4x16xi8>
  %d = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel"]}
      ins(%words : tensor<4x2xi32>) outs(%e : tensor<4x16xi8>) attrs = {qopt.byte_quad_fields = array<i64: 8>} {
  ^bb0(%word: i32, %out: i8):
    %k = linalg.index 1 : index
    %k32 = arith.index_cast %k : index to i32
    %f = arith.remui %k32, %c8_i32 : i32
    %byte = arith.remui %f, %c4_i32 : i32
    %bytebit = arith.muli %byte, %c8_i32 : i32
    %slot = arith.divui %f, %c4_i32 : i32
    %slotbit = arith.muli %slot, %c4_i32 : i32
    %low = arith.addi %bytebit, %slotbit : i32
    %left = arith.subi %c28_i32, %low : i32
    %up = arith.shli %word, %left : i32
    %q = arith.shrsi %up, %c28_i32 : i32
    %q8 = arith.trunci %q : i32 to i8
    linalg.yield %q8 : i8
  } -> tensor<4x16xi8>
  %et = tensor.empty() : tensor<16x4xi8>
  %t = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<4x16xi8>) outs(%et : tensor<16x4xi8>) {
  ^bb0(%x: i8, %out: i8):
    linalg.yield %x : i8
  } -> tensor<16x4xi8>
  %d2 = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel"]}
      ins(%words2 : tensor<4x2xi32>) outs(%e : tensor<4x16xi8>) attrs = {qopt.byte_quad_fields = array<i64: 8>} {
  ^bb0(%word: i32, %out: i8):
    %k = linalg.index 1 : index
    %k32 = arith.index_cast %k : index to i32
    %f = arith.remui %k32, %c8_i32 : i32
    %byte = arith.remui %f, %c4_i32 : i32
    %bytebit = arith.muli %byte, %c8_i32 : i32
    %slot = arith.divui %f, %c4_i32 : i32
    %slotbit = arith.muli %slot, %c4_i32 : i32
    %low = arith.addi %bytebit, %slotbit : i32
    %left = arith.subi %c28_i32, %low : i32
    %up = arith.shli %word, %left : i32
    %q = arith.shrsi %up, %c28_i32 : i32
    %q8 = arith.trunci %q : i32 to i8
    linalg.yield %q8 : i8
  } -> tensor<4x16xi8>
  %p = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d2 : tensor<4x16xi8>) outs(%e : tensor<4x16xi8>) {
  ^bb0(%x: i8, %out: i8):
    %y = arith.addi %x, %c1_i8 : i8
    linalg.yield %y : i8
  } -> tensor<4x16xi8>
  return %t, %p : tensor<16x4xi8>, tensor<4x16xi8>
}

// -----

// A decode of byte-quad slices (4 + 2 bits, two word inputs) keeps its mark
// through a transpose fused into it, with both inputs in their order.
#lo = affine_map<(d0, d1) -> (d0, d1 floordiv 8)>
#hi = affine_map<(d0, d1) -> (d0, d1 floordiv 16)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @field_slices_decode_mark
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], {{.*}} ins(%arg0, %arg1 : tensor<4x2xi32>, tensor<4x1xi32>) outs(%{{.*}} : tensor<16x4xi8>) attrs =  {qopt.byte_quad_fields = array<i64: 8, 16>}
// CHECK: return
func.func @field_slices_decode_mark(%lo: tensor<4x2xi32>, %hi: tensor<4x1xi32>) -> tensor<16x4xi8> {
  %c2_i32 = arith.constant 2 : i32
  %c4_i32 = arith.constant 4 : i32
  %c8_i32 = arith.constant 8 : i32
  %c15_i32 = arith.constant 15 : i32
  %c16_i32 = arith.constant 16 : i32
  %c30_i32 = arith.constant 30 : i32
  %e = tensor.empty() : tensor<4x16xi8>
  %d = linalg.generic {indexing_maps = [#lo, #hi, #id], iterator_types = ["parallel", "parallel"]}
      ins(%lo, %hi : tensor<4x2xi32>, tensor<4x1xi32>) outs(%e : tensor<4x16xi8>) attrs = {qopt.byte_quad_fields = array<i64: 8, 16>} {
  ^bb0(%w4: i32, %w2: i32, %out: i8):
    %k = linalg.index 1 : index
    %k32 = arith.index_cast %k : index to i32
    %f4 = arith.remui %k32, %c8_i32 : i32
    %byte4 = arith.remui %f4, %c4_i32 : i32
    %bytebit4 = arith.muli %byte4, %c8_i32 : i32
    %slot4 = arith.divui %f4, %c4_i32 : i32
    %slotbit4 = arith.muli %slot4, %c4_i32 : i32
    %low4 = arith.addi %bytebit4, %slotbit4 : i32
    %down4 = arith.shrui %w4, %low4 : i32
    %nibble = arith.andi %down4, %c15_i32 : i32
    %f2 = arith.remui %k32, %c16_i32 : i32
    %byte2 = arith.remui %f2, %c4_i32 : i32
    %bytebit2 = arith.muli %byte2, %c8_i32 : i32
    %slot2 = arith.divui %f2, %c4_i32 : i32
    %slotbit2 = arith.muli %slot2, %c2_i32 : i32
    %low2 = arith.addi %bytebit2, %slotbit2 : i32
    %left = arith.subi %c30_i32, %low2 : i32
    %up = arith.shli %w2, %left : i32
    %high = arith.shrsi %up, %c30_i32 : i32
    %high4 = arith.shli %high, %c4_i32 : i32
    %v = arith.ori %nibble, %high4 : i32
    %q8 = arith.trunci %v : i32 to i8
    linalg.yield %q8 : i8
  } -> tensor<4x16xi8>
  %et = tensor.empty() : tensor<16x4xi8>
  %t = linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<4x16xi8>) outs(%et : tensor<16x4xi8>) {
  ^bb0(%x: i8, %out: i8):
    linalg.yield %x : i8
  } -> tensor<16x4xi8>
  return %t : tensor<16x4xi8>
}
