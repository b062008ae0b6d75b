// W4A8, constant s4 weights, N = 8, K = 512, dynamic M: the layer of the
// planner tests.
func.func @w4a8(%a: tensor<?x512x!qopt.int<s8>>, %sa: tensor<?xf32>, %sw: tensor<8xf32>) -> tensor<?x8xf32> {
  %w8 = arith.constant dense<3> : tensor<8x512xi8>
  %w = qopt.storage_cast %w8 : tensor<8x512xi8> to tensor<8x512x!qopt.int<s4>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<?xf32>, tensor<8x512x!qopt.int<s4>>, tensor<8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// W2A8 at N = 64, K = 1024, M = 300: nothing measured at this shape, so
// the nearest (4096 x 4096) decides: imma at M = 300 (between 1 and 1024,
// interpolated: bmma 9 + 299/1023 * 491 = 152.5, imma 10 + 299/1023 * 290
// = 94.8 us, scaled alike).
func.func @w2a8_static(%a: tensor<300x1024x!qopt.int<s8>>, %sa: tensor<300xf32>, %sw: tensor<64xf32>) -> tensor<300x64xf32> {
  %w8 = arith.constant dense<1> : tensor<64x1024xi8>
  %w = qopt.storage_cast %w8 : tensor<64x1024xi8> to tensor<64x1024x!qopt.int<s2>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<300x1024x!qopt.int<s8>>, tensor<300xf32>, tensor<64x1024x!qopt.int<s2>>, tensor<64xf32>) -> tensor<300x64xf32>
  return %y : tensor<300x64xf32>
}
