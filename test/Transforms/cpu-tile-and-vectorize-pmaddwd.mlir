// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-tile-and-vectorize{tile-m=8 tile-n=32 int8-pmaddwd=true}),canonicalize)" --split-input-file | FileCheck %s

// An 8-bit integer matmul block with B [K, N]: K steps by 2, B's two rows
// are interleaved as i16 pairs (two registers of 16 columns), each row's
// activation pair is broadcast, and 8 rows x 2 registers of pair dot
// products are added into the i32 block. No 32-bit multiply remains. The
// activations are sign-extended to i16 once, before the loops, so each N
// block reads a row's pair as one i32.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#o = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @int8_matmul
// CHECK-SAME: (%[[A:.*]]: tensor<8x64xi8>,
// CHECK: %[[A16:.*]] = linalg.generic {{.*}} ins(%[[A]] : tensor<8x64xi8>) outs(%{{.*}} : tensor<8x64xi16>)
// CHECK: arith.extsi %{{.*}} : i8 to i16
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c2
// CHECK: tensor.extract_slice %[[A16]]
// CHECK: vector.transfer_read {{.*}} : tensor<8x2xi16>, vector<8x2xi16>
// CHECK-NOT: arith.extsi
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
// CHECK: arith.extsi %{{.*}} : i8 to i16
// CHECK: scf.for %{{.*}} = %c0 to %c64 step %c2
// CHECK: vector.transfer_read {{.*}} : tensor<1x2xi16>, vector<1x2xi16>
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

// -----

// 6-bit weights as bit fields, five a word (K / 5 words per column): a K
// step's two rows can lie in two words (k = 4, 5), so one tile of the pair
// would not decode them exactly; each row is decoded on its own, reading
// its own word, and the pairs are built in registers as above.
// CHECK-DAG: #[[ROW0:.*]] = affine_map<(d0) -> (d0 floordiv 5)>
// CHECK-DAG: #[[ROW1:.*]] = affine_map<()[s0] -> ((s0 + 1) floordiv 5)>
// CHECK-LABEL: func.func @decoded_straddling_pairs
// CHECK-NOT: tensor<1x20x32xi8>
// CHECK: scf.for %[[K:.*]] = %c0 to %c20 step %c2
// CHECK: %[[W0:.*]] = affine.apply #[[ROW0]](%[[K]])
// CHECK: vector.transfer_read %{{.*}}[%[[W0]], %c0]{{.*}} : tensor<4x32xi32>, vector<32xi32>
// CHECK: arith.remui %[[K]], %c5
// CHECK: %[[R0:.*]] = arith.trunci {{.*}} : vector<32xi32> to vector<32xi8>
// CHECK: %[[W1:.*]] = affine.apply #[[ROW1]]()[%[[K]]]
// CHECK: vector.transfer_read %{{.*}}[%[[W1]], %c0]{{.*}} : tensor<4x32xi32>, vector<32xi32>
// CHECK: %[[R1:.*]] = arith.trunci {{.*}} : vector<32xi32> to vector<32xi8>
// CHECK: %[[E0:.*]] = arith.extsi %[[R0]] : vector<32xi8> to vector<32xi32>
// CHECK: %[[LO:.*]] = arith.andi %[[E0]], %{{.*}} : vector<32xi32>
// CHECK: %[[E1:.*]] = arith.extsi %[[R1]] : vector<32xi8> to vector<32xi32>
// CHECK: %[[HI:.*]] = arith.shli %[[E1]], %{{.*}} : vector<32xi32>
// CHECK: arith.ori %[[LO]], %[[HI]] : vector<32xi32>
// CHECK-NOT: vector.interleave
// CHECK-COUNT-2: qopt.x86.pmaddwd
// CHECK-NOT: linalg.generic
// CHECK-NOT: tensor<1x20x32xi8>
// CHECK: return
#a = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
#o = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#fields = affine_map<(d0, d1, d2) -> (d1 floordiv 5, d2)>
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @decoded_straddling_pairs(%a: tensor<1x1x20xi8>, %c: tensor<1x32x1xi32>) -> tensor<1x32x1xi32> {
  %words = arith.constant dense<[[12345, 143416, 274487, 405558, 536629, 667700, 798771, 929842, 1060913, 1191984, 1323055, 1454126, 1585197, 1716268, 1847339, 1978410, 2109481, 2240552, 2371623, 2502694, 2633765, 2764836, 2895907, 3026978, 3158049, 3289120, 3420191, 3551262, 3682333, 3813404, 3944475, 4075546], [13322, 144393, 275464, 406535, 537606, 668677, 799748, 930819, 1061890, 1192961, 1324032, 1455103, 1586174, 1717245, 1848316, 1979387, 2110458, 2241529, 2372600, 2503671, 2634742, 2765813, 2896884, 3027955, 3159026, 3290097, 3421168, 3552239, 3683310, 3814381, 3945452, 4076523], [14299, 145370, 276441, 407512, 538583, 669654, 800725, 931796, 1062867, 1193938, 1325009, 1456080, 1587151, 1718222, 1849293, 1980364, 2111435, 2242506, 2373577, 2504648, 2635719, 2766790, 2897861, 3028932, 3160003, 3291074, 3422145, 3553216, 3684287, 3815358, 3946429, 4077500], [15276, 146347, 277418, 408489, 539560, 670631, 801702, 932773, 1063844, 1194915, 1325986, 1457057, 1588128, 1719199, 1850270, 1981341, 2112412, 2243483, 2374554, 2505625, 2636696, 2767767, 2898838, 3029909, 3160980, 3292051, 3423122, 3554193, 3685264, 3816335, 3947406, 4078477]]> : tensor<4x32xi32>
  %c5 = arith.constant 5 : index
  %c6 = arith.constant 6 : index
  %c26 = arith.constant 26 : index
  %c26_i32 = arith.constant 26 : i32
  %empty = tensor.empty() : tensor<1x20x32xi8>
  %w = linalg.generic {indexing_maps = [#fields, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%words : tensor<4x32xi32>) outs(%empty : tensor<1x20x32xi8>) {
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
  } -> tensor<1x20x32xi8>
  %r = linalg.generic {indexing_maps = [#a, #w, #o], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<1x1x20xi8>, tensor<1x20x32xi8>) outs(%c : tensor<1x32x1xi32>) {
  ^bb0(%x: i8, %y: i8, %acc: i32):
    %xe = arith.extsi %x : i8 to i32
    %ye = arith.extsi %y : i8 to i32
    %p = arith.muli %xe, %ye : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<1x32x1xi32>
  return %r : tensor<1x32x1xi32>
}
