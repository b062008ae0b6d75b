// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="random-weights=true" | FileCheck %s
// RUN: qopt-opt %S/Inputs/w4a8_const_dynamic.mlir --qopt-bitplane-to-gpu="random-weights=true kernel=bmma" | FileCheck %s --check-prefix=BMMA

// random-weights (qcc --gpu-bench-weights, kernel benchmarks): the weights
// are not packed into the module; each range's kernels read the runtime's
// pseudo-random buffer of the packed size (the same seed in every range of a
// layer, so one upload).
// CHECK-NOT: dense_resource
// CHECK: func.func private @qopt_gpu_random_i32(i64, i64) -> memref<?xi32> attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func private @qmatmul0_host(
// CHECK: scf.if
// CHECK-DAG: %[[N:.*]] = arith.constant 512 : i64
// CHECK-DAG: %[[SEED:.*]] = arith.constant [[S:[0-9]+]] : i64
// CHECK: call @qopt_gpu_random_i32(%[[N]], %[[SEED]])
// CHECK: memref.expand_shape {{.*}} : memref<512xi32> into memref<4x8x16xi32>
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_imma_m16
// CHECK: } else {
// CHECK: call @qopt_gpu_random_i32(%{{.*}}, %c[[S]]_i64)
// CHECK: gpu.launch_func @qopt_kernels::@qmatmul0_imma
// BMMA-NOT: dense_resource
// BMMA: call @qopt_gpu_random_i32
// BMMA: memref.expand_shape {{.*}} into memref<4x8x16xi32>
// BMMA-NOT: qmatmul0_pack_weight
// BMMA: gpu.launch_func @qopt_kernels::@qmatmul0_bmma
