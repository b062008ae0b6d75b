// A linear layer quantized W4A8: 4-bit per-group weights (groups of 32 along
// K), 8-bit activations quantized per token at run time, f32 bias.
func.func @linear(%x: tensor<?x64xf32>, %scale: tensor<?xf32>,
                  %w: tensor<16x64x!qopt.int<s4>>, %w_scale: tensor<16x2xf32>,
                  %bias: tensor<16xf32>) -> tensor<?x16xf32> {
  %a = qopt.quantize %x, %scale {scheme = #qopt.scheme<per_channel(axis = 0), symmetric>}
      : (tensor<?x64xf32>, tensor<?xf32>) -> tensor<?x64x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%scale), %w scale(%w_scale) bias(%bias)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>,
       weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 32), symmetric>}
      : (tensor<?x64x!qopt.int<s8>>, tensor<?xf32>, tensor<16x64x!qopt.int<s4>>,
         tensor<16x2xf32>, tensor<16xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
