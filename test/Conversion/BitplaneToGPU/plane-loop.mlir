// RUN: qopt-opt %S/Inputs/w2a8_dynamic.mlir --qopt-bitplane-to-gpu=mma-shape=m16n8k256 | FileCheck %s --check-prefix=AUTO
// RUN: qopt-opt %S/Inputs/w2a8_dynamic.mlir --qopt-bitplane-to-gpu="mma-shape=m16n8k256 plane-loop=shift" | FileCheck %s --check-prefix=SHIFT
// RUN: qopt-opt %S/Inputs/w8a8_zp_small_k.mlir --qopt-bitplane-to-gpu="mma-shape=m16n8k256 plane-loop=act" | FileCheck %s --check-prefix=ACT
// RUN: not qopt-opt %S/Inputs/w2a8_dynamic.mlir --qopt-bitplane-to-gpu=plane-loop=diagonal 2>&1 | FileCheck %s --check-prefix=ERR

// W2A8 signed: chaining needs two chains per shift (9 * 2 updates > 2 * 8
// multiply-adds), so auto loops over the activation planes.
// AUTO: plane_loop = "act"
// AUTO: scf.for %{{.*}} = %c0{{.*}} to %c8{{.*}} step

// Forced: 9 shifts; per weight plane a regular and a sign-plane pair, each
// a uniform scf.if extending the positive or the negative chain; then
// acc += (pos - neg) * 2^s.
// SHIFT: plane_loop = "shift"
// SHIFT: scf.for %[[S:.*]] = %c0{{.*}} to %c9{{.*}} step %{{.*}} iter_args(
// Weight plane 0, activation planes 0..6: the positive chain.
// SHIFT: %[[LO:.*]] = arith.cmpi uge, %[[S]], %c0
// SHIFT: %[[HI:.*]] = arith.cmpi ult, %[[S]], %c7
// SHIFT: %[[C:.*]] = arith.andi %[[LO]], %[[HI]] : i1
// SHIFT: %[[POS0:.*]]:32 = scf.if %[[C]]
// Weight plane 0 with the activation sign plane 7: the negative chain.
// SHIFT: %[[SIGN:.*]] = arith.cmpi eq, %[[S]], %c7
// SHIFT: %[[NEG0:.*]]:32 = scf.if %[[SIGN]]
// Weight plane 1 (the weight sign plane) with activation planes 0..6: the
// negative chain continues.
// SHIFT: scf.if
// SHIFT: nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[%[[NEG0]]#0, %[[NEG0]]#1, %[[NEG0]]#2, %[[NEG0]]#3]
// Both sign planes: positive again.
// SHIFT: arith.cmpi eq, %[[S]], %c8
// SHIFT: scf.if
// SHIFT: nvvm.mma.sync A[{{.*}}]  B[{{.*}}]  C[%[[POS0]]#0, %[[POS0]]#1, %[[POS0]]#2, %[[POS0]]#3]
// SHIFT: %[[D:.*]] = arith.subi
// SHIFT: arith.muli %[[D]], %{{.*}} : i32
// SHIFT: } {loop_annotation = #loop_annotation}

// ACT: plane_loop = "act"

// ERR: unknown plane-loop 'diagonal' (act, shift or auto)
