// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-tile-and-vectorize{tile-m=8 tile-n=32 int8-pmaddwd=true int8-vpdpbusd=true}),canonicalize)" --split-input-file | FileCheck %s
// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-tile-and-vectorize{tile-m=8 tile-n=32 int8-pmaddwd=true int8-vpdpbusd=true panel-bytes=2048}),canonicalize)" --split-input-file | FileCheck %s --check-prefix=LARGE

// With VNNI, an 8-bit integer matmul whose weights the blocks read from
// memory (a constant here) becomes vpdpbusd quad dot products, which
// multiply unsigned by signed bytes: the weights are stored as B + 128
// (each byte's top bit flipped at compile time: -3, -2, -1, 0, 1, 2, 3 ->
// 0x7D, 0x7E, 0x7F, 0x80, 0x81, 0x82, 0x83), and the accumulator starts at C - 128 * sum_k A[m, k]
// (the row sums, shifted left by 7), so the sum is C + A B exactly. K steps
// by 4, reading B as byte quads: the constant is stored quad by quad,
// [64, 32] as [16, 128], row q holding (B[4q, j], .., B[4q + 3, j]) for
// each column j, so column 0's first quad (-3, 1, -2, 2) is 0x7D 0x81 0x7E
// 0x82 and column 1's (-2, 2, -1, 3) 0x7E 0x82 0x7F 0x83; a K step reads
// its row q = k / 4 with no shuffles. Each row's quad of activations is
// broadcast; 8 rows x 2 registers of 16 lanes.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#o = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @quad_dot
// CHECK-SAME: (%[[A:.*]]: tensor<8x64xi8>, %[[C:.*]]: tensor<8x32xi32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<"0x7D817E827E827F83{{.*}}"> : tensor<16x128xi8>
// CHECK-NOT: tensor<64x32xi8>
// CHECK: %[[SUMS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[A]] : tensor<8x64xi8>) outs(%{{.*}} : tensor<8xi32>)
// CHECK: arith.extsi %{{.*}} : i8 to i32
// CHECK: arith.addi
// CHECK: %[[INIT:.*]] = linalg.generic {{.*}} ins(%[[SUMS]] : tensor<8xi32>) outs(%[[C]] : tensor<8x32xi32>)
// CHECK: %[[OFF:.*]] = arith.shli %{{.*}}, %c7_i32 : i32
// CHECK: arith.subi %{{.*}}, %[[OFF]] : i32
// CHECK: scf.for %[[K:.*]] = %c0 to %c64 step %c4 iter_args(%{{.*}} = %[[INIT]])
// CHECK: vector.transfer_read {{.*}} : tensor<8x4xi8>, vector<8x4xi8>
// CHECK: vector.bitcast %{{.*}} : vector<8x4xi8> to vector<8x1xi32>
// CHECK: %[[Q:.*]] = arith.divui %[[K]], %c4 : index
// CHECK: vector.transfer_read %[[W]][%[[Q]], %c0], %{{.*}} : tensor<16x128xi8>, vector<128xi8>
// CHECK-NOT: vector.interleave
// CHECK-COUNT-16: qopt.x86.vpdpbusd %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi32>, vector<64xi8>, vector<64xi8> -> vector<16xi32>
// CHECK-NOT: qopt.x86.vpdpbusd
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK-NOT: arith.muli
// CHECK: return
func.func @quad_dot(%a: tensor<8x64xi8>, %c: tensor<8x32xi32>) -> tensor<8x32xi32> {
  %w = arith.constant dense<[[-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0], [1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3], [-2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1], [2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2], [-1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2], [3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1], [0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3], [-3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0, 1, 2, 3, -3, -2, -1, 0]]> : tensor<64x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x64xi8>, tensor<64x32xi8>) outs(%c : tensor<8x32xi32>) {
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

// Weights decoded from constant 4-bit fields, a dynamic M: the copy for
// M == 1 decodes its pairs in registers (pair dot products, its decode
// unchanged); the copy for any M reads a decoded panel, so it takes quad
// dot products, its decode flipping each byte's top bit. The panel (64 K
// rows) is interleaved into quads once, four rows at a time, after its
// decode; the full 8-row blocks and the leftover rows read the quads.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#fields = affine_map<(d0, d1, d2) -> (d1 floordiv 8, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @decoded_dynamic_rows
// CHECK: %[[TOP:.*]] = arith.constant dense<-128> : vector<32xi8>
// CHECK: scf.if
// CHECK-NOT: arith.xori
// CHECK: qopt.x86.pmaddwd
// CHECK-NOT: qopt.x86.vpdpbusd
// CHECK: } else {
// CHECK: arith.shli %{{.*}}, %c7_i32 : i32
// CHECK: %[[PANEL:.*]] = scf.for {{.*}} -> (tensor<1x64x32xi8>)
// CHECK: arith.xori %{{.*}}, %[[TOP]] : vector<32xi8>
// CHECK: %[[QUADS:.*]] = scf.for %[[R:.*]] = %c0 to %c16 step %c1 iter_args({{.*}}) -> (tensor<1x16x128xi8>)
// CHECK: %[[ROW:.*]] = arith.muli %[[R]], %c4 : index
// CHECK: vector.transfer_read %[[PANEL]][%c0, %[[ROW]], %c0], %{{.*}} : tensor<1x64x32xi8>, vector<4x32xi8>
// CHECK-COUNT-2: vector.interleave %{{.*}}, %{{.*}} : vector<32xi8> -> vector<64xi8>
// CHECK: vector.interleave %{{.*}}, %{{.*}} : vector<32xi16> -> vector<64xi16>
// CHECK: vector.transfer_write %{{.*}}, %{{.*}}[%c0, %[[R]], %c0] {{.*}} : vector<128xi8>, tensor<1x16x128xi8>
// CHECK: scf.for {{.*}} step %c8
// CHECK: scf.for %[[K:.*]] = %c0 to %c64 step %c4
// CHECK: %[[Q:.*]] = arith.divui %[[K]], %c4 : index
// CHECK: vector.transfer_read %[[QUADS]][%c0, %[[Q]], %c0], %{{.*}} : tensor<1x16x128xi8>, vector<128xi8>
// CHECK-NOT: vector.interleave
// CHECK-COUNT-16: qopt.x86.vpdpbusd
// CHECK: scf.for {{.*}} step %c8
// CHECK: scf.for %[[K1:.*]] = %c0 to %c64 step %c4
// CHECK: %[[Q1:.*]] = arith.divui %[[K1]], %c4 : index
// CHECK: vector.transfer_read %[[QUADS]][%c0, %[[Q1]], %c0], %{{.*}} : tensor<1x16x128xi8>, vector<128xi8>
// CHECK-NOT: vector.interleave
// CHECK-COUNT-2: qopt.x86.vpdpbusd
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK: return
func.func @decoded_dynamic_rows(%a: tensor<?x1x64xi8>, %c: tensor<?x32x1xi32>) -> tensor<?x32x1xi32> {
  %words = arith.constant dense<[[12345, 143416, 274487, 405558, 536629, 667700, 798771, 929842, 1060913, 1191984, 1323055, 1454126, 1585197, 1716268, 1847339, 1978410, 2109481, 2240552, 2371623, 2502694, 2633765, 2764836, 2895907, 3026978, 3158049, 3289120, 3420191, 3551262, 3682333, 3813404, 3944475, 4075546], [13322, 144393, 275464, 406535, 537606, 668677, 799748, 930819, 1061890, 1192961, 1324032, 1455103, 1586174, 1717245, 1848316, 1979387, 2110458, 2241529, 2372600, 2503671, 2634742, 2765813, 2896884, 3027955, 3159026, 3290097, 3421168, 3552239, 3683310, 3814381, 3945452, 4076523], [14299, 145370, 276441, 407512, 538583, 669654, 800725, 931796, 1062867, 1193938, 1325009, 1456080, 1587151, 1718222, 1849293, 1980364, 2111435, 2242506, 2373577, 2504648, 2635719, 2766790, 2897861, 3028932, 3160003, 3291074, 3422145, 3553216, 3684287, 3815358, 3946429, 4077500], [15276, 146347, 277418, 408489, 539560, 670631, 801702, 932773, 1063844, 1194915, 1325986, 1457057, 1588128, 1719199, 1850270, 1981341, 2112412, 2243483, 2374554, 2505625, 2636696, 2767767, 2898838, 3029909, 3160980, 3292051, 3423122, 3554193, 3685264, 3816335, 3947406, 4078477], [16253, 147324, 278395, 409466, 540537, 671608, 802679, 933750, 1064821, 1195892, 1326963, 1458034, 1589105, 1720176, 1851247, 1982318, 2113389, 2244460, 2375531, 2506602, 2637673, 2768744, 2899815, 3030886, 3161957, 3293028, 3424099, 3555170, 3686241, 3817312, 3948383, 4079454], [17230, 148301, 279372, 410443, 541514, 672585, 803656, 934727, 1065798, 1196869, 1327940, 1459011, 1590082, 1721153, 1852224, 1983295, 2114366, 2245437, 2376508, 2507579, 2638650, 2769721, 2900792, 3031863, 3162934, 3294005, 3425076, 3556147, 3687218, 3818289, 3949360, 4080431], [18207, 149278, 280349, 411420, 542491, 673562, 804633, 935704, 1066775, 1197846, 1328917, 1459988, 1591059, 1722130, 1853201, 1984272, 2115343, 2246414, 2377485, 2508556, 2639627, 2770698, 2901769, 3032840, 3163911, 3294982, 3426053, 3557124, 3688195, 3819266, 3950337, 4081408], [19184, 150255, 281326, 412397, 543468, 674539, 805610, 936681, 1067752, 1198823, 1329894, 1460965, 1592036, 1723107, 1854178, 1985249, 2116320, 2247391, 2378462, 2509533, 2640604, 2771675, 2902746, 3033817, 3164888, 3295959, 3427030, 3558101, 3689172, 3820243, 3951314, 4082385]]> : tensor<8x32xi32>
  %c8 = arith.constant 8 : index
  %c4 = arith.constant 4 : index
  %c28 = arith.constant 28 : index
  %c28_i32 = arith.constant 28 : i32
  %empty = tensor.empty() : tensor<1x64x32xi8>
  %w = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%words : tensor<8x32xi32>) outs(%empty : tensor<1x64x32xi8>) {
  ^bb0(%word: i32, %out: i8):
    %k = linalg.index 1 : index
    %field = arith.remui %k, %c8 : index
    %bits = arith.muli %field, %c4 : index
    %left = arith.subi %c28, %bits : index
    %lefti = arith.index_cast %left : index to i32
    %up = arith.shli %word, %lefti : i32
    %q = arith.shrsi %up, %c28_i32 : i32
    %q8 = arith.trunci %q : i32 to i8
    linalg.yield %q8 : i8
  } -> tensor<1x64x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<?x1x64xi8>, tensor<1x64x32xi8>) outs(%c : tensor<?x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<?x32x1xi32>
  return %r : tensor<?x32x1xi32>
}

