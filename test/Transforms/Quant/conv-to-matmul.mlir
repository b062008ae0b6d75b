// qopt-conv-to-matmul: a quantized convolution becomes im2col + matmul +
// transpose back to NCHW; convolutions without a config stay.
// RUN: qopt-opt %s --split-input-file --qopt-conv-to-matmul | FileCheck %s
// RUN: qopt-opt %s --split-input-file --qopt-conv-to-matmul -verify-diagnostics -o /dev/null

// Stride 3, dilation 2: patch element (c, kh, kw) of output pixel (oh, ow) is
// x[n, c, 3 oh + 2 kh, 3 ow + 2 kw].
// CHECK-DAG: #[[IM2COL:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 3 + d4 * 2, d2 * 3 + d5 * 2)>
// CHECK-DAG: #[[ID6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>
// CHECK-DAG: #[[NHWC:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>
// CHECK-LABEL: func.func @strided_dilated
// The float filter is gone: only its [F, K] reshape remains.
// CHECK-NOT: tensor<3x2x2x2xf32>
// CHECK: %[[INIT:.*]] = linalg.fill
// CHECK: %[[PATCHES:.*]] = linalg.generic {indexing_maps = [#[[IM2COL]], #[[ID6]]], {{.*}}} ins(%arg0 : tensor<2x2x7x7xf32>) outs(%{{.*}} : tensor<2x2x2x2x2x2xf32>)
// CHECK: %[[ROWS:.*]] = tensor.collapse_shape %[[PATCHES]] {{\[\[}}0, 1, 2], [3, 4, 5]] : tensor<2x2x2x2x2x2xf32> into tensor<8x8xf32>
// The filter [F, C, KH, KW] reshaped to [F, C * KH * KW], row f = filter f.
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00], [8.000000e+00, {{.*}}]]> : tensor<3x8xf32>
// CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<3x8xf32>) {{.*}} permutation = [1, 0]
// CHECK: %[[MM:.*]] = linalg.matmul {qopt.layer_name = "conv", qopt.quant_config = #qopt.quant_config<wbits = 4{{.*}}>} ins(%[[ROWS]], %[[WT]] : tensor<8x8xf32>, tensor<8x3xf32>) outs(%{{.*}} : tensor<8x3xf32>)
// CHECK: %[[NHWCOUT:.*]] = tensor.expand_shape %[[MM]] {{\[\[}}0, 1, 2], [3]] output_shape [2, 2, 2, 3] : tensor<8x3xf32> into tensor<2x2x2x3xf32>
// The original accumulator is added back (the conv's init need not be 0).
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[NHWC]], {{.*}}]{{.*}} ins(%[[NHWCOUT]], %[[INIT]] : tensor<2x2x2x3xf32>, tensor<2x3x2x2xf32>)
// CHECK: arith.addf
// CHECK: return %[[Y]]
// CHECK-NOT: linalg.conv_2d_nchw_fchw
func.func @strided_dilated(%x: tensor<2x2x7x7xf32>) -> tensor<2x3x2x2xf32> {
  %c0 = arith.constant 0.0 : f32
  %w = arith.constant dense<[[[[0.0, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]], [[[8.0, 9.0], [10.0, 11.0]], [[12.0, 13.0], [14.0, 15.0]]], [[[16.0, 17.0], [18.0, 19.0]], [[20.0, 21.0], [22.0, 23.0]]]]> : tensor<3x2x2x2xf32>
  %e = tensor.empty() : tensor<2x3x2x2xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<2x3x2x2xf32>) -> tensor<2x3x2x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<2> : tensor<2xi64>, strides = dense<3> : tensor<2xi64>, qopt.layer_name = "conv", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<2x2x7x7xf32>, tensor<3x2x2x2xf32>) outs(%i : tensor<2x3x2x2xf32>) -> tensor<2x3x2x2xf32>
  return %y : tensor<2x3x2x2xf32>
}

// -----

// A convolution the user keeps in floating point (no config) is untouched.
// CHECK-LABEL: func.func @float_conv
// CHECK: linalg.conv_2d_nchw_fchw
// CHECK-NOT: linalg.matmul
func.func @float_conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x3x3x3xf32> {
  %c0 = arith.constant 0.0 : f32
  %w = arith.constant dense<0.5> : tensor<3x2x2x2xf32>
  %e = tensor.empty() : tensor<1x3x3x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>, qopt.layer_name = "conv"} ins(%x, %w : tensor<1x2x4x4xf32>, tensor<3x2x2x2xf32>) outs(%i : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// A filter that is not a constant, or dynamic spatial sizes: the layer stays
// float, with a warning, and loses its config.
// CHECK-LABEL: func.func @filter_argument
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, qopt.layer_name = "conv", strides = dense<1> : tensor<2xi64>}
func.func @filter_argument(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x2x2xf32>) -> tensor<1x3x3x3xf32> {
  %c0 = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x3x3xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  // expected-warning @below {{quantized convolution stays float: its filter is not a constant}}
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>, qopt.layer_name = "conv", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<1x2x4x4xf32>, tensor<3x2x2x2xf32>) outs(%i : tensor<1x3x3x3xf32>) -> tensor<1x3x3x3xf32>
  return %y : tensor<1x3x3x3xf32>
}

// -----

// CHECK-LABEL: func.func @dynamic_spatial
// CHECK: linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, qopt.layer_name = "conv", strides = dense<1> : tensor<2xi64>}
func.func @dynamic_spatial(%x: tensor<1x2x?x4xf32>, %i: tensor<1x3x?x3xf32>) -> tensor<1x3x?x3xf32> {
  %w = arith.constant dense<0.5> : tensor<3x2x2x2xf32>
  // expected-warning @below {{quantized convolution stays float: dynamic channel or spatial sizes}}
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>, qopt.layer_name = "conv", qopt.quant_config = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>} ins(%x, %w : tensor<1x2x?x4xf32>, tensor<3x2x2x2xf32>) outs(%i : tensor<1x3x?x3xf32>) -> tensor<1x3x?x3xf32>
  return %y : tensor<1x3x?x3xf32>
}
