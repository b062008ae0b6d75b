// RUN: qopt-opt %s | FileCheck %s
// RUN: qopt-opt %s | qopt-opt | FileCheck %s
// RUN: qopt-opt %s --mlir-print-op-generic | qopt-opt | FileCheck %s

// Every width 1..8, signed and unsigned, survives a round trip.
// CHECK-LABEL: func.func private @widths
// CHECK-SAME: tensor<2x!qopt.int<s1>>, tensor<2x!qopt.int<u1>>
// CHECK-SAME: tensor<2x!qopt.int<s2>>, tensor<2x!qopt.int<u2>>
// CHECK-SAME: tensor<2x!qopt.int<s3>>, tensor<2x!qopt.int<u3>>
// CHECK-SAME: tensor<2x!qopt.int<s4>>, tensor<2x!qopt.int<u4>>
// CHECK-SAME: tensor<2x!qopt.int<s5>>, tensor<2x!qopt.int<u5>>
// CHECK-SAME: tensor<2x!qopt.int<s6>>, tensor<2x!qopt.int<u6>>
// CHECK-SAME: tensor<2x!qopt.int<s7>>, tensor<2x!qopt.int<u7>>
// CHECK-SAME: tensor<2x!qopt.int<s8>>, tensor<2x!qopt.int<u8>>
func.func private @widths(tensor<2x!qopt.int<s1>>, tensor<2x!qopt.int<u1>>,
                          tensor<2x!qopt.int<s2>>, tensor<2x!qopt.int<u2>>,
                          tensor<2x!qopt.int<s3>>, tensor<2x!qopt.int<u3>>,
                          tensor<2x!qopt.int<s4>>, tensor<2x!qopt.int<u4>>,
                          tensor<2x!qopt.int<s5>>, tensor<2x!qopt.int<u5>>,
                          tensor<2x!qopt.int<s6>>, tensor<2x!qopt.int<u6>>,
                          tensor<2x!qopt.int<s7>>, tensor<2x!qopt.int<u7>>,
                          tensor<2x!qopt.int<s8>>, tensor<2x!qopt.int<u8>>)

// The type is usable on its own and in dynamic tensors.
// CHECK-LABEL: func.func private @standalone
// CHECK-SAME: (!qopt.int<s4>, tensor<?x?x!qopt.int<u2>>)
func.func private @standalone(!qopt.int<s4>, tensor<?x?x!qopt.int<u2>>)
