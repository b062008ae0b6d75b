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
// CHECK: vector.transfer_read {{.*}} : tensor<2x32xi8>, vector<2x32xi8>
// CHECK: vector.bitcast %{{.*}} : vector<8x2xi16> to vector<8x1xi32>
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
