// Weight-only W8 (u8, per channel with zero points), bf16 activations, bias
// and result, K = 512, N = 192, dynamic M: the bf16 hmma kernels, whose
// eighth weight plane is added after the offset.
func.func @main(%a: tensor<?x512xbf16>, %sw: tensor<192xf32>, %zw: tensor<192xi32>, %bias: tensor<192xbf16>) -> tensor<?x192xbf16> {
  %w8 = arith.constant dense<-77> : tensor<192x512xi8>
  %w = qopt.storage_cast %w8 : tensor<192x512xi8> to tensor<192x512x!qopt.int<u8>>
  %y = qopt.qmatmul %a, %w scale(%sw) zero_point(%zw) bias(%bias)
      {weight_scheme = #qopt.scheme<per_channel(axis = 0), asymmetric>}
      : (tensor<?x512xbf16>, tensor<192x512x!qopt.int<u8>>, tensor<192xf32>, tensor<192xi32>, tensor<192xbf16>) -> tensor<?x192xbf16>
  return %y : tensor<?x192xbf16>
}
