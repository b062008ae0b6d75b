// W8A8, zero points on both sides (row sums of both operands), K = 64: one
// k-step, dynamic M (m16n8k256, 64x64 blocks, 1 stage).
func.func @w8a8_zero_points(%a: tensor<?x64x!qopt.int<u8>>, %sa: tensor<?xf32>, %za: tensor<?xi32>, %w: tensor<128x64x!qopt.int<u8>>, %sw: tensor<128xf32>, %zw: tensor<128xi32>) -> tensor<?x128xf16> {
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x64x!qopt.int<u8>>, tensor<?xf32>, tensor<?xi32>, tensor<128x64x!qopt.int<u8>>, tensor<128xf32>, tensor<128xi32>) -> tensor<?x128xf16>
  return %y : tensor<?x128xf16>
}
