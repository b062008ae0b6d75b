// RUN: qopt-opt %s --qopt-bitplane-to-gpu --split-input-file | FileCheck %s
// RUN: qopt-opt %s --qopt-bitplane-to-gpu=split-k-blocks=1 --split-input-file | FileCheck %s --check-prefix=WHOLE

// imma's signed weights of fewer than 8 bits are packed offset binary,
// u = w + 2^(p-1), in bit slices. Each B byte becomes the s8 w * 2^(8-p):
// every slice's field moved to bit sl.shift + 8 - p of its byte, masked, the
// slices ORed, bit 7 flipped; the int32 sums are shifted right by 8 - p
// (exactly) before they are folded.

// W2A8 (M = 2: the decode tile): the 2-bit slice's word holds four fields
// per byte, two lanes per word; lane t's field of register h lies at bit
// 2 (2h + t % 2) and moves to bit 6: a rotation left by 38 - 2 (t % 2 +
// 2h), modulo 32; mask 0xC0C0C0C0 (-1061109568), flip 0x80808080
// (-2139062144); sums >> 6.
// CHECK-LABEL: gpu.func @qmatmul0_imma_m16_wk4(
// CHECK-SAME: weight_bits = 2
// CHECK: %[[W:.*]] = memref.load %{{.*}} : memref<1x384xi32, #gpu.address_space<workgroup>>
// CHECK: %[[T2:.*]] = arith.remui %{{.*}}, %c2{{.*}} : index
// CHECK: %[[TT:.*]] = arith.muli %[[T2]], %c2{{.*}} : index
// CHECK: %[[BY:.*]] = arith.subi %c38, %[[TT]] : index
// CHECK: %[[BY32:.*]] = arith.index_cast %[[BY]] : index to i32
// CHECK: %[[ROT:.*]] = llvm.intr.fshl(%[[W]], %[[W]], %[[BY32]])
// CHECK-NEXT: %[[MASK:.*]] = arith.constant -1061109568 : i32
// CHECK-NEXT: %[[U0:.*]] = arith.andi %[[ROT]], %[[MASK]]
// CHECK-NEXT: %[[FLIP:.*]] = arith.constant -2139062144 : i32
// CHECK-NEXT: %[[B0:.*]] = arith.xori %[[U0]], %[[FLIP]]
// CHECK: %[[T2B:.*]] = arith.remui %{{.*}}, %c2{{.*}} : index
// CHECK: %[[TH:.*]] = arith.addi %[[T2B]], %c2{{.*}} : index
// CHECK: %[[TTB:.*]] = arith.muli %[[TH]], %c2{{.*}} : index
// CHECK: arith.subi %c38{{.*}}, %[[TTB]] : index
// CHECK: %[[ROT1:.*]] = llvm.intr.fshl
// CHECK: %[[U1:.*]] = arith.andi %[[ROT1]], %c-1061109568_i32
// CHECK: %[[B1:.*]] = arith.xori %[[U1]], %c-2139062144_i32
// CHECK-NOT: arith.subi %{{.*}}, %c{{.*}}_i32 : i32
// CHECK: nvvm.mma.sync A[{{.*}}] B[%[[B0]], %[[B1]]]
// CHECK: %[[S:.*]] = arith.shrsi %{{.*}}, %c6_i32 : i32
// CHECK: arith.sitofp %[[S]] : i32 to f32
func.func @w2a8(%a: tensor<2x256x!qopt.int<s8>>, %sa: tensor<2xf32>, %sw: tensor<16xf32>) -> tensor<2x16xf32> {
  %w8 = arith.constant dense<-1> : tensor<16x256xi8>
  %w = qopt.storage_cast %w8 : tensor<16x256xi8> to tensor<16x256x!qopt.int<s2>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<2x256x!qopt.int<s8>>, tensor<2xf32>, tensor<16x256x!qopt.int<s2>>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// W6A8: slices 4 (bits 0-3 of u) and 2 (bits 4-5). The 4-bit slice's
// field of register h lies at bit 4h and goes to bit 2: register 0 shifts
// left by 2, register 1 right by 2, mask 0x3C3C3C3C (1010580540); the
// 2-bit slice's is rotated to bit 6 (mask 0xC0C0C0C0); ORed, flipped;
// sums >> 2.
// CHECK-LABEL: gpu.func @qmatmul0_imma_m16_wk4(
// CHECK-SAME: weight_bits = 6
// CHECK: %[[W4:.*]] = memref.load %{{.*}} : memref<1x1152xi32, #gpu.address_space<workgroup>>
// CHECK-NEXT: %[[C2:.*]] = arith.constant 2 : i32
// CHECK-NEXT: %[[L:.*]] = arith.shli %[[W4]], %[[C2]]
// CHECK-NEXT: %[[M4:.*]] = arith.constant 1010580540 : i32
// CHECK-NEXT: %[[P4:.*]] = arith.andi %[[L]], %[[M4]]
// CHECK: %[[W2:.*]] = memref.load %{{.*}} : memref<1x1152xi32, #gpu.address_space<workgroup>>
// CHECK: %[[R:.*]] = llvm.intr.fshl(%[[W2]], %[[W2]], %{{.*}})
// CHECK-NEXT: %[[M2:.*]] = arith.constant -1061109568 : i32
// CHECK-NEXT: %[[P2:.*]] = arith.andi %[[R]], %[[M2]]
// CHECK-NEXT: %[[U:.*]] = arith.ori %[[P4]], %[[P2]]
// CHECK-NEXT: %[[FLIP:.*]] = arith.constant -2139062144 : i32
// CHECK-NEXT: %[[B0:.*]] = arith.xori %[[U]], %[[FLIP]]
// CHECK: arith.shrui %{{.*}}, %c2_i32{{.*}} : i32
// CHECK: nvvm.mma.sync A[{{.*}}] B[%[[B0]], %{{.*}}]
// CHECK: arith.shrsi %{{.*}}, %c2_i32{{.*}} : i32
func.func @w6a8(%a: tensor<2x256x!qopt.int<s8>>, %sa: tensor<2xf32>, %sw: tensor<16xf32>) -> tensor<2x16xf32> {
  %w8 = arith.constant dense<-17> : tensor<16x256xi8>
  %w = qopt.storage_cast %w8 : tensor<16x256xi8> to tensor<16x256x!qopt.int<s6>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<2x256x!qopt.int<s8>>, tensor<2xf32>, tensor<16x256x!qopt.int<s6>>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// K = 65824 > 65793, without groups: the scaled sums of one fold could
// leave i32 (|a w 2^(8-p)| <= 255 * 128). Split into K parts over
// blockIdx.z (the default here: 16 parts of 4608 K or fewer) each part folds
// its own sums, so the operands are scaled; in one part (second RUN line,
// split-k-blocks=1) the offset is subtracted from each byte instead,
// ((u | 0x80) - 8) ^ 0x80 (0x08080808 = 134744072), and the sums are not
// shifted.
// CHECK-LABEL: gpu.func @qmatmul0_imma_m16_wk4(
// CHECK-SAME: split_k = 16
// CHECK: arith.andi %{{.*}}, %c-252645136_i32
// CHECK: arith.shrsi %{{.*}}, %c4_i32 : i32
// WHOLE-LABEL: gpu.func @qmatmul0_imma_m16_wk4(%{{.*}}: memref<2x16480xi32>
// WHOLE-SAME: split_k = 1
// WHOLE: %[[U:.*]] = arith.andi %{{.*}}, %c252645135_i32
// WHOLE: %[[OR:.*]] = arith.ori %[[U]], %c-2139062144_i32
// WHOLE-NEXT: %[[SUB:.*]] = arith.subi %[[OR]], %c134744072_i32
// WHOLE-NEXT: arith.xori %[[SUB]], %c-2139062144_i32
// WHOLE-NOT: arith.shrsi
// WHOLE: gpu.return
func.func @long_k(%a: tensor<2x65824x!qopt.int<s8>>, %sa: tensor<2xf32>, %sw: tensor<8xf32>) -> tensor<2x8xf32> {
  %w8 = arith.constant dense<-3> : tensor<8x65824xi8>
  %w = qopt.storage_cast %w8 : tensor<8x65824xi8> to tensor<8x65824x!qopt.int<s4>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<2x65824x!qopt.int<s8>>, tensor<2xf32>, tensor<8x65824x!qopt.int<s4>>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
