// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-tile-and-vectorize{tile-m=8 tile-n=32 panel-bytes=16384}),canonicalize)" --split-input-file | FileCheck %s
// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-tile-and-vectorize{tile-m=8 tile-n=32 panel-bytes=4096}),canonicalize)" --split-input-file | FileCheck %s --check-prefix=SMALL

// A right-hand operand decoded from constant weights (bit planes and group
// scales) is computed inside the contraction's loops, never whole: in the K
// loop of the register block where M fits one block, else a panel of
// panel-bytes (K chunk x tile-n) per N block and K chunk, read by
// every M block.

#plane0 = affine_map<(d0, d1) -> (0, d0 floordiv 32, d1)>
#plane1 = affine_map<(d0, d1) -> (1, d0 floordiv 32, d1)>
#scales64 = affine_map<(d0, d1) -> (d0 floordiv 64, d1)>
#scales96 = affine_map<(d0, d1) -> (d0 floordiv 96, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// M = 1: each step of K decodes the 32 weights of its row in vector
// registers; no K x N tensor is left. 16 KiB panels of f32 are 128 rows: K
// runs in chunks of 128 (32 with 4 KiB).
// CHECK-LABEL: func.func @matvec_decodes_in_the_k_loop
// CHECK-NOT:     tensor<256x64xf32>
// CHECK:         scf.for {{.*}} step %c32
// CHECK:           scf.for {{.*}} step %c128
// CHECK-NOT:         tensor<128x32xf32>
// CHECK:             scf.for {{.*}} step %c1
// CHECK-NOT:           tensor<128x32xf32>
// CHECK:               arith.shrui {{.*}} : vector<32xi32>
// CHECK:               arith.sitofp {{.*}} : vector<32xi32> to vector<32xf32>
// CHECK:               arith.mulf {{.*}} : vector<32xf32>
// CHECK:               vector.contract
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     tensor<256x64xf32>
// CHECK-NOT:     tensor<128x32xf32>
// CHECK:         return
// SMALL-LABEL: func.func @matvec_decodes_in_the_k_loop
// SMALL-COUNT-2: scf.for {{.*}} step %c32
// SMALL:             scf.for {{.*}} step %c1
// SMALL:               arith.shrui {{.*}} : vector<32xi32>
func.func @matvec_decodes_in_the_k_loop(%x: tensor<1x256xf32>) -> tensor<1x64xf32> {
  %planes = arith.constant dense<1431655765> : tensor<2x8x64xi32>
  %scales = arith.constant dense<5.000000e-01> : tensor<4x64xf32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.000000e+00 : f32
  %empty = tensor.empty() : tensor<256x64xf32>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #scales64, #id], iterator_types = ["parallel", "parallel"]}
      ins(%planes, %planes, %scales : tensor<2x8x64xi32>, tensor<2x8x64xi32>, tensor<4x64xf32>) outs(%empty : tensor<256x64xf32>) {
  ^bb0(%p0: i32, %p1: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %q = arith.ori %b0, %b1 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<256x64xf32>
  %init = tensor.empty() : tensor<1x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x64xf32>) -> tensor<1x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x256xf32>, tensor<256x64xf32>) outs(%acc : tensor<1x64xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

#plane0 = affine_map<(d0, d1) -> (0, d0 floordiv 32, d1)>
#plane1 = affine_map<(d0, d1) -> (1, d0 floordiv 32, d1)>
#scales64 = affine_map<(d0, d1) -> (d0 floordiv 64, d1)>
#scales96 = affine_map<(d0, d1) -> (d0 floordiv 96, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// M = 16 (two blocks): a 128 x 32 panel per N block and K chunk, decoded a
// row (one vector) at a time, then the M blocks.
// CHECK-LABEL: func.func @rows_share_a_panel
// CHECK-NOT:     tensor<256x64xf32>
// CHECK:         scf.for {{.*}} step %c32
// CHECK:           scf.for {{.*}} step %c128
// CHECK:             tensor.empty() : tensor<128x32xf32>
// CHECK:             scf.for {{.*}} step %c1
// CHECK:               arith.shrui {{.*}} : vector<32xi32>
// CHECK:               vector.transfer_write {{.*}} : vector<32xf32>
// CHECK:             scf.for {{.*}} step %c8
// CHECK:               scf.for {{.*}} step %c1
// CHECK:                 vector.contract
// SMALL-LABEL: func.func @rows_share_a_panel
// SMALL:         tensor.empty() : tensor<32x32xf32>
func.func @rows_share_a_panel(%x: tensor<16x256xf32>) -> tensor<16x64xf32> {
  %planes = arith.constant dense<1431655765> : tensor<2x8x64xi32>
  %scales = arith.constant dense<5.000000e-01> : tensor<4x64xf32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.000000e+00 : f32
  %empty = tensor.empty() : tensor<256x64xf32>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #scales64, #id], iterator_types = ["parallel", "parallel"]}
      ins(%planes, %planes, %scales : tensor<2x8x64xi32>, tensor<2x8x64xi32>, tensor<4x64xf32>) outs(%empty : tensor<256x64xf32>) {
  ^bb0(%p0: i32, %p1: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %q = arith.ori %b0, %b1 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<256x64xf32>
  %init = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<16x256xf32>, tensor<256x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

// -----

#plane0 = affine_map<(d0, d1) -> (0, d0 floordiv 32, d1)>
#plane1 = affine_map<(d0, d1) -> (1, d0 floordiv 32, d1)>
#scales64 = affine_map<(d0, d1) -> (d0 floordiv 64, d1)>
#scales96 = affine_map<(d0, d1) -> (d0 floordiv 96, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// Groups of 96 straddle chunks of 128 (a tile applies the group map to
// tile-local rows, exact only where the step is a multiple or a divisor of
// 96): one panel spans all of K.
// CHECK-LABEL: func.func @group_straddling_chunks
// CHECK-NOT:     step %c128
// CHECK:         tensor.empty() : tensor<384x32xf32>
// CHECK-NOT:     step %c128
// CHECK:         return
func.func @group_straddling_chunks(%x: tensor<16x384xf32>) -> tensor<16x64xf32> {
  %planes = arith.constant dense<1431655765> : tensor<2x12x64xi32>
  %scales = arith.constant dense<5.000000e-01> : tensor<4x64xf32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.000000e+00 : f32
  %empty = tensor.empty() : tensor<384x64xf32>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #scales96, #id], iterator_types = ["parallel", "parallel"]}
      ins(%planes, %planes, %scales : tensor<2x12x64xi32>, tensor<2x12x64xi32>, tensor<4x64xf32>) outs(%empty : tensor<384x64xf32>) {
  ^bb0(%p0: i32, %p1: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %q = arith.ori %b0, %b1 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<384x64xf32>
  %init = tensor.empty() : tensor<16x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<16x64xf32>) -> tensor<16x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<16x384xf32>, tensor<384x64xf32>) outs(%acc : tensor<16x64xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}

// -----

#plane0 = affine_map<(d0, d1) -> (0, d0 floordiv 32, d1)>
#plane1 = affine_map<(d0, d1) -> (1, d0 floordiv 32, d1)>
#scales64 = affine_map<(d0, d1) -> (d0 floordiv 64, d1)>
#scales96 = affine_map<(d0, d1) -> (d0 floordiv 96, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// A decode of run-time values (here an argument) is left whole.
// CHECK-LABEL: func.func @decode_of_argument
// CHECK:         linalg.generic
// CHECK:         } -> tensor<256x64xf32>
// CHECK:         scf.for
func.func @decode_of_argument(%x: tensor<1x256xf32>, %planes: tensor<2x8x64xi32>) -> tensor<1x64xf32> {
  %scales = arith.constant dense<5.000000e-01> : tensor<4x64xf32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.000000e+00 : f32
  %empty = tensor.empty() : tensor<256x64xf32>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #scales64, #id], iterator_types = ["parallel", "parallel"]}
      ins(%planes, %planes, %scales : tensor<2x8x64xi32>, tensor<2x8x64xi32>, tensor<4x64xf32>) outs(%empty : tensor<256x64xf32>) {
  ^bb0(%p0: i32, %p1: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %q = arith.ori %b0, %b1 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<256x64xf32>
  %init = tensor.empty() : tensor<1x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x64xf32>) -> tensor<1x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x256xf32>, tensor<256x64xf32>) outs(%acc : tensor<1x64xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

#plane0 = affine_map<(d0, d1) -> (0, d0 floordiv 32, d1)>
#plane1 = affine_map<(d0, d1) -> (1, d0 floordiv 32, d1)>
#scales64 = affine_map<(d0, d1) -> (d0 floordiv 64, d1)>
#scales96 = affine_map<(d0, d1) -> (d0 floordiv 96, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// A decode read by two contractions is computed once, whole.
// CHECK-LABEL: func.func @decode_read_twice
// CHECK:         linalg.generic
// CHECK:         } -> tensor<256x64xf32>
// CHECK:         scf.for
func.func @decode_read_twice(%x: tensor<1x256xf32>) -> tensor<1x64xf32> {
  %planes = arith.constant dense<1431655765> : tensor<2x8x64xi32>
  %scales = arith.constant dense<5.000000e-01> : tensor<4x64xf32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.000000e+00 : f32
  %empty = tensor.empty() : tensor<256x64xf32>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #scales64, #id], iterator_types = ["parallel", "parallel"]}
      ins(%planes, %planes, %scales : tensor<2x8x64xi32>, tensor<2x8x64xi32>, tensor<4x64xf32>) outs(%empty : tensor<256x64xf32>) {
  ^bb0(%p0: i32, %p1: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %q = arith.ori %b0, %b1 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<256x64xf32>
  %init = tensor.empty() : tensor<1x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x64xf32>) -> tensor<1x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x256xf32>, tensor<256x64xf32>) outs(%acc : tensor<1x64xf32>) -> tensor<1x64xf32>
  %y2 = linalg.matmul ins(%x, %w : tensor<1x256xf32>, tensor<256x64xf32>) outs(%y : tensor<1x64xf32>) -> tensor<1x64xf32>
  return %y2 : tensor<1x64xf32>
}

// -----

#plane0 = affine_map<(d0, d1) -> (0, d0 floordiv 32, d1)>
#plane1 = affine_map<(d0, d1) -> (1, d0 floordiv 32, d1)>
#scales64 = affine_map<(d0, d1) -> (d0 floordiv 64, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// A dynamic M (an LM's tokens): when M is 1 at run time, a copy with one
// static row runs, whose K loop decodes in registers as in
// @matvec_decodes_in_the_k_loop, and writes its row back into the
// accumulator; any other M runs the panel copy of @rows_share_a_panel.
// Each branch has its own decode.
// CHECK-LABEL: func.func @dynamic_rows_one_at_run_time
// CHECK:         %[[ACC:.*]] = linalg.fill {{.*}} -> tensor<?x64xf32>
// CHECK:         %[[M:.*]] = tensor.dim %arg0, %c0 : tensor<?x256xf32>
// CHECK:         %[[ONE:.*]] = arith.cmpi eq, %[[M]], %c1 : index
// CHECK:         scf.if %[[ONE]] -> (tensor<?x64xf32>) {
// CHECK:           tensor.extract_slice %arg0[0, 0] [1, 256] [1, 1] : tensor<?x256xf32> to tensor<1x256xf32>
// CHECK:           %[[ROW:.*]] = tensor.extract_slice %[[ACC]][0, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<1x64xf32>
// CHECK:           %[[SINGLE:.*]] = scf.for {{.*}} step %c32 iter_args(%{{.*}} = %[[ROW]]) -> (tensor<1x64xf32>)
// CHECK:             scf.for {{.*}} step %c128
// CHECK-NOT:           tensor<128x32xf32>
// CHECK:               scf.for {{.*}} step %c1
// CHECK:                 arith.shrui {{.*}} : vector<32xi32>
// CHECK:                 vector.transfer_read {{.*}} : tensor<1x1xf32>, vector<1x1xf32>
// CHECK:                 vector.contract {{.*}} : vector<1x1xf32>, vector<1x32xf32> into vector<1x32xf32>
// CHECK:           %[[BACK:.*]] = tensor.insert_slice %[[SINGLE]] into %[[ACC]][0, 0] [1, 64] [1, 1] : tensor<1x64xf32> into tensor<?x64xf32>
// CHECK:           scf.yield %[[BACK]] : tensor<?x64xf32>
// CHECK:         } else {
// CHECK:           scf.for {{.*}} step %c32 iter_args(%{{.*}} = %[[ACC]]) -> (tensor<?x64xf32>)
// CHECK:             scf.for {{.*}} step %c128
// CHECK:               tensor.empty() : tensor<128x32xf32>
// CHECK:               scf.for {{.*}} step %c1
// CHECK:                 arith.shrui {{.*}} : vector<32xi32>
// CHECK:               scf.for {{.*}} step %c8
// CHECK:                 vector.contract {{.*}} : vector<8x1xf32>, vector<1x32xf32> into vector<8x32xf32>
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     tensor<256x64xf32>
// CHECK:         return
func.func @dynamic_rows_one_at_run_time(%x: tensor<?x256xf32>) -> tensor<?x64xf32> {
  %planes = arith.constant dense<1431655765> : tensor<2x8x64xi32>
  %scales = arith.constant dense<5.000000e-01> : tensor<4x64xf32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.000000e+00 : f32
  %empty = tensor.empty() : tensor<256x64xf32>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #scales64, #id], iterator_types = ["parallel", "parallel"]}
      ins(%planes, %planes, %scales : tensor<2x8x64xi32>, tensor<2x8x64xi32>, tensor<4x64xf32>) outs(%empty : tensor<256x64xf32>) {
  ^bb0(%p0: i32, %p1: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %q = arith.ori %b0, %b1 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<256x64xf32>
  %m = tensor.dim %x, %c0 : tensor<?x256xf32>
  %init = tensor.empty(%m) : tensor<?x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<?x64xf32>) -> tensor<?x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x256xf32>, tensor<256x64xf32>) outs(%acc : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

#plane0 = affine_map<(d0, d1) -> (0, d0 floordiv 32, d1)>
#plane1 = affine_map<(d0, d1) -> (1, d0 floordiv 32, d1)>
#scales64 = affine_map<(d0, d1) -> (d0 floordiv 64, d1)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#x = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#w = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#y = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// Two dynamic M dims (batch and rows): no single-row copy, one loop nest.
// CHECK-LABEL: func.func @two_dynamic_rows
// CHECK-NOT:     scf.if
// CHECK:         tensor.empty() : tensor<128x32xf32>
// CHECK-NOT:     scf.if
// CHECK:         return
func.func @two_dynamic_rows(%x: tensor<?x?x256xf32>, %acc: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %planes = arith.constant dense<1431655765> : tensor<2x8x64xi32>
  %scales = arith.constant dense<5.000000e-01> : tensor<4x64xf32>
  %c31 = arith.constant 31 : i32
  %c1 = arith.constant 1 : i32
  %empty = tensor.empty() : tensor<256x64xf32>
  %w = linalg.generic {indexing_maps = [#plane0, #plane1, #scales64, #id], iterator_types = ["parallel", "parallel"]}
      ins(%planes, %planes, %scales : tensor<2x8x64xi32>, tensor<2x8x64xi32>, tensor<4x64xf32>) outs(%empty : tensor<256x64xf32>) {
  ^bb0(%p0: i32, %p1: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %ki = arith.index_cast %k : index to i32
    %shift = arith.andi %ki, %c31 : i32
    %s0 = arith.shrui %p0, %shift : i32
    %b0 = arith.andi %s0, %c1 : i32
    %s1 = arith.shrui %p1, %shift : i32
    %a1 = arith.andi %s1, %c1 : i32
    %b1 = arith.shli %a1, %c1 : i32
    %q = arith.ori %b0, %b1 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<256x64xf32>
  %y = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x?x256xf32>, tensor<256x64xf32>) outs(%acc : tensor<?x?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x64xf32>
  return %y : tensor<?x?x64xf32>
}

// -----

// A dynamic M times a weight that is not a decode of constants (here an
// argument): nothing to decode in registers, no single-row copy.
// CHECK-LABEL: func.func @dynamic_rows_plain_weight
// CHECK-NOT:     scf.if
// CHECK:         scf.for
// CHECK-NOT:     scf.if
// CHECK:         return
func.func @dynamic_rows_plain_weight(%x: tensor<?x256xf32>, %w: tensor<256x64xf32>, %acc: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %y = linalg.matmul ins(%x, %w : tensor<?x256xf32>, tensor<256x64xf32>) outs(%acc : tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Decode inputs stored as panels by qopt-cpu-relayout-constant-operands
// ([N / 32, K / F, 32] bit fields, [N / 32, K / G, 32] group scales, read
// through (n floordiv 32, .., n mod 32)): each N block slices its panel
// once, and each K step reads one contiguous vector of words and one of
// scales, no gather.
// CHECK-LABEL: func.func @matvec_decodes_panels
// CHECK:         scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %c32
// CHECK-DAG:       tensor.extract_slice %{{.*}}[%{{.*}}, 0, %{{.*}}] [1, 2, 32] [1, 1, 1] : tensor<2x2x32xi32> to tensor<1x2x32xi32>
// CHECK-DAG:       tensor.extract_slice %{{.*}}[%{{.*}}, 0, %{{.*}}] [1, 2, 32] [1, 1, 1] : tensor<2x2x32xf32> to tensor<1x2x32xf32>
// CHECK:           scf.for {{.*}} step %c1
// CHECK-NOT:         vector.gather
// CHECK-DAG:         vector.transfer_read {{.*}} : tensor<32xi32>, vector<32xi32>
// CHECK-DAG:         vector.transfer_read {{.*}} : tensor<32xf32>, vector<32xf32>
// CHECK:             arith.shli {{.*}} : vector<32xi32>
// CHECK:             arith.shrsi {{.*}} : vector<32xi32>
// CHECK:             arith.mulf {{.*}} : vector<32xf32>
// CHECK:             vector.contract
// CHECK-NOT:     vector.gather
// CHECK-NOT:     linalg.generic
// CHECK:         return
#words = affine_map<(d0, d1) -> (d1 floordiv 32, d0 floordiv 8, d1 mod 32)>
#scales64 = affine_map<(d0, d1) -> (d1 floordiv 32, d0 floordiv 8, d1 mod 32)>
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @matvec_decodes_panels(%x: tensor<1x16xf32>) -> tensor<1x64xf32> {
  %fields = arith.constant dense<[[[0, 11, 22, 33, 44, 55, 66, 77, 88, 99, 110, 121, 132, 143, 154, 165, 176, 187, 198, 209, 220, 231, 242, 253, 264, 275, 286, 297, 308, 319, 330, 341], [37, 48, 59, 70, 81, 92, 103, 114, 125, 136, 147, 158, 169, 180, 191, 202, 213, 224, 235, 246, 257, 268, 279, 290, 301, 312, 323, 334, 345, 356, 367, 378]], [[1000, 1011, 1022, 1033, 1044, 1055, 1066, 1077, 1088, 1099, 1110, 1121, 1132, 1143, 1154, 1165, 1176, 1187, 1198, 1209, 1220, 1231, 1242, 1253, 1264, 1275, 1286, 1297, 1308, 1319, 1330, 1341], [1037, 1048, 1059, 1070, 1081, 1092, 1103, 1114, 1125, 1136, 1147, 1158, 1169, 1180, 1191, 1202, 1213, 1224, 1235, 1246, 1257, 1268, 1279, 1290, 1301, 1312, 1323, 1334, 1345, 1356, 1367, 1378]]]> : tensor<2x2x32xi32>
  %scales = arith.constant dense<[[[0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5], [1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0]], [[3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25], [1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75]]]> : tensor<2x2x32xf32>
  %c8 = arith.constant 8 : index
  %c4 = arith.constant 4 : index
  %c28 = arith.constant 28 : i32
  %zero = arith.constant 0.000000e+00 : f32
  %empty = tensor.empty() : tensor<16x64xf32>
  %w = linalg.generic {indexing_maps = [#words, #scales64, #id], iterator_types = ["parallel", "parallel"]}
      ins(%fields, %scales : tensor<2x2x32xi32>, tensor<2x2x32xf32>) outs(%empty : tensor<16x64xf32>) {
  ^bb0(%word: i32, %s: f32, %out: f32):
    %k = linalg.index 0 : index
    %field = arith.remui %k, %c8 : index
    %bits = arith.muli %field, %c4 : index
    %b = arith.index_cast %bits : index to i32
    %left = arith.subi %c28, %b : i32
    %up = arith.shli %word, %left : i32
    %q = arith.shrsi %up, %c28 : i32
    %qf = arith.sitofp %q : i32 to f32
    %v = arith.mulf %qf, %s : f32
    linalg.yield %v : f32
  } -> tensor<16x64xf32>
  %init = tensor.empty() : tensor<1x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%init : tensor<1x64xf32>) -> tensor<1x64xf32>
  %y = linalg.matmul ins(%x, %w : tensor<1x16xf32>, tensor<16x64xf32>) outs(%acc : tensor<1x64xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}
