// Every diagnostic of qopt-assign-quant-config.
// RUN: split-file %s %t
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 group-size=48" -verify-diagnostics
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 abits=9" 2>&1 | FileCheck %s --check-prefix=ABITS
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 weight-scheme=odd" 2>&1 | FileCheck %s --check-prefix=SCHEME
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 act-scheme=odd" 2>&1 | FileCheck %s --check-prefix=ASCHEME
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 act-quant=sometimes" 2>&1 | FileCheck %s --check-prefix=ACTQ
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/missing.json" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/broken.json" 2>&1 | FileCheck %s --check-prefix=BROKEN
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/shape.json" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/nomatch.json" 2>&1 | FileCheck %s --check-prefix=NOMATCHKEY
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/unknown.json" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/zero-bits.json" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/bad-scheme.json" 2>&1 | FileCheck %s --check-prefix=BADSCHEME
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/bad-group.json" 2>&1 | FileCheck %s --check-prefix=BADGROUP
// RUN: not qopt-opt %t/layer.mlir --qopt-assign-quant-config="config-file=%t/no-bits.json" 2>&1 | FileCheck %s --check-prefix=NOBITS
// RUN: qopt-opt %t/layer.mlir --qopt-assign-quant-config="wbits=4 keep-float=nothing* config-file=%t/unused.json" 2>&1 | FileCheck %s --check-prefix=UNUSED

// BITS: layer 'fc1': weight bits must be 1 to 8, got 9
// ABITS: layer 'fc1': activation bits must be 1 to 8, or 16 for weight-only, got 9
// SCHEME: weight scheme must be sym or asym, got 'odd'
// ASCHEME: activation scheme must be sym or asym, got 'odd'
// ACTQ: activation quantization must be dynamic or static, got 'sometimes'
// MISSING: layer config '{{.*}}missing.json': cannot read it: No such file or directory
// BROKEN: layer config '{{.*}}broken.json': invalid JSON:
// SHAPE: layer config '{{.*}}shape.json': expected an object {"layers": [...]}
// NOMATCHKEY: layer config '{{.*}}nomatch.json': entry 0 has no "match" pattern
// UNKNOWN: entry 0 ("fc1"): unknown key "bits" (known: match, wbits, abits, group_size, weight_scheme, act_scheme, act_quant, keep_float)
// ZERO: entry 0 ("fc1"): weight bits must be 1 to 8, got 0
// BADSCHEME: entry 0 ("*"): "act_scheme" must be "sym" or "asym"
// BADGROUP: entry 0 ("*"): "group_size" must be a non-negative integer
// NOBITS: layer 'fc1': no weight bits (give --wbits or "wbits" in its config entry)
// UNUSED-DAG: warning: layer config entry "attn*" matches no layer
// UNUSED-DAG: warning: keep-float pattern 'nothing*' matches no layer

//--- layer.mlir
func.func @main(%x: tensor<?x64xf32>) -> tensor<?x32xf32> {
  %c0 = arith.constant 0.0 : f32
  %c0i = arith.constant 0 : index
  %m = tensor.dim %x, %c0i : tensor<?x64xf32>
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %e = tensor.empty(%m) : tensor<?x32xf32>
  %i = linalg.fill ins(%c0 : f32) outs(%e : tensor<?x32xf32>) -> tensor<?x32xf32>
  // expected-error @+1 {{layer 'fc1': group size 48 does not divide K = 64}}
  %a = linalg.matmul {qopt.layer_name = "fc1"} ins(%x, %w : tensor<?x64xf32>, tensor<64x32xf32>) outs(%i : tensor<?x32xf32>) -> tensor<?x32xf32>
  return %a : tensor<?x32xf32>
}

//--- broken.json
{"layers": [
//--- shape.json
[1, 2]
//--- nomatch.json
{"layers": [{"wbits": 4}]}
//--- unknown.json
{"layers": [{"match": "fc1", "bits": 4}]}
//--- zero-bits.json
{"layers": [{"match": "fc1", "wbits": 0}]}
//--- bad-scheme.json
{"layers": [{"match": "*", "act_scheme": "maybe"}]}
//--- bad-group.json
{"layers": [{"match": "*", "group_size": -4}]}
//--- no-bits.json
{"layers": [{"match": "*", "abits": 8}]}
//--- unused.json
{"layers": [{"match": "attn*", "wbits": 2}]}
