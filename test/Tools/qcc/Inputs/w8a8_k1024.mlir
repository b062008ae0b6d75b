// W8A8 at K = 1024 (64-row imma stages of 16 KiB): the pipeline stages
// beyond 48 KiB of shared memory (--gpu-max-stages, --gpu-shared-memory-kib).
func.func @w8a8(%a: tensor<?x1024x!qopt.int<s8>>, %sa: tensor<f32>, %sw: tensor<64xf32>) -> tensor<?x64xf32> {
  %w8 = arith.constant dense<3> : tensor<64x1024xi8>
  %w = qopt.storage_cast %w8 : tensor<64x1024xi8> to tensor<64x1024x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw)
      {act_scheme = #qopt.scheme<per_tensor, symmetric>, weight_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x1024x!qopt.int<s8>>, tensor<f32>, tensor<64x1024x!qopt.int<s8>>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
