// Weight-only W4 (s4, per group of 128 with zero points), f16 activations and
// result, K = 512, N = 192, dynamic M: the hmma kernels, reading the
// activations as they are; the decode tile's warps take whole 32-K chunks.
func.func @main(%a: tensor<?x512xf16>, %sw: tensor<192x4xf32>, %zw: tensor<192x4xi32>) -> tensor<?x192xf16> {
  %w8 = arith.constant dense<-5> : tensor<192x512xi8>
  %w = qopt.storage_cast %w8 : tensor<192x512xi8> to tensor<192x512x!qopt.int<s4>>
  %y = qopt.qmatmul %a, %w scale(%sw) zero_point(%zw)
      {weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 128), asymmetric>}
      : (tensor<?x512xf16>, tensor<192x512x!qopt.int<s4>>, tensor<192x4xf32>, tensor<192x4xi32>) -> tensor<?x192xf16>
  return %y : tensor<?x192xf16>
}
