//===- qopt-translate.cpp - qopt translation driver -----------------------===//
//
// Translations into and out of MLIR, like mlir-translate:
//   qopt-translate --import-onnx model.onnx -o model.mlir
//
//===----------------------------------------------------------------------===//

#include "qopt/Import/ImportOnnx.h"

#include "mlir/InitAllTranslations.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mlir::registerAllTranslations();
  qopt::registerOnnxImportTranslation();
  return mlir::failed(
      mlir::mlirTranslateMain(argc, argv, "qopt translation driver"));
}
