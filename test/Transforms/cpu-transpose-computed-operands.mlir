// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-transpose-computed-operands))" --split-input-file | FileCheck %s
// RUN: qopt-opt %s --pass-pipeline="builtin.module(func.func(qopt-cpu-transpose-computed-operands),qopt-fuse-elementwise)" --split-input-file | FileCheck %s --check-prefix=FUSED

#w = affine_map<(n, k) -> (n, k)>
#a3 = affine_map<(m, n, k) -> (m, k)>
#w3 = affine_map<(m, n, k) -> (n, k)>
#o3 = affine_map<(m, n, k) -> (m, n)>
// A weight decoded into [N, K] and read as (n, k): transposed to [K, N]
// and read as (k, n). After fusion the decode writes [K, N] itself.
// CHECK-DAG: #[[KN:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[T:.*]] = affine_map<(d0, d1) -> (d1, d0)>
// CHECK-LABEL: func.func @decoded_weight
// CHECK: %[[W:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<32x64xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<64x32xf32>
// CHECK: %[[WT:.*]] = linalg.generic {indexing_maps = [#[[T]], #{{.*}}], iterator_types = ["parallel", "parallel"]} ins(%[[W]] : tensor<32x64xf32>) outs(%[[E]] : tensor<64x32xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[KN]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[WT]] : tensor<8x64xf32>, tensor<64x32xf32>)
// FUSED-LABEL: func.func @decoded_weight
// FUSED: linalg.generic {{.*}} ins(%{{.*}} : tensor<32x64xi8>) outs(%{{.*}} : tensor<64x32xf32>)
// FUSED: arith.sitofp
// FUSED: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x64xf32>, tensor<64x32xf32>)
func.func @decoded_weight(%a: tensor<8x64xf32>, %q: tensor<32x64xi8>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
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

#a3 = affine_map<(m, n, k) -> (m, k)>
#w3 = affine_map<(m, n, k) -> (n, k)>
#o3 = affine_map<(m, n, k) -> (m, n)>
// A function argument (or a constant) is left alone: transposing it would
// copy it on every call.
// CHECK-LABEL: func.func @argument_weight
// CHECK-NOT: tensor.empty
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x64xf32>, tensor<32x64xf32>)
func.func @argument_weight(%a: tensor<8x64xf32>, %w: tensor<32x64xf32>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
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

#w = affine_map<(k, n) -> (k, n)>
#a3 = affine_map<(m, n, k) -> (m, k)>
#w3 = affine_map<(m, n, k) -> (k, n)>
#o3 = affine_map<(m, n, k) -> (m, n)>
// Already N-innermost: unchanged.
// CHECK-LABEL: func.func @already_n_innermost
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.generic
func.func @already_n_innermost(%a: tensor<8x64xf32>, %q: tensor<64x32xi8>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %e = tensor.empty() : tensor<64x32xf32>
  %w = linalg.generic {indexing_maps = [#w, #w], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<64x32xi8>) outs(%e : tensor<64x32xf32>) {
  ^bb0(%x: i8, %o: f32):
    %i = arith.sitofp %x : i8 to f32
    linalg.yield %i : f32
  } -> tensor<64x32xf32>
  %r = linalg.generic {indexing_maps = [#a3, #w3, #o3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %w : tensor<8x64xf32>, tensor<64x32xf32>) outs(%c : tensor<8x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

#w = affine_map<(n, k) -> (n, k)>
#a4 = affine_map<(m, n, g, k) -> (m, g, k)>
#w4 = affine_map<(m, n, g, k) -> (n, g, k)>
#o4 = affine_map<(m, n, g, k) -> (m, n, g)>
// The integer matmul reads the decoded weight through a unit-dim
// expand_shape ([N, K] -> [N, 1, K]): the transpose reads the decode's
// result directly, so fusion can merge them, and writes [1, K, N].
// CHECK-DAG: #[[SRC:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[GKN:.*]] = affine_map<(d0, d1, d2, d3) -> (d2, d3, d1)>
// CHECK-LABEL: func.func @through_unit_expand
// CHECK: %[[W:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<32x64xi8>)
// CHECK: %[[WT:.*]] = linalg.generic {indexing_maps = [#[[SRC]], #{{.*}}], {{.*}} ins(%[[W]] : tensor<32x64xi8>) outs(%{{.*}} : tensor<1x64x32xi8>)
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[GKN]], #{{.*}}], {{.*}} ins(%{{.*}}, %[[WT]] : tensor<8x1x64xi8>, tensor<1x64x32xi8>)
// FUSED-LABEL: func.func @through_unit_expand
// FUSED: linalg.generic {{.*}} ins(%{{.*}} : tensor<32x64xi8>) outs(%{{.*}} : tensor<1x64x32xi8>)
// FUSED: arith.addi
// FUSED: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x1x64xi8>, tensor<1x64x32xi8>)
func.func @through_unit_expand(%a: tensor<8x1x64xi8>, %q: tensor<32x64xi8>, %c: tensor<8x32x1xi32>) -> tensor<8x32x1xi32> {
  %one = arith.constant 1 : i8
  %e = tensor.empty() : tensor<32x64xi8>
  %w = linalg.generic {indexing_maps = [#w, #w], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<32x64xi8>) outs(%e : tensor<32x64xi8>) {
  ^bb0(%x: i8, %o: i8):
    %s = arith.addi %x, %one : i8
    linalg.yield %s : i8
  } -> tensor<32x64xi8>
  %x = tensor.expand_shape %w [[0], [1, 2]] output_shape [32, 1, 64] : tensor<32x64xi8> into tensor<32x1x64xi8>
  %r = linalg.generic {indexing_maps = [#a4, #w4, #o4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %x : tensor<8x1x64xi8>, tensor<32x1x64xi8>) outs(%c : tensor<8x32x1xi32>) {
  ^bb0(%u: i8, %v: i8, %acc: i32):
    %ue = arith.extsi %u : i8 to i32
    %ve = arith.extsi %v : i8 to i32
    %p = arith.muli %ue, %ve : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  } -> tensor<8x32x1xi32>
  return %r : tensor<8x32x1xi32>
}
