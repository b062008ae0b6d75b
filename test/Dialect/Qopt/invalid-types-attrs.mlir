// RUN: qopt-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{qopt.int width must be between 1 and 8, got 9}}
func.func private @width_too_large(tensor<4x!qopt.int<s9>>)

// -----

// expected-error @+1 {{qopt.int width must be between 1 and 8, got 0}}
func.func private @width_zero(tensor<4x!qopt.int<u0>>)

// -----

// expected-error @+1 {{expected 's<width>' or 'u<width>', got 'i4'}}
func.func private @bad_spelling(tensor<4x!qopt.int<i4>>)

// -----

// expected-error @+1 {{expected 's<width>' or 'u<width>', got 'sx'}}
func.func private @bad_width(tensor<4x!qopt.int<sx>>)

// -----

// expected-error @+1 {{expected per_tensor, per_channel or per_group, got 'per_row'}}
func.func private @bad_granularity() attributes {s = #qopt.scheme<per_row, symmetric>}

// -----

// expected-error @+1 {{scheme axis must be non-negative, got -1}}
func.func private @negative_axis() attributes {s = #qopt.scheme<per_channel(axis = -1), symmetric>}

// -----

// expected-error @+1 {{scheme axis must be non-negative, got -2}}
func.func private @negative_group_axis() attributes {s = #qopt.scheme<per_group(axis = -2, group_size = 4), symmetric>}

// -----

// expected-error @+1 {{group size must be positive, got 0}}
func.func private @zero_group() attributes {s = #qopt.scheme<per_group(axis = 1, group_size = 0), symmetric>}

// -----

// expected-error @+1 {{expected symmetric or asymmetric, got 'sym'}}
func.func private @bad_symmetry() attributes {s = #qopt.scheme<per_tensor, sym>}

// -----

// expected-error @+1 {{unknown rounding mode 'stochastic'}}
func.func private @bad_rounding() attributes {s = #qopt.scheme<per_tensor, symmetric, rounding = stochastic>}

// -----

// expected-error @+1 {{expected narrow_range or rounding, got 'narrow'}}
func.func private @bad_option() attributes {s = #qopt.scheme<per_tensor, symmetric, narrow>}

// -----

// Rounding comes last: nothing may follow it.
// expected-error @+1 {{expected '>'}}
func.func private @option_after_rounding() attributes {s = #qopt.scheme<per_tensor, symmetric, rounding = floor, narrow_range>}

// -----

// expected-error @+1 {{weight bits must be 1 to 8, got 9}}
func.func private @config_wbits() attributes {c = #qopt.quant_config<wbits = 9, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>}

// -----

// expected-error @+1 {{weight bits must be 1 to 8, got 0}}
func.func private @config_wbits_zero() attributes {c = #qopt.quant_config<wbits = 0, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>}

// -----

// expected-error @+1 {{activation bits must be 1 to 8 when quantized, 16 when not (act_quant = none), got 16}}
func.func private @config_abits_quantized() attributes {c = #qopt.quant_config<wbits = 4, abits = 16, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = static_per_tensor>}

// -----

// expected-error @+1 {{activation bits must be 1 to 8 when quantized, 16 when not (act_quant = none), got 8}}
func.func private @config_abits_none() attributes {c = #qopt.quant_config<wbits = 4, abits = 8, group_size = 0, weight_symmetric = true, act_symmetric = true, act_quant = none>}

// -----

// expected-error @+1 {{group size must be non-negative, got -4}}
func.func private @config_group() attributes {c = #qopt.quant_config<wbits = 4, abits = 8, group_size = -4, weight_symmetric = true, act_symmetric = true, act_quant = dynamic_per_token>}
