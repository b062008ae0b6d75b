// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-tile-and-vectorize{tile-m=8 tile-n=32 int8-pmaddwd=true}),canonicalize)" --split-input-file | FileCheck %s

// An 8-bit integer matmul block with B [K, N]: K steps by 2, B's two rows
// are interleaved as i16 pairs (two registers of 16 columns), each row's
// activation pair is broadcast, and 8 rows x 2 registers of pair dot
// products are added into the i32 block. No 32-bit multiply remains.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#o = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @int8_matmul
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c2
// CHECK: vector.transfer_read {{.*}} : tensor<8x2xi8>, vector<8x2xi8>
// CHECK: vector.bitcast %{{.*}} : vector<8x2xi16> to vector<8x1xi32>
// CHECK: vector.transfer_read {{.*}} : tensor<2x32xi8>, vector<2x32xi8>
// CHECK: vector.interleave %{{.*}}, %{{.*}} : vector<32xi16> -> vector<64xi16>
// CHECK-COUNT-16: qopt.x86.pmaddwd %{{.*}}, %{{.*}} : vector<32xi16>, vector<32xi16> -> vector<16xi32>
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK-NOT: arith.muli
// CHECK: return
func.func @int8_matmul(%a: tensor<8x64xi8>, %w: tensor<64x32xi8>, %c: tensor<8x32xi32>) -> tensor<8x32xi32> {
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

// The grouped form convert-qopt-to-linalg emits ([M, 1, K] x [1, K, N] ->
// [M, N, 1]), at M = 1: the unit group dim is dropped, the unit M dim kept,
// so a matrix-vector product uses pair dot products too.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @grouped_matvec
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c2
// CHECK: vector.transfer_read {{.*}} : tensor<1x2xi8>, vector<1x2xi8>
// CHECK-COUNT-2: qopt.x86.pmaddwd
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK-NOT: arith.muli
// CHECK: return
func.func @grouped_matvec(%a: tensor<1x1x64xi8>, %w: tensor<1x64x32xi8>, %c: tensor<1x32x1xi32>) -> tensor<1x32x1xi32> {
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<1x1x64xi8>, tensor<1x64x32xi8>) outs(%c : tensor<1x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x32x1xi32>
  return %r : tensor<1x32x1xi32>
}

// -----

// Left to 32-bit multiplies (K steps of 1): an odd K, B read K-innermost
// ([N, K]), i16 operands, and unsigned extension.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#bt = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @not_pair_dot
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK-COUNT-4: arith.muli %{{.*}} : vector<8x32xi32>
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK: return
func.func @not_pair_dot(%a: tensor<8x63xi8>, %w: tensor<63x32xi8>, %c: tensor<8x32xi32>,
                        %a2: tensor<8x64xi8>, %wt: tensor<32x64xi8>,
                        %a3: tensor<8x64xi16>, %w3: tensor<64x32xi16>,
                        %w4: tensor<64x32xi8>) -> (tensor<8x32xi32>, tensor<8x32xi32>, tensor<8x32xi32>, tensor<8x32xi32>) {
  %odd = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x63xi8>, tensor<63x32xi8>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  %nk = linalg.generic {indexing_maps = [#a, #bt, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a2, %wt : tensor<8x64xi8>, tensor<32x64xi8>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  %wide = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a3, %w3 : tensor<8x64xi16>, tensor<64x32xi16>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i16, %y: i16, %acc: i32):
    %xe = arith.extsi %x : i16 to i32
    %ye = arith.extsi %y : i16 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  %unsigned = linalg.generic {indexing_maps = [#a, #b, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a2, %w4 : tensor<8x64xi8>, tensor<64x32xi8>) outs(%c : tensor<8x32xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extui %x : i8 to i32
    %ye = arith.extui %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32xi32>
  return %odd, %nk, %wide, %unsigned : tensor<8x32xi32>, tensor<8x32xi32>, tensor<8x32xi32>, tensor<8x32xi32>
}

// -----

// The grouped form with 2-bit weights decoded from constant bit planes, at
// M = 1: each K step of 2 decodes its two rows of 32 weights in vector
// registers, a row at a time (each row's shift a scalar), and builds the
// pairs of i16 lanes as (row0 & 0xffff) | (row1 << 16) on i32 lanes; no
// byte shuffles, no 64 x 32 tensor of weights.
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#plane0 = affine_map<(d0, d1, d2) -> (0, d1 floordiv 32, d2)>
#plane1 = affine_map<(d0, d1, d2) -> (1, d1 floordiv 32, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @decoded_grouped_matvec
// CHECK-NOT: tensor<1x64x32xi8>
// CHECK: scf.for %[[K:.*]] = %c0 to %c64 step %c2
// CHECK: %[[S0:.*]] = arith.andi %{{.*}}, %c31_i32 : i32
// CHECK: %[[B0:.*]] = vector.broadcast %[[S0]] : i32 to vector<32xi32>
// CHECK: arith.shrui %{{.*}}, %[[B0]] : vector<32xi32>
// CHECK: %[[ROW0:.*]] = arith.trunci {{.*}} : vector<32xi32> to vector<32xi8>
// CHECK: %[[K1:.*]] = arith.addi %[[K]], %c1 : index
// CHECK: %[[I1:.*]] = arith.index_cast %[[K1]] : index to i32
// CHECK: %[[S1:.*]] = arith.andi %[[I1]], %c31_i32 : i32
// CHECK: %[[B1:.*]] = vector.broadcast %[[S1]] : i32 to vector<32xi32>
// CHECK: arith.shrui %{{.*}}, %[[B1]] : vector<32xi32>
// CHECK: %[[ROW1:.*]] = arith.trunci {{.*}} : vector<32xi32> to vector<32xi8>
// CHECK: %[[W0:.*]] = arith.extsi %[[ROW0]] : vector<32xi8> to vector<32xi32>
// CHECK: %[[LO:.*]] = arith.andi %[[W0]], %{{.*}} : vector<32xi32>
// CHECK: %[[W1:.*]] = arith.extsi %[[ROW1]] : vector<32xi8> to vector<32xi32>
// CHECK: %[[HI:.*]] = arith.shli %[[W1]], %{{.*}} : vector<32xi32>
// CHECK: %[[PAIRS:.*]] = arith.ori %[[LO]], %[[HI]] : vector<32xi32>
// CHECK: vector.bitcast %[[PAIRS]] : vector<32xi32> to vector<64xi16>
// CHECK-NOT: vector.interleave
// CHECK-COUNT-2: qopt.x86.pmaddwd
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor<1x64x32xi8>
// CHECK: return
func.func @decoded_grouped_matvec(%a: tensor<1x1x64xi8>, %c: tensor<1x32x1xi32>) -> tensor<1x32x1xi32> {
  %planes = arith.constant dense<[[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32], [33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64]], [[-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18, -19, -20, -21, -22, -23, -24, -25, -26, -27, -28, -29, -30, -31, -32], [-33, -34, -35, -36, -37, -38, -39, -40, -41, -42, -43, -44, -45, -46, -47, -48, -49, -50, -51, -52, -53, -54, -55, -56, -57, -58, -59, -60, -61, -62, -63, -64]]]> : tensor<2x2x32xi32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %c30 = arith.constant 30 : i32
  %empty = tensor.empty() : tensor<1x64x32xi8>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%planes, %planes : tensor<2x2x32xi32>, tensor<2x2x32xi32>) outs(%empty : tensor<1x64x32xi8>) {
  ^bb0(%p0: i32, %p1: i32, %out: i8):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %u = arith.ori %b0, %b1 : i32
    %l = arith.shli %u, %c30 : i32
    %q = arith.shrsi %l, %c30 : i32
    %q8 = arith.trunci %q : i32 to i8
    linalg.yield %q8 : i8
  } -> tensor<1x64x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<1x1x64xi8>, tensor<1x64x32xi8>) outs(%c : tensor<1x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x32x1xi32>
  return %r : tensor<1x32x1xi32>
}

// -----

#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#plane0 = affine_map<(d0, d1, d2) -> (0, d1 floordiv 32, d2)>
#plane1 = affine_map<(d0, d1, d2) -> (1, d1 floordiv 32, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// A dynamic M: versioned on M == 1. The one-row copy decodes its pairs in
// the K loop as @decoded_grouped_matvec does; any other M reads a decoded
// byte panel, its two rows interleaved.
// CHECK-LABEL: func.func @decoded_grouped_dynamic_rows
// CHECK: scf.if
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c2
// CHECK-NOT: tensor<1x64x32xi8>
// CHECK: arith.ori {{.*}} : vector<32xi32>
// CHECK-COUNT-2: qopt.x86.pmaddwd
// CHECK: } else {
// CHECK: tensor.empty() : tensor<1x64x32xi8>
// CHECK: vector.transfer_write {{.*}} : vector<32xi8>, tensor<32xi8>
// CHECK: vector.interleave
// CHECK: qopt.x86.pmaddwd
// CHECK: return
func.func @decoded_grouped_dynamic_rows(%a: tensor<?x1x64xi8>, %c: tensor<?x32x1xi32>) -> tensor<?x32x1xi32> {
  %planes = arith.constant dense<[[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32], [33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64]], [[-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18, -19, -20, -21, -22, -23, -24, -25, -26, -27, -28, -29, -30, -31, -32], [-33, -34, -35, -36, -37, -38, -39, -40, -41, -42, -43, -44, -45, -46, -47, -48, -49, -50, -51, -52, -53, -54, -55, -56, -57, -58, -59, -60, -61, -62, -63, -64]]]> : tensor<2x2x32xi32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %c30 = arith.constant 30 : i32
  %empty = tensor.empty() : tensor<1x64x32xi8>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%planes, %planes : tensor<2x2x32xi32>, tensor<2x2x32xi32>) outs(%empty : tensor<1x64x32xi8>) {
  ^bb0(%p0: i32, %p1: i32, %out: i8):
    %k = linalg.index 1 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %u = arith.ori %b0, %b1 : i32
    %l = arith.shli %u, %c30 : i32
    %q = arith.shrsi %l, %c30 : i32
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