// -----

// Left to pair dot products: K not a multiple of 4 (66), weights that are
// an argument (not flipped at compile time).
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#o = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @not_quad_dot
// CHECK-NOT: qopt.x86.vpdpbusd
// CHECK-NOT: arith.xori
// CHECK-COUNT-32: qopt.x86.pmaddwd
// CHECK-NOT: qopt.x86.vpdpbusd
// CHECK: return
func.func @not_quad_dot(%a: tensor<8x66xi8>, %c: tensor<8x32xi32>, %a2: tensor<8x64xi8>, %w2: tensor<64x32xi8>) -> (tensor<8x32xi32>, tensor<8x32xi32>) {
  %w = arith.constant dense<[[-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1], [0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1], [2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2], [-1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0], [1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2], [-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1]]> : tensor<66x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x66xi8>, tensor<66x32xi8>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  %r2 = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a2, %w2 : tensor<8x64xi8>, tensor<64x32xi8>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  return %r, %r2 : tensor<8x32xi32>, tensor<8x32xi32>
}

// -----

// Weights with no bytes to store in quads (a splat: every weight 1, so
// every flipped byte 0x81, a splat the slices fold to): each K step
// interleaves B's four rows itself.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#o = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @splat_weights
// CHECK: %[[W:.*]] = arith.constant dense<-127> : tensor<4x32xi8>
// CHECK: scf.for
// CHECK: vector.transfer_read %[[W]]{{.*}} : tensor<4x32xi8>, vector<4x32xi8>
// CHECK-COUNT-2: vector.interleave %{{.*}}, %{{.*}} : vector<32xi8> -> vector<64xi8>
// CHECK: vector.interleave %{{.*}}, %{{.*}} : vector<32xi16> -> vector<64xi16>
// CHECK-COUNT-16: qopt.x86.vpdpbusd
// CHECK: return
func.func @splat_weights(%a: tensor<8x64xi8>, %c: tensor<8x32xi32>) -> tensor<8x32xi32> {
  %w = arith.constant dense<1> : tensor<64x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x64xi8>, tensor<64x32xi8>) outs(%c : tensor<8x32xi32>) {
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

// 6-bit fields, five a word, K = 80: with panel-bytes = 2048 a K chunk of
// 64 rows would split a word, so the decoded panel is the whole K (80 x 32
// bytes), larger than panel-bytes: it is not copied as quads (a second
// large buffer per N block), each K step interleaves its rows. With the
// default 32 KiB the same panel is copied.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#fields = affine_map<(d0, d1, d2) -> (d1 floordiv 5, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @whole_k_panel
// CHECK: } else {
// CHECK: scf.for {{.*}} -> (tensor<1x20x128xi8>)
// CHECK: vector.transfer_read {{.*}} : tensor<1x20x128xi8>, vector<128xi8>
// LARGE-LABEL: func.func @whole_k_panel
// LARGE: } else {
// LARGE-NOT: tensor<1x20x128xi8>
// LARGE: vector.transfer_read {{.*}} : tensor<4x32xi8>, vector<4x32xi8>
// LARGE-COUNT-2: vector.interleave %{{.*}}, %{{.*}} : vector<32xi8> -> vector<64xi8>
// LARGE: qopt.x86.vpdpbusd
// LARGE-NOT: tensor<1x20x128xi8>
// LARGE: return
func.func @whole_k_panel(%a: tensor<?x1x80xi8>, %c: tensor<?x32x1xi32>) -> tensor<?x32x1xi32> {
  %words = arith.constant dense<123456789> : tensor<16x32xi32>
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %c26 = arith.constant 26 : index
  %c26_i32 = arith.constant 26 : i32
  %empty = tensor.empty() : tensor<1x80x32xi8>
  %w = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%words : tensor<16x32xi32>) outs(%empty : tensor<1x80x32xi8>) {
  ^bb0(%word: i32, %out: i8):
    %k = linalg.index 1 : index
    %field = arith.remui %k, %c5 : index
    %bits = arith.muli %field, %c6 : index
    %left = arith.subi %c26, %bits : index
    %lefti = arith.index_cast %left : index to i32
    %up = arith.shli %word, %lefti : i32
    %q = arith.shrsi %up, %c26_i32 : i32
    %q8 = arith.trunci %q : i32 to i8
    linalg.yield %q8 : i8
  } -> tensor<1x80x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<?x1x80xi8>, tensor<1x80x32xi8>) outs(%c : tensor<?x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<?x32x1xi32>
  return %r : tensor<?x32x1xi32>
}

