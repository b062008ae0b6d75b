func.func @w2a8_per_channel(%a: tensor<?x512x!qopt.int<s8>>, %sa: tensor<?xf32>, %w: tensor<64x512x!qopt.int<s2>>, %sw: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x64xf16> {
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) bias(%b)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<?xf32>, tensor<64x512x!qopt.int<s2>>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64xf16>
  return %y : tensor<?x64xf16>
}
