// RUN: qopt-opt %s --qopt-lower-x86-to-llvm | FileCheck %s

// CHECK-LABEL: func.func @pmaddwd
// CHECK-SAME: (%[[A:.*]]: vector<32xi16>, %[[B:.*]]: vector<32xi16>)
// CHECK: %[[D:.*]] = llvm.call_intrinsic "llvm.x86.avx512.pmaddw.d.512"(%[[A]], %[[B]]) : (vector<32xi16>, vector<32xi16>) -> vector<16xi32>
// CHECK-NOT: qopt.x86.pmaddwd
// CHECK: return %[[D]]
func.func @pmaddwd(%a: vector<32xi16>, %b: vector<32xi16>) -> vector<16xi32> {
  %d = qopt.x86.pmaddwd %a, %b : vector<32xi16>, vector<32xi16> -> vector<16xi32>
  return %d : vector<16xi32>
}

// CHECK-LABEL: func.func @vpdpbusd
// CHECK-SAME: (%[[C:.*]]: vector<16xi32>, %[[U:.*]]: vector<64xi8>, %[[S:.*]]: vector<64xi8>)
// CHECK: %[[D:.*]] = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%[[C]], %[[U]], %[[S]]) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK-NOT: qopt.x86.vpdpbusd
// CHECK: return %[[D]]
func.func @vpdpbusd(%c: vector<16xi32>, %u: vector<64xi8>, %s: vector<64xi8>) -> vector<16xi32> {
  %d = qopt.x86.vpdpbusd %c, %u, %s : vector<16xi32>, vector<64xi8>, vector<64xi8> -> vector<16xi32>
  return %d : vector<16xi32>
}

// 256-bit registers (AVX2) take the AVX2 intrinsics.
// CHECK-LABEL: func.func @pmaddwd_avx2
// CHECK: llvm.call_intrinsic "llvm.x86.avx2.pmadd.wd"(%{{.*}}, %{{.*}}) : (vector<16xi16>, vector<16xi16>) -> vector<8xi32>
func.func @pmaddwd_avx2(%a: vector<16xi16>, %b: vector<16xi16>) -> vector<8xi32> {
  %d = qopt.x86.pmaddwd %a, %b : vector<16xi16>, vector<16xi16> -> vector<8xi32>
  return %d : vector<8xi32>
}

// CHECK-LABEL: func.func @pmaddubsw
// CHECK-SAME: (%[[U:.*]]: vector<64xi8>, %[[S:.*]]: vector<64xi8>, %[[U2:.*]]: vector<32xi8>, %[[S2:.*]]: vector<32xi8>)
// CHECK: %[[W:.*]] = llvm.call_intrinsic "llvm.x86.avx512.pmaddubs.w.512"(%[[U]], %[[S]]) : (vector<64xi8>, vector<64xi8>) -> vector<32xi16>
// CHECK: %[[N:.*]] = llvm.call_intrinsic "llvm.x86.avx2.pmadd.ub.sw"(%[[U2]], %[[S2]]) : (vector<32xi8>, vector<32xi8>) -> vector<16xi16>
// CHECK-NOT: qopt.x86.pmaddubsw
// CHECK: return %[[W]], %[[N]]
func.func @pmaddubsw(%u: vector<64xi8>, %s: vector<64xi8>, %u2: vector<32xi8>, %s2: vector<32xi8>) -> (vector<32xi16>, vector<16xi16>) {
  %w = qopt.x86.pmaddubsw %u, %s : vector<64xi8>, vector<64xi8> -> vector<32xi16>
  %n = qopt.x86.pmaddubsw %u2, %s2 : vector<32xi8>, vector<32xi8> -> vector<16xi16>
  return %w, %n : vector<32xi16>, vector<16xi16>
}