// -----

// 4-bit weights as byte-quad fields (marked by convert-qopt-to-linalg: field
// f of a word at bit 8 (f % 4) + 4 (f / 4)), a dynamic M. The copy for
// M == 1 decodes in its K loop: quad dot products whose quads come
// straight from the words, K rows 4i .. 4i + 3 of each column's word being
// the nibbles at bit 4i of its four bytes: (word >> 4i) & 0x0F0F0F0F with
// each field's top bit flipped (^ 0x08080808), the unsigned q + 8; the
// accumulator starts at C - 8 * sum_k A (shift 3). A block takes the
// eight K rows of a word at once (two steps of 4, shifts 0 and 4, both
// constants), the word row K / 8 read once. The copy for any M stores its
// panel's quads the same way, straight from the words, quad row q from word
// row q / 2 at i = q mod 2 (no row decode, no interleaving); its blocks
// read them.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#fields = affine_map<(d0, d1, d2) -> (d1 floordiv 8, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @byte_quad_fields
// CHECK-DAG: %[[FOUR:.*]] = arith.constant dense<4> : vector<32xi32>
// CHECK-DAG: %[[NIBBLES:.*]] = arith.constant dense<252645135> : vector<32xi32>
// CHECK-DAG: %[[TOPS:.*]] = arith.constant dense<134744072> : vector<32xi32>
// CHECK: scf.if
// CHECK: arith.shli %{{.*}}, %c3_i32 : i32
// CHECK: scf.for %[[K:.*]] = %c0 to %c64 step %c8
// CHECK: %[[ROW:.*]] = affine.apply #{{.*}}(%[[K]])
// CHECK: %[[TILE:.*]] = tensor.extract_slice %{{.*}}[%[[ROW]], 0] [1, 32] [1, 1] : tensor<8x32xi32> to tensor<1x32xi32>
// CHECK: %[[AQ:.*]] = vector.bitcast %{{.*}} : vector<1x8xi8> to vector<1x2xi32>
// CHECK: %[[W0:.*]] = vector.transfer_read %[[TILE]]
// CHECK: %[[F0:.*]] = vector.shape_cast %[[W0]] : vector<1x32xi32> to vector<32xi32>
// CHECK: %[[M0:.*]] = arith.andi %[[F0]], %[[NIBBLES]] : vector<32xi32>
// CHECK: %[[U0:.*]] = arith.xori %[[M0]], %[[TOPS]] : vector<32xi32>
// CHECK: %[[Q0:.*]] = vector.bitcast %[[U0]] : vector<32xi32> to vector<128xi8>
// CHECK: %[[W1:.*]] = vector.transfer_read %[[TILE]]
// CHECK: %[[F1:.*]] = vector.shape_cast %[[W1]] : vector<1x32xi32> to vector<32xi32>
// CHECK: %[[D1:.*]] = arith.shrui %[[F1]], %[[FOUR]] : vector<32xi32>
// CHECK: %[[M1:.*]] = arith.andi %[[D1]], %[[NIBBLES]] : vector<32xi32>
// CHECK: %[[U1:.*]] = arith.xori %[[M1]], %[[TOPS]] : vector<32xi32>
// CHECK: %[[Q1:.*]] = vector.bitcast %[[U1]] : vector<32xi32> to vector<128xi8>
// CHECK: %[[Q0A:.*]] = vector.extract_strided_slice %[[Q0]] {offsets = [0]
// CHECK: %[[Q0B:.*]] = vector.extract_strided_slice %[[Q0]] {offsets = [64]
// CHECK: %[[Q1A:.*]] = vector.extract_strided_slice %[[Q1]] {offsets = [0]
// CHECK: %[[Q1B:.*]] = vector.extract_strided_slice %[[Q1]] {offsets = [64]
// CHECK: vector.extract %[[AQ]][0, 0]
// CHECK: qopt.x86.vpdpbusd %{{.*}}, %[[Q0A]]
// CHECK: qopt.x86.vpdpbusd %{{.*}}, %[[Q0B]]
// CHECK: vector.extract %[[AQ]][0, 1]
// CHECK: qopt.x86.vpdpbusd %{{.*}}, %[[Q1A]]
// CHECK: qopt.x86.vpdpbusd %{{.*}}, %[[Q1B]]
// CHECK-NOT: vector.interleave
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK: } else {
// CHECK: arith.shli %{{.*}}, %c3_i32 : i32
// CHECK: %[[QUADS:.*]] = scf.for %[[Q:.*]] = %c0 to %c16 step %c1 iter_args({{.*}}) -> (tensor<1x16x128xi8>)
// CHECK: %[[SLOT:.*]] = arith.remui %[[Q]], %c2 : index
// CHECK: %[[ROW:.*]] = arith.divui %[[Q]], %c2 : index
// CHECK: vector.transfer_read %{{.*}}[%[[ROW]], %c0], %{{.*}} : tensor<8x32xi32>, vector<1x32xi32>
// CHECK: arith.shrui
// CHECK: arith.andi %{{.*}}, %[[NIBBLES]] : vector<32xi32>
// CHECK: arith.xori %{{.*}}, %[[TOPS]] : vector<32xi32>
// CHECK: vector.transfer_write %{{.*}}, %{{.*}}[%c0, %[[Q]], %c0] {{.*}} : vector<128xi8>, tensor<1x16x128xi8>
// CHECK: scf.for {{.*}} step %c8
// CHECK: vector.transfer_read %[[QUADS]]{{.*}} : tensor<1x16x128xi8>, vector<128xi8>
// CHECK-NOT: vector.interleave
// CHECK: qopt.x86.vpdpbusd
// CHECK-NOT: arith.shli
// CHECK-NOT: vector.interleave
// CHECK: return
func.func @byte_quad_fields(%a: tensor<?x1x64xi8>, %c: tensor<?x32x1xi32>) -> tensor<?x32x1xi32> {
  %words = arith.constant dense<[[12345, 143416, 274487, 405558, 536629, 667700, 798771, 929842, 1060913, 1191984, 1323055, 1454126, 1585197, 1716268, 1847339, 1978410, 2109481, 2240552, 2371623, 2502694, 2633765, 2764836, 2895907, 3026978, 3158049, 3289120, 3420191, 3551262, 3682333, 3813404, 3944475, 4075546], [-12345, -143416, -274487, -405558, -536629, -667700, -798771, -929842, -1060913, -1191984, -1323055, -1454126, -1585197, -1716268, -1847339, -1978410, -2109481, -2240552, -2371623, -2502694, -2633765, -2764836, -2895907, -3026978, -3158049, -3289120, -3420191, -3551262, -3682333, -3813404, -3944475, -4075546], [12345, 143416, 274487, 405558, 536629, 667700, 798771, 929842, 1060913, 1191984, 1323055, 1454126, 1585197, 1716268, 1847339, 1978410, 2109481, 2240552, 2371623, 2502694, 2633765, 2764836, 2895907, 3026978, 3158049, 3289120, 3420191, 3551262, 3682333, 3813404, 3944475, 4075546], [-12345, -143416, -274487, -405558, -536629, -667700, -798771, -929842, -1060913, -1191984, -1323055, -1454126, -1585197, -1716268, -1847339, -1978410, -2109481, -2240552, -2371623, -2502694, -2633765, -2764836, -2895907, -3026978, -3158049, -3289120, -3420191, -3551262, -3682333, -3813404, -3944475, -4075546], [12345, 143416, 274487, 405558, 536629, 667700, 798771, 929842, 1060913, 1191984, 1323055, 1454126, 1585197, 1716268, 1847339, 1978410, 2109481, 2240552, 2371623, 2502694, 2633765, 2764836, 2895907, 3026978, 3158049, 3289120, 3420191, 3551262, 3682333, 3813404, 3944475, 4075546], [-12345, -143416, -274487, -405558, -536629, -667700, -798771, -929842, -1060913, -1191984, -1323055, -1454126, -1585197, -1716268, -1847339, -1978410, -2109481, -2240552, -2371623, -2502694, -2633765, -2764836, -2895907, -3026978, -3158049, -3289120, -3420191, -3551262, -3682333, -3813404, -3944475, -4075546], [12345, 143416, 274487, 405558, 536629, 667700, 798771, 929842, 1060913, 1191984, 1323055, 1454126, 1585197, 1716268, 1847339, 1978410, 2109481, 2240552, 2371623, 2502694, 2633765, 2764836, 2895907, 3026978, 3158049, 3289120, 3420191, 3551262, 3682333, 3813404, 3944475, 4075546], [-12345, -143416, -274487, -405558, -536629, -667700, -798771, -929842, -1060913, -1191984, -1323055, -1454126, -1585197, -1716268, -1847339, -1978410, -2109481, -2240552, -2371623, -2502694, -2633765, -2764836, -2895907, -3026978, -3158049, -3289120, -3420191, -3551262, -3682333, -3813404, -3944475, -4075546]]> : tensor<8x32xi32>
  %c4_i32 = arith.constant 4 : i32
  %c8_i32 = arith.constant 8 : i32
  %c28_i32 = arith.constant 28 : i32
  %empty = tensor.empty() : tensor<1x64x32xi8>
  %w = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%words : tensor<8x32xi32>) outs(%empty : tensor<1x64x32xi8>) attrs = {qopt.byte_quad_fields = array<i64: 8>} {
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
  } -> tensor<1x64x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<?x1x64xi8>, tensor<1x64x32xi8>) outs(%c : tensor<?x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<?x32x1xi32>
  return %r : tensor<?x32x1xi32>
}

