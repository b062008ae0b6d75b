//===- Codegen.cpp - LLVM IR, optimization and object emission ------------===//

#include "qopt/Target/CPU.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

/// void qopt_model_entry(void **args): calls the C interface of the graph
/// function with args[0] (results) and args[1..] (inputs).
static void addEntryPoint(llvm::Module &module, unsigned numInputs,
                          llvm::StringRef entryName) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  std::string cifaceName = std::string("_mlir_ciface_") + qopt::kGraphFunctionName;
  llvm::SmallVector<llvm::Type *> params(numInputs + 1, ptr);
  llvm::FunctionCallee graph = module.getOrInsertFunction(
      cifaceName,
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false));
  auto *entry = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, entryName, module);
  entry->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
  llvm::SmallVector<llvm::Value *> args;
  for (unsigned i = 0; i <= numInputs; ++i) {
    llvm::Value *slot = b.CreateConstGEP1_64(ptr, entry->getArg(0), i);
    args.push_back(b.CreateLoad(ptr, slot));
  }
  b.CreateCall(graph, args);
  b.CreateRetVoid();
}

static void addSignature(llvm::Module &module, const std::string &text) {
  llvm::Constant *data =
      llvm::ConstantDataArray::getString(module.getContext(), text, true);
  auto *global = new llvm::GlobalVariable(
      module, data->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, data, "qopt_model_signature_text");
  global->setVisibility(llvm::GlobalValue::HiddenVisibility);
}

static llvm::OptimizationLevel optimizationLevel(unsigned level) {
  switch (level) {
  case 0:
    return llvm::OptimizationLevel::O0;
  case 1:
    return llvm::OptimizationLevel::O1;
  case 2:
    return llvm::OptimizationLevel::O2;
  default:
    return llvm::OptimizationLevel::O3;
  }
}

LogicalResult qopt::emitObject(ModuleOp module, const ModelSignature &signature,
                               const CodegenOptions &options,
                               llvm::SmallVectorImpl<char> &object,
                               std::string *llvmIR, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  std::string triple = llvm::sys::getProcessTriple();
  llvm::Triple tt(triple);
  std::string targetError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(tt, targetError);
  if (!target) {
    error = "no LLVM target for " + triple + ": " + targetError;
    return failure();
  }
  std::string cpu = options.cpu, features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures subtarget;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      subtarget.AddFeature(feature.getKey(), feature.getValue());
    features = subtarget.getString();
  }
  llvm::TargetOptions targetOptions;
  auto codegenLevel = options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                      : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                      : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                                               : llvm::CodeGenOptLevel::Aggressive;
  // The medium code model puts large constants (the weights) in large data
  // sections addressed with 64-bit offsets, so a model's weights may exceed
  // the 2 GiB a small-model object can address, still embedded read-only.
  std::optional<llvm::CodeModel::Model> codeModel;
  if (tt.getArch() == llvm::Triple::x86_64)
    codeModel = llvm::CodeModel::Medium;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      tt, cpu, features, targetOptions, llvm::Reloc::PIC_, codeModel,
      codegenLevel));
  if (!tm) {
    error = "cannot create a target machine for CPU '" + cpu + "'";
    return failure();
  }
  if (options.cpu != "native" &&
      !tm->getMCSubtargetInfo()->isCPUStringValid(cpu)) {
    error = "unknown CPU '" + cpu + "' for " + triple;
    return failure();
  }

  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "qopt_model");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  llvmModule->setTargetTriple(tt);
  llvmModule->setDataLayout(tm->createDataLayout());
  // Only the entry point and the signature leave the object, and only to
  // the runtime linked beside it; the rest is internal, so a CPU and a GPU
  // variant of one model link into one library.
  for (llvm::Function &f : *llvmModule)
    if (!f.isDeclaration())
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &g : llvmModule->globals())
    if (!g.isDeclaration() && !g.hasAppendingLinkage())
      g.setLinkage(llvm::GlobalValue::InternalLinkage);
  addEntryPoint(*llvmModule, signature.inputs.size(), options.entryName);
  if (options.withSignature)
    addSignature(*llvmModule, signature.serialize());
  if (llvm::verifyModule(*llvmModule, &llvm::errs())) {
    error = "generated LLVM IR does not verify";
    return failure();
  }

  // LLVM's standard -O pipeline.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm =
      options.optLevel == 0
          ? pb.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
          : pb.buildPerModuleDefaultPipeline(optimizationLevel(options.optLevel));
  mpm.run(*llvmModule, mam);

  if (llvmIR) {
    llvm::raw_string_ostream os(*llvmIR);
    llvmModule->print(os, nullptr);
  }
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if (tm->addPassesToEmitFile(codegen, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  codegen.run(*llvmModule);
  return success();
}
