func.func @w2a4_groups_zero_points(%a: tensor<4x512x!qopt.int<u4>>, %sa: tensor<f32>, %za: tensor<i32>, %sw: tensor<8x2xf32>, %zw: tensor<8x2xi32>) -> tensor<4x8xf32> {
  %w8 = arith.constant dense<1> : tensor<8x512xi8>
  %w = qopt.storage_cast %w8 : tensor<8x512xi8> to tensor<8x512x!qopt.int<u2>>
  %y = qopt.qmatmul %a scale(%sa) zero_point(%za), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_tensor, asymmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 256), asymmetric>}
      : (tensor<4x512x!qopt.int<u4>>, tensor<f32>, tensor<i32>, tensor<8x512x!qopt.int<u2>>, tensor<8x2xf32>, tensor<8x2xi32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
