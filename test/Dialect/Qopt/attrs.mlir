// RUN: qopt-opt %s | FileCheck %s
// RUN: qopt-opt %s | qopt-opt | FileCheck %s

// Each granularity, both symmetries and each rounding mode round-trip; the
// default rounding (nearest_even) is not printed.

// CHECK-LABEL: func.func private @schemes
// CHECK-SAME: s0 = #qopt.scheme<per_tensor, symmetric>
// CHECK-SAME: s1 = #qopt.scheme<per_tensor, asymmetric>
// CHECK-SAME: s2 = #qopt.scheme<per_channel(axis = 0), symmetric>
// CHECK-SAME: s3 = #qopt.scheme<per_channel(axis = 3), asymmetric>
// CHECK-SAME: s4 = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>
// CHECK-SAME: s5 = #qopt.scheme<per_group(axis = 0, group_size = 1), asymmetric, rounding = nearest_away>
// CHECK-SAME: s6 = #qopt.scheme<per_tensor, symmetric, rounding = toward_zero>
// CHECK-SAME: s7 = #qopt.scheme<per_tensor, symmetric>
func.func private @schemes() attributes {
  s0 = #qopt.scheme<per_tensor, symmetric>,
  s1 = #qopt.scheme<per_tensor, asymmetric>,
  s2 = #qopt.scheme<per_channel(axis = 0), symmetric>,
  s3 = #qopt.scheme<per_channel(axis = 3), asymmetric>,
  s4 = #qopt.scheme<per_group(axis = 1, group_size = 128), symmetric>,
  s5 = #qopt.scheme<per_group(axis = 0, group_size = 1), asymmetric, rounding = nearest_away>,
  s6 = #qopt.scheme<per_tensor, symmetric, rounding = toward_zero>,
  s7 = #qopt.scheme<per_tensor, symmetric, rounding = nearest_even>
}

// Narrow range and every rounding mode.
// CHECK-LABEL: func.func private @narrow_and_rounding
// CHECK-SAME: n0 = #qopt.scheme<per_tensor, symmetric, narrow_range>
// CHECK-SAME: n1 = #qopt.scheme<per_channel(axis = 1), asymmetric, narrow_range, rounding = floor>
// CHECK-SAME: r0 = #qopt.scheme<per_tensor, symmetric, rounding = nearest_toward_zero>
// CHECK-SAME: r1 = #qopt.scheme<per_tensor, symmetric, rounding = away_from_zero>
// CHECK-SAME: r2 = #qopt.scheme<per_tensor, symmetric, rounding = ceil>
func.func private @narrow_and_rounding() attributes {
  n0 = #qopt.scheme<per_tensor, symmetric, narrow_range>,
  n1 = #qopt.scheme<per_channel(axis = 1), asymmetric, narrow_range, rounding = floor>,
  r0 = #qopt.scheme<per_tensor, symmetric, rounding = nearest_toward_zero>,
  r1 = #qopt.scheme<per_tensor, symmetric, rounding = away_from_zero>,
  r2 = #qopt.scheme<per_tensor, symmetric, rounding = ceil>
}

// A layer's quantization configuration: every activation mode, and
// weight-only (abits = 16) with per-group weights.
// CHECK-LABEL: func.func private @quant_configs
// CHECK-SAME: c0 = #qopt.quant_config<wbits = 4, abits = 8, group_size = 128, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>
// CHECK-SAME: c1 = #qopt.quant_config<wbits = 1, abits = 1, group_size = 0, weight_symmetric = false, act_symmetric = false, act_quant = static_per_tensor>
// CHECK-SAME: c2 = #qopt.quant_config<wbits = 8, abits = 16, group_size = 32, weight_symmetric = false, act_symmetric = true, act_quant = none>
func.func private @quant_configs() attributes {
  c0 = #qopt.quant_config<wbits = 4, abits = 8, group_size = 128, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>,
  c1 = #qopt.quant_config<wbits = 1, abits = 1, group_size = 0, weight_symmetric = false, act_symmetric = false, act_quant = static_per_tensor>,
  c2 = #qopt.quant_config<wbits = 8, abits = 16, group_size = 32, weight_symmetric = false, act_symmetric = true, act_quant = none>
}