// -----

// Six-bit weights as byte-quad slices of 4 and 2 bits (two word inputs).
// At M == 1 a block takes the sixteen K rows of a 2-bit word at once: four
// steps, step j's quads the or of the nibbles (word4 >> 4 (j % 2)) &
// 0x0F0F0F0F of 4-bit word row j / 2 and the pairs (word2 >> 2j) &
// 0x03030303 shifted up by 4, each value's top bit flipped (^ 0x20202020),
// the unsigned q + 32; the accumulator starts at C - 32 * sum_k A (shift
// 5). The copy for any M stores its panel's quads straight from both
// slices' words: quad row q from 4-bit word row q / 2 at shift 4 (q % 2)
// and 2-bit word row q / 4 at shift 2 (q % 4).
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#lo = affine_map<(d0, d1, d2) -> (d1 floordiv 8, d2)>
#hi = affine_map<(d0, d1, d2) -> (d1 floordiv 16, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @byte_quad_slices
// CHECK-DAG: %[[SIX:.*]] = arith.constant dense<6> : vector<32xi32>
// CHECK-DAG: %[[TWO:.*]] = arith.constant dense<2> : vector<32xi32>
// CHECK-DAG: %[[TOPS:.*]] = arith.constant dense<538976288> : vector<32xi32>
// CHECK-DAG: %[[FOUR:.*]] = arith.constant dense<4> : vector<32xi32>
// CHECK-DAG: %[[PAIRS:.*]] = arith.constant dense<50529027> : vector<32xi32>
// CHECK-DAG: %[[NIBBLES:.*]] = arith.constant dense<252645135> : vector<32xi32>
// CHECK: scf.if
// CHECK: arith.shli %{{.*}}, %c5_i32 : i32
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c16
// CHECK: vector.transfer_read %[[LO:.*]][%c0, %c0], %{{.*}} : tensor<2x32xi32>, vector<1x32xi32>
// CHECK: vector.transfer_read %[[HI:.*]][%c0, %c0], %{{.*}} : tensor<1x32xi32>, vector<1x32xi32>
// CHECK: %[[N0:.*]] = arith.andi %{{.*}}, %[[NIBBLES]] : vector<32xi32>
// CHECK: %[[P0:.*]] = arith.andi %{{.*}}, %[[PAIRS]] : vector<32xi32>
// CHECK: %[[H0:.*]] = arith.shli %[[P0]], %[[FOUR]] : vector<32xi32>
// CHECK: %[[V0:.*]] = arith.ori %[[N0]], %[[H0]] : vector<32xi32>
// CHECK: arith.xori %[[V0]], %[[TOPS]] : vector<32xi32>
// CHECK: vector.transfer_read %[[LO]][%c0, %c0]
// CHECK: vector.transfer_read %[[HI]][%c0, %c0]
// CHECK: arith.shrui %{{.*}}, %[[FOUR]] : vector<32xi32>
// CHECK: arith.andi %{{.*}}, %[[NIBBLES]] : vector<32xi32>
// CHECK: arith.shrui %{{.*}}, %[[TWO]] : vector<32xi32>
// CHECK: arith.andi %{{.*}}, %[[PAIRS]] : vector<32xi32>
// CHECK: vector.transfer_read %[[LO]][%c1, %c0]
// CHECK: vector.transfer_read %[[HI]][%c0, %c0]
// CHECK: arith.andi %{{.*}}, %[[NIBBLES]] : vector<32xi32>
// CHECK: arith.shrui %{{.*}}, %[[FOUR]] : vector<32xi32>
// CHECK: arith.andi %{{.*}}, %[[PAIRS]] : vector<32xi32>
// CHECK: vector.transfer_read %[[LO]][%c1, %c0]
// CHECK: vector.transfer_read %[[HI]][%c0, %c0]
// CHECK: arith.shrui %{{.*}}, %[[FOUR]] : vector<32xi32>
// CHECK: arith.andi %{{.*}}, %[[NIBBLES]] : vector<32xi32>
// CHECK: arith.shrui %{{.*}}, %[[SIX]] : vector<32xi32>
// CHECK: arith.andi %{{.*}}, %[[PAIRS]] : vector<32xi32>
// CHECK-COUNT-8: qopt.x86.vpdpbusd
// CHECK-NOT: vector.interleave
// CHECK: } else {
// CHECK: arith.shli %{{.*}}, %c5_i32 : i32
// CHECK: scf.for %[[Q:.*]] = %c0 to %c16 step %c1 iter_args({{.*}}) -> (tensor<1x16x128xi8>)
// CHECK: %[[ROW4:.*]] = arith.divui %[[Q]], %c2 : index
// CHECK: vector.transfer_read %{{.*}}[%[[ROW4]], %c0], %{{.*}} : tensor<8x32xi32>, vector<1x32xi32>
// CHECK: %[[ROW2:.*]] = arith.divui %[[Q]], %c4 : index
// CHECK: vector.transfer_read %{{.*}}[%[[ROW2]], %c0], %{{.*}} : tensor<4x32xi32>, vector<1x32xi32>
// CHECK: arith.andi %{{.*}}, %[[NIBBLES]] : vector<32xi32>
// CHECK: arith.andi %{{.*}}, %[[PAIRS]] : vector<32xi32>
// CHECK: arith.shli %{{.*}}, %[[FOUR]] : vector<32xi32>
// CHECK: arith.ori
// CHECK: arith.xori %{{.*}}, %[[TOPS]] : vector<32xi32>
// CHECK: scf.for {{.*}} step %c8
// CHECK-NOT: vector.interleave
// CHECK: qopt.x86.vpdpbusd
// CHECK: return
func.func @byte_quad_slices(%a: tensor<?x1x64xi8>, %c: tensor<?x32x1xi32>) -> tensor<?x32x1xi32> {
  %lo = arith.constant dense<[[733537704, 1309977582, -2050188811, 1322595621, -133780032, 65822783, 559350902, -919976068, 2059538669, -1915853046, -953810289, -500926843, 305734596, -393104590, -1584581170, -1953028171, -2143122764, -1938070875, -1508329328, 2143945089, -1327221163, 654420351, 1074853741, -1140270002, -935283267, -279398136, -1016886593, 2036614192, -1384175549, 1708012321, 1278563801, 1478461048], [-1650426098, -462118448, 549885779, -29965907, 712391038, 758874987, 699763508, -1886337985, 1971816842, 238783503, 1733070076, -981607885, -594774633, 1630589373, -1344743097, -1871684740, -541566931, 769578824, -1622437340, 1589518014, -682669122, -1171158017, 190908805, 1698437255, 1648978740, 1598567362, -831210166, -2067952804, 1194614200, 891186675, 1163838157, -2142331047], [-1984876691, 14448122, -708006641, -272012940, 1852435348, -1274519365, 120173842, -751865617, -880612382, 1315184832, -1489413143, -788332282, -1637298614, -1507367806, -940538960, 852602506, 341642940, -221001405, -1419280215, 1283935337, 1287574486, -1135948167, -1891053048, -774019016, -1520396814, 1287972757, 83968013, 30357425, -899533277, 27423372, 2007721940, -1133037592], [1151330750, -2085050800, -799702773, 1860682483, 1594563180, -1778864683, 1473344387, 1481449331, -200663524, -567447906, 2063223206, 1937128953, 761150359, -431965213, -1244626023, 1874504382, -993044228, 241204399, 750097423, -1116110267, -793882900, 1036898177, -1299610483, 748998122, 1909474467, 791155362, 627882060, -155373191, 2009591580, -1194479544, -619146997, 605333298], [664705670, -1687537765, -1450519272, 825588383, 1463293655, 581481877, 1861875103, -530374665, -731337083, 1282148007, -1971007214, -1314150574, -1318994605, -470475383, -1473626608, 1279616297, 1488435421, -513354375, -2021494958, 915935552, -1684712909, 483260289, -1412697628, 1894084766, 762533211, 2111735419, 502247309, 960682198, -532675389, 1326474059, -1662375540, -1490933373], [-600158871, 914356715, -62312588, 1493035344, 1896185022, -424232183, -326601755, 228707179, 624786302, -88099436, 438582314, 1969341288, 1005047763, -784785701, -320680583, -420543755, -1501583062, -2143533184, 1254014291, -342804814, -636638918, 564513777, 275046131, 1868143674, 495821153, 1819677075, 338038209, -741526906, -761472577, 2099642117, 369424133, -1341425918], [1420594446, 1388356845, -2097206729, -1472059294, 826082229, -407598183, -682607841, -1831918177, -1330242783, 1537765500, 1426147104, 1412176961, 308151397, -1547093183, -762526817, 116421430, 2130394753, -1038774362, 207911105, -35323100, 12049988, 228518055, 878493612, -1691091614, 2065658545, 1564981126, 1150848637, -950492073, -254154866, -227103605, -820365125, -1901559848], [1048621598, -2135693077, 1125546816, -1309279886, 614402852, -679999907, -1132695588, 1838733142, -109267963, 1673870253, -1331651496, -83747496, -656785655, -194305100, -2096324010, 717229662, -666821427, 1540840573, -1232508515, -698801892, -1950979048, 1261236593, 146129289, -433846445, 1791146861, 403958348, 1992090950, 1019912924, 367408493, 5829148, -1280103392, 819375698]]> : tensor<8x32xi32>
  %hi = arith.constant dense<[[1249507626, 847454953, -375391155, -2122947832, 1007270618, -1979698461, 1305105025, -1507368978, -830988718, -1229927733, 173963800, -1274683557, -1037092267, -1937178076, 2066333413, -1214567780, -1324969957, 433565650, -1540658571, 1658180192, 1212400167, -646376225, -427914446, -573787020, 1009930037, -357591534, -921447772, 774562060, -1556865836, 1225242295, -315320073, 1893900542], [-1025617234, -533864257, 1597369300, 888088445, -1973975826, -680176748, -2077958997, 1391577129, -358359722, -1156854150, 968905327, 1593491758, -1701231587, 21926895, -574347818, 967845246, 1846200699, 150293853, 1070001455, -789752792, 342928531, -24473157, 991586745, -1930800772, -1131839208, -1962831988, 2057705800, 128691506, -49248505, -98034880, -2004247192, 1430813921], [1478985318, -2061057663, 520586462, 244314106, -511652333, -40213331, 1639337804, 420894500, -46152856, 986032682, 830166542, 106260105, 1411576172, 270747094, 508378387, -35287969, 390538664, 494810292, 1716205243, -1081785375, -582242097, 225972957, -696070678, 740395747, 1395318426, -1326660505, -1902231948, 2106110574, 41385444, 1058535403, 1118080803, 1955632899], [-2012496575, -884993597, 2077646412, -242696248, -444146335, -1024613607, -2062322929, -1946944687, 2030591238, -2075857174, -1547388238, -1087709740, -923084574, 1551610761, -754816617, -1444422582, -453024348, 814422866, -225918736, -1076396585, -1636781542, -1865807080, -39467609, -1320760158, 362690405, 764187824, -512290062, 7113345, -1896114605, 210586718, -1375546736, -201157893]]> : tensor<4x32xi32>
  %c2_i32 = arith.constant 2 : i32
  %c4_i32 = arith.constant 4 : i32
  %c8_i32 = arith.constant 8 : i32
  %c15_i32 = arith.constant 15 : i32
  %c16_i32 = arith.constant 16 : i32
  %c30_i32 = arith.constant 30 : i32
  %empty = tensor.empty() : tensor<1x64x32xi8>
  %w = linalg.generic {indexing_maps = [#lo, #hi, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%lo, %hi : tensor<8x32xi32>, tensor<4x32xi32>) outs(%empty : tensor<1x64x32xi8>) attrs = {qopt.byte_quad_fields = array<i64: 8, 16>} {
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
  } -> tensor<1x64x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<?x1x64xi8>, tensor<1x64x32xi8>) outs(%c : tensor<?x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<?x32x1xi32>
  return %r : tensor<?x32x1xi32>
}

// -----

// K = 20 is no multiple of the eight rows of a 4-bit word: the M == 1
// block steps K by 4 and takes i = (k mod 8) / 4 of its K offset k, the
// shift 4i computed in the loop.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#fields = affine_map<(d0, d1, d2) -> (d1 floordiv 8, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @byte_quad_fields_odd_k
// CHECK: scf.if
// CHECK: scf.for %[[K:.*]] = %c0 to %c20 step %c4
// CHECK: %[[F:.*]] = arith.remui %[[K]], %c8 : index
// CHECK: %[[I:.*]] = arith.divui %[[F]], %c4 : index
// CHECK: %[[BITS:.*]] = arith.muli %[[I]], %c4 : index
// CHECK: %[[SHIFT:.*]] = arith.index_cast %[[BITS]] : index to i32
// CHECK: %[[SPLAT:.*]] = vector.broadcast %[[SHIFT]] : i32 to vector<32xi32>
// CHECK: arith.shrui %{{.*}}, %[[SPLAT]] : vector<32xi32>
// CHECK-COUNT-2: qopt.x86.vpdpbusd
// CHECK: } else {
func.func @byte_quad_fields_odd_k(%a: tensor<?x1x20xi8>, %c: tensor<?x32x1xi32>) -> tensor<?x32x1xi32> {
  %words = arith.constant dense<[[-1677058370, -969168275, -356208337, -50045685, -2026093470, 1814392301, -344301051, -1282069522, -1297729841, 999585371, -267953774, -1068889889, -210639389, -1316768048, -1453799519, -756578325, 1991602872, -1749000154, 198955843, 1869918348, -165838376, -579245068, 247085424, -1392266593, 840010346, -2147477807, 282771684, -1887949476, -2055942802, -1225562655, 947750072, -353674870], [-337950671, 436240821, -1850164448, 2066010770, -62570115, 1677086845, 1094766768, -1107010289, -842309963, 479083146, 1466834649, 1810508375, -58174459, -1711104887, 2129771623, 1520585648, 920082209, -446372970, -1561230076, 1209838325, -1260368008, -761939346, 1576867887, 539975506, -865760395, 30132757, 483973373, -1698997985, -972625436, 1115841504, 547975887, 1387034971], [1009292927, -73079507, -865479260, -480991977, -1281808705, 1921962088, -2014806064, -539836004, -1853883670, 1630450393, 661579492, -349721782, 1254196706, -543243820, -150816931, -595163775, 1111738065, -1889796407, 205382987, -956409291, 2044547935, -1161874011, -432531687, -1879716659, -4621426, 178535953, 1086168676, -248244318, -1077414698, -2039644152, 1777436485, -1477816183]]> : tensor<3x32xi32>
  %c4_i32 = arith.constant 4 : i32
  %c8_i32 = arith.constant 8 : i32
  %c28_i32 = arith.constant 28 : i32
  %empty = tensor.empty() : tensor<1x20x32xi8>
  %w = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%words : tensor<3x32xi32>) outs(%empty : tensor<1x20x32xi8>) attrs = {qopt.byte_quad_fields = array<i64: 8>} {
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
  } -> tensor<1x20x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<?x1x20xi8>, tensor<1x20x32xi8>) outs(%c : tensor<?x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<?x32x1xi32>
  return %r : tensor<?x32x1xi32>
}
