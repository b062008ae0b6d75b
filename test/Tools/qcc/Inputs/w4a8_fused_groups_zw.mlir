// w4a8_fused_groups.mlir with unsigned weights and constant zero points
// (W4A8, u4 weights, dynamic per-token scales, two groups of 256): imma
// subtracts the zero points in its operands.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#id1 = affine_map<(d0) -> (d0)>
func.func @fused_dynamic_sym(%x: tensor<?x512xf32>, %sw: tensor<64x2xf32>) -> tensor<?x64xf32> {
  %c0 = arith.constant 0 : index
  %w8 = arith.constant dense<9> : tensor<64x512xi8>
  %w = qopt.storage_cast %w8 : tensor<64x512xi8> to tensor<64x512x!qopt.int<u4>>
  %zw = arith.constant dense<8> : tensor<64x2xi32>
  %m = tensor.dim %x, %c0 : tensor<?x512xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m) : tensor<?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %amax = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x512xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = math.absf %in : f32
    %mx = arith.maximumf %acc, %a : f32
    linalg.yield %mx : f32
  } -> tensor<?xf32>
  %e2 = tensor.empty(%m) : tensor<?xf32>
  %sa = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%amax : tensor<?xf32>) outs(%e2 : tensor<?xf32>) {
  ^bb0(%in: f32, %out: f32):
    %steps = arith.constant 127.0 : f32
    %s = arith.divf %in, %steps : f32
    %z = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %pos = arith.cmpf ogt, %s, %z : f32
    %r = arith.select %pos, %s, %one : f32
    linalg.yield %r : f32
  } -> tensor<?xf32>
  %a = qopt.quantize %x, %sa {scheme = #qopt.scheme<per_channel(axis = 0), symmetric>} : (tensor<?x512xf32>, tensor<?xf32>) -> tensor<?x512x!qopt.int<s8>>
  %y = qopt.qmatmul %a scale(%sa), %w scale(%sw) zero_point(%zw)
      {act_scheme = #qopt.scheme<per_channel(axis = 0), symmetric>, weight_scheme = #qopt.scheme<per_group(axis = 1, group_size = 256), asymmetric>}
      : (tensor<?x512x!qopt.int<s8>>, tensor<?xf32>, tensor<64x512x!qopt.int<u4>>, tensor<64x2xf32>, tensor<64x2xi32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
