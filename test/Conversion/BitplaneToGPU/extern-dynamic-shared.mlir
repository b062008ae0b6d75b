// RUN: qopt-opt %s --pass-pipeline="builtin.module(gpu.module(qopt-extern-dynamic-shared))" | FileCheck %s

// The zero-size shared global of a lowered gpu.dynamic_shared_memory
// becomes an external declaration (PTX `.extern .shared ... []`); a sized
// shared buffer, a zero-size global of another address space and one that
// is already external are left as they are.
// CHECK: gpu.module @kernels
// CHECK-DAG: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK-DAG: llvm.mlir.global internal @__wg_kernel_0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<64 x i8>
// CHECK-DAG: llvm.mlir.global internal @global_zero() {addr_space = 0 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK-DAG: llvm.mlir.global external @already() {addr_space = 3 : i32} : !llvm.array<0 x i8>
gpu.module @kernels {
  llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
  llvm.mlir.global internal @__wg_kernel_0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<64 x i8>
  llvm.mlir.global internal @global_zero() {alignment = 16 : i64} : !llvm.array<0 x i8>
  llvm.mlir.global external @already() {addr_space = 3 : i32} : !llvm.array<0 x i8>
}
